"""Strict, bounded YAML reading for policy files: PyYAML's parser, our own composer.

PyYAML's own loaders accept things that silently change what a file means (a duplicate key:
the last one wins) and things that exhaust memory, time or the stack (aliases that expand
exponentially, recursive aliases, collections nested thousands deep). This module reads the
event stream of PyYAML's parser (libyaml's when it is installed) and builds plain Python
values itself, iteratively, so that it can refuse each of those with a
:class:`PolicyFileError` that names the place, by path and line:

- a key repeated in one mapping (``policies`` twice at the top is the same thing);
- more than :data:`MAX_DEPTH` nested collections;
- aliases that would add more than :data:`MAX_ALIAS_NODES` values once expanded (a
  "billion laughs" document), an alias to a collection that is still open (recursive), an
  undefined alias;
- merge keys (``<<``), complex (collection) keys, tags other than YAML's standard ones, more
  than one document in the file;
- a file over :data:`MAX_FILE_BYTES` bytes, and bytes that are not UTF-8 (with the line).

An alias's value is shared, not copied (as in PyYAML): the model's parsers never mutate it.
"""

from __future__ import annotations

import codecs
import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from yaml import events as ev
from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from immuta_spark.errors import PolicyFileError
from immuta_spark.policyfile.fastyaml import DECLINED, duplicate_key_error, fast_read, path_text

__all__ = [
    "MAX_ALIAS_NODES",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_FULL_YAML_BYTES",
    "decode",
    "json_document",
    "load_yaml",
    "no_gc",
    "read_file",
]

#: Largest policy file read, in bytes (10 MiB).
MAX_FILE_BYTES = 10 * 1024 * 1024
#: Largest file read by the full YAML reader (4 MiB): a larger one must be plain block YAML or
#: plain JSON, which the fast readers take in a fraction of the time, so that every file up to
#: :data:`MAX_FILE_BYTES` is accepted or refused within the bound (about 2 s on two cores).
MAX_FULL_YAML_BYTES = 4 * 1024 * 1024
#: Deepest nesting of mappings and lists (the deepest valid document needs about 30).
MAX_DEPTH = 64
#: How many values aliases may add to the document once expanded (the file's own values do not count).
MAX_ALIAS_NODES = 100_000

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_SEQ_TAGS = (None, "!", "tag:yaml.org,2002:seq")
_MAP_TAGS = (None, "!", "tag:yaml.org,2002:map")
_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
_CONVERT = "save it as UTF-8 (for example: iconv -f {enc} -t UTF-8 in.yaml > out.yaml) and apply again"

#: libyaml's parser when PyYAML was built with it (the same events, many times faster), else None.
_CParser: Any = getattr(yaml, "CBaseLoader", None)


class _PyParser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):
    """PyYAML's pure-Python parser (events only, no composer or constructor)."""

    def __init__(self, text: str) -> None:
        yaml.reader.Reader.__init__(self, text)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)


def _parser(text: str) -> Any:
    return _CParser(text) if _CParser is not None else _PyParser(text)


def _too_big(size: int, file: str | None) -> PolicyFileError:
    return PolicyFileError(
        "<document>",
        f"the file is {size:,} bytes; policy files may be at most {MAX_FILE_BYTES:,} bytes (10 MiB); "
        "split what you generate into fewer, smaller entries",
        file=file,
    )


def _too_much_yaml(text: str, size: int, line: int, file: str | None) -> PolicyFileError:
    limit = MAX_FULL_YAML_BYTES // 1024 // 1024
    shown = text.split("\n", line)[line - 1].strip()[:60] if line else ""
    what = (
        f"line {line} ({shown!r}) is outside plain block YAML (a flow collection, an anchor or alias, a tag, "
        "a multi-line or escaped value, a tab, ...)"
    )
    if text.lstrip().startswith("{"):
        what += (
            ", and the document is not plain JSON either (valid JSON with no duplicate key, no number with an "
            f"exponent, no NaN, nesting at most {MAX_DEPTH} deep)"
        )
    return PolicyFileError(
        f"line {line}",
        f"this file is {size / 1024 / 1024:.1f} MiB, and a file over {limit} MiB is read only as plain block YAML (as "
        f"`immuta-spark export` writes it) or as one plain JSON document, so that every file is read in bounded "
        f"time; {what}. Write it in that style (export does), or split it into several files of at most {limit} "
        "MiB (apply reads them together)",
        file=file,
    )


def read_file(path: str | Path, *, file: str | None = None) -> str:
    """The text of a policy file: at most :data:`MAX_FILE_BYTES` bytes of UTF-8."""
    where = file if file is not None else str(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise PolicyFileError("<document>", f"cannot read the file: {exc.strerror}", file=where) from exc
    if len(data) > MAX_FILE_BYTES:
        try:
            size = Path(path).stat().st_size
        except OSError:
            size = len(data)
        raise _too_big(max(size, len(data)), where)
    return decode(data, file=where)


def decode(data: bytes, *, file: str | None = None) -> str:
    """``data`` as UTF-8 text (a UTF-8 byte-order mark is dropped); anything else is refused with its line."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            raise PolicyFileError(
                "line 1",
                f"the file is {encoding} (it starts with a {encoding} byte-order mark); policy files are UTF-8: "
                + _CONVERT.format(enc=encoding),
                file=file,
            )
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise PolicyFileError(
            f"line {line}",
            "the file contains NUL bytes (is it UTF-16 or UTF-32 without a byte-order mark?); policy files are "
            "UTF-8: " + _CONVERT.format(enc="UTF-16"),
            file=file,
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        hint = "LATIN1"
        raise PolicyFileError(
            f"line {line}, column {column}",
            f"not UTF-8: byte 0x{data[exc.start]:02x} {exc.reason}; policy files are UTF-8: "
            + _CONVERT.format(enc=hint),
            file=file,
        ) from None


def load_yaml(text: str, *, file: str | None = None) -> Any:
    """The single YAML document in ``text`` as plain values (None when empty), read strictly."""
    # Encoded once, and only when the text could pass a limit (a character is at most 4 bytes).
    size = len(text.encode("utf-8", "surrogatepass")) if len(text) > MAX_FULL_YAML_BYTES // 4 else None
    if size is not None and size > MAX_FILE_BYTES:
        raise _too_big(size, file)
    with no_gc():
        try:
            value, line = fast_read(text, file)  # plain block YAML, read many times faster; else declined
            if value is DECLINED:
                value = json_document(text)  # a JSON document (YAML's subset), read by the json module
            if value is not DECLINED:
                return value
            # A big file outside the fast readers' part is read only as far as the full reader's
            # budget: what it refuses early (nesting, aliases, tags) it still words itself.
            big = size is not None and size > MAX_FULL_YAML_BYTES
            try:
                return _Composer(text, file, budget=MAX_FULL_YAML_BYTES if big else None).document()
            except _OverBudget:
                assert size is not None  # only a big file has a budget
                raise _too_much_yaml(text, size, line, file) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "<document>"
            problem = getattr(exc, "problem", None) or str(exc)
            raise PolicyFileError(where, f"not valid YAML: {problem}", file=file) from None


class _NotPlainJson(Exception):
    """The document is not JSON that YAML reads alike: leave it to the YAML reader."""


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _NotPlainJson  # a duplicate key: the YAML reader names both places
    return out


def _json_float(literal: str) -> float:
    if "e" in literal or "E" in literal:
        raise _NotPlainJson  # YAML 1.1 reads 1e5 as a string, not a number
    return float(literal)


def _json_constant(literal: str) -> Any:
    raise _NotPlainJson  # NaN, Infinity: not JSON, and YAML reads them otherwise


def json_document(text: str) -> Any:
    """A document written as JSON, read by the ``json`` module (tens of times faster than YAML's reader).

    Only where YAML would read exactly the same values (no duplicate key, no exponent, nesting
    within :data:`MAX_DEPTH`); anything else is :data:`DECLINED` to the YAML reader, which refuses
    or reads it with the line and column.
    """
    if not text.lstrip().startswith("{"):
        return DECLINED
    try:
        value = json.loads(text, object_pairs_hook=_json_pairs, parse_float=_json_float, parse_constant=_json_constant)
    except (_NotPlainJson, ValueError, RecursionError):
        return DECLINED
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > MAX_DEPTH:
                    return DECLINED
                stack.append((child, depth + 1))
    return value


@contextmanager
def no_gc() -> Iterator[None]:
    """The cyclic garbage collector off while a policy file is read and validated, as it was after.

    Reading builds millions of small containers that live until the model is built; each
    collection would rescan all of them (for a 10 MB file that doubles the time). Nothing
    built here is cyclic, so nothing is left for the collector to find afterwards.
    """
    collect = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collect:
            gc.enable()


class _Frame:
    """An open mapping or list while its values are read."""

    __slots__ = ("anchor", "key", "key_mark", "keys", "mapping", "size", "value")

    def __init__(self, value: Any, anchor: str | None) -> None:
        self.value = value
        self.mapping = isinstance(value, dict)
        self.anchor = anchor
        self.size = 1
        self.keys: dict[Any, Any] = {}
        self.key: Any = _NO_KEY
        self.key_mark: Any = None


_NO_KEY = object()


class _OverBudget(Exception):
    """The full reader went past its budget (never leaves this module)."""


def _line(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


class _Composer:
    """Turns the parser's events into values, one event at a time, enforcing the limits."""

    def __init__(self, text: str, file: str | None, *, budget: int | None = None) -> None:
        self.parser = _parser(text)
        #: Read no further than this many characters into the text (None: all of it).
        self.budget = budget
        self.file = file
        self.resolver = Resolver()
        self.constructor = SafeConstructor()
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.open_anchors: set[str] = set()
        self.stack: list[_Frame] = []
        self.expanded = 0

    def fail(self, mark: Any, message: str) -> PolicyFileError:
        path = self.path()
        where = f"{path} ({_line(mark)})" if path else _line(mark)
        return PolicyFileError(where, message, file=self.file)

    def path(self) -> str:
        return path_text(self.path_parts())

    def path_parts(self) -> list[str]:
        parts: list[str] = []
        for frame in self.stack:
            if frame.mapping:
                if frame.key is not _NO_KEY:
                    parts.append(f".{frame.key}" if parts else str(frame.key))
            else:
                parts.append(f"[{len(frame.value)}]")
        return parts

    def document(self) -> Any:
        parser = self.parser
        parser.get_event()  # StreamStart
        if parser.check_event(ev.StreamEndEvent):
            return None
        parser.get_event()  # DocumentStart
        value = self.node()
        parser.get_event()  # DocumentEnd
        if not parser.check_event(ev.StreamEndEvent):
            event = parser.get_event()
            raise self.fail(event.start_mark, "a second YAML document ('---'); a policy file holds exactly one")
        return value

    def node(self) -> Any:
        """Read one whole node (with everything nested in it) without recursion."""
        parser = self.parser
        budget = self.budget
        count = 0
        while True:
            event = parser.get_event()
            count += 1
            if budget is not None and not count & 0x3FFF and event.start_mark.index > budget:
                raise _OverBudget
            if isinstance(event, ev.ScalarEvent):
                value = self.scalar(event)
                if event.anchor is not None:
                    self.anchors[event.anchor] = (value, 1)
                done = self.add(value, 1, event)
            elif isinstance(event, ev.AliasEvent):
                done = self.add(*self.alias(event), event)
            elif isinstance(event, ev.SequenceStartEvent | ev.MappingStartEvent):
                self.start(event)
                continue
            else:  # SequenceEnd / MappingEnd
                frame = self.stack.pop()
                if frame.anchor is not None:
                    self.open_anchors.discard(frame.anchor)
                    self.anchors[frame.anchor] = (frame.value, frame.size)
                done = self.add(frame.value, frame.size, event)
            if done is not _NO_KEY:
                return done

    def start(self, event: Any) -> None:
        mapping = isinstance(event, ev.MappingStartEvent)
        if self.stack and self.stack[-1].mapping and self.stack[-1].key is _NO_KEY:
            raise self.fail(event.start_mark, "a mapping key must be a plain value, not a list or mapping")
        if event.tag not in (_MAP_TAGS if mapping else _SEQ_TAGS):
            raise self.fail(event.start_mark, f"the tag {event.tag} is not supported in policy files; remove it")
        if len(self.stack) >= MAX_DEPTH:
            raise self.fail(
                event.start_mark,
                f"lists and mappings are nested more than {MAX_DEPTH} deep; flatten the document",
            )
        if event.anchor is not None:
            self.open_anchors.add(event.anchor)
        self.stack.append(_Frame({} if mapping else [], event.anchor))

    def add(self, value: Any, size: int, event: Any) -> Any:
        """Put a finished value into the open collection; the value itself when it is the document."""
        if not self.stack:
            return value
        frame = self.stack[-1]
        frame.size += size
        if not frame.mapping:
            frame.value.append(value)
        elif frame.key is _NO_KEY:
            self.key(frame, value, event)
        else:
            frame.value[frame.key] = value
            frame.key = _NO_KEY
        return _NO_KEY

    def key(self, frame: _Frame, key: Any, event: Any) -> None:
        mark = event.start_mark
        first = frame.keys.get(key)
        if first is not None:
            frame.key = key
            parts = self.path_parts()
            raise duplicate_key_error(
                parts, len(self.stack) == 1, key, (mark.line, mark.column), (first.line, first.column), self.file
            )
        frame.keys[key] = mark
        frame.key = key

    def scalar(self, event: Any) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.resolver.resolve(ScalarNode, event.value, event.implicit)
        if tag == _STR:
            return event.value
        if tag == _MERGE and self.stack and self.stack[-1].mapping and self.stack[-1].key is _NO_KEY:
            raise self.fail(event.start_mark, "merge keys ('<<') are not supported; write the keys out")
        construct = self.constructor.yaml_constructors.get(tag)
        if construct is None or tag == _MERGE:
            raise self.fail(event.start_mark, f"the tag {tag} is not supported in policy files; remove it")
        node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            return construct(self.constructor, node)
        except (ValueError, OverflowError) as exc:
            raise self.fail(event.start_mark, f"cannot read the value {event.value[:40]!r}: {exc}") from None

    def alias(self, event: Any) -> tuple[Any, int]:
        name = event.anchor
        if name in self.open_anchors:
            raise self.fail(event.start_mark, f"the alias *{name} refers to a collection that contains it (recursive)")
        if name not in self.anchors:
            raise self.fail(event.start_mark, f"the alias *{name} names no anchor (&{name}) defined before it")
        value, size = self.anchors[name]
        self.expanded += size
        if self.expanded > MAX_ALIAS_NODES:
            raise self.fail(
                event.start_mark,
                f"aliases expand to more than {MAX_ALIAS_NODES:,} values (an alias bomb?); write the values out",
            )
        return value, size
