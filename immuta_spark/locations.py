"""Storage locations of data sources: normalised, and which sources' storage overlaps a location.

A source is backed by a location (an HDFS directory: ``Source.location``, or its table's
LOCATION in the metastore). Two sources never share storage, nor does one live beneath the
other's (the seed: "an HDFS and Hive data source cannot be backed by the same location in
HDFS"): the same files would answer to two sets of policies. Pure, no file system: locations are
compared as normalised URIs.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = ["location_overlaps", "normalise_location", "overlapping"]


def normalise_location(location: str, *, default_fs: str | None = None) -> str:
    """``scheme://authority/path`` with the scheme and authority lower-cased, ``.``/``..``/``//`` resolved.

    A location without a scheme is taken on ``default_fs`` (``hdfs://nn:8020``) when given.
    """
    text = location.strip()
    parts = urlsplit(text)
    if not parts.scheme and default_fs:
        base = urlsplit(default_fs)
        scheme, authority, path = base.scheme, base.netloc, parts.path
    else:
        scheme, authority, path = parts.scheme, parts.netloc, parts.path
    path = posixpath.normpath("/" + path.lstrip("/")) if path else "/"
    path = "/" + path.lstrip("/")  # normpath keeps a leading '//'
    return f"{scheme.lower()}://{authority.lower()}{path}" if scheme else path


def location_overlaps(a: str, b: str) -> bool:
    """Whether two normalised locations are the same, or one lies beneath the other."""
    a, b = a.rstrip("/") or "/", b.rstrip("/") or "/"
    return a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/")


def overlapping(
    location: str, sources: Iterable[tuple[str, str]], *, default_fs: str | None = None
) -> list[tuple[str, str]]:
    """The ``(source, location)`` pairs among ``sources`` whose storage overlaps ``location``, by name."""
    target = normalise_location(location, default_fs=default_fs)
    found = [
        (name, loc)
        for name, loc in sources
        if loc and location_overlaps(target, normalise_location(loc, default_fs=default_fs))
    ]
    return sorted(found)
