"""Policy as code: the one place that reads (and writes) the YAML format of section 8.

Reading validates everything and raises :class:`PolicyFileError` naming the offending
element's path in the file, e.g. ``policies[3].mask.regex.pattern: invalid regular
expression``. Writing (:func:`dump_document`) produces the canonical form that ``export``
prints; reading it back gives an equal model, so applying an export changes nothing.

One module per part of the document: :mod:`.common` (the path-carrying helpers),
:mod:`.people` (settings, users, purposes), :mod:`.sources`, :mod:`.subscriptions`,
:mod:`.conditions`, :mod:`.policies`, :mod:`.actions` (masks, row filters, ...),
:mod:`.projects`, :mod:`.document` (the whole file), :mod:`.merge` (several files as one)
and :mod:`.dump` (writing).
"""

from __future__ import annotations

from immuta_spark.checkers import RegexChecker, SqlChecker
from immuta_spark.policyfile.actions import ROUND_UNITS
from immuta_spark.policyfile.document import load_file, load_text, parse_document
from immuta_spark.policyfile.dump import (
    dump_action,
    dump_document,
    dump_entitlement,
    dump_mask,
    dump_policy,
    dump_project,
    dump_purpose,
    dump_settings,
    dump_source,
    dump_subscription,
    dump_user,
    dump_yaml,
)
from immuta_spark.policyfile.merge import expand_paths, load_files
from immuta_spark.policyfile.people import parse_purpose
from immuta_spark.policyfile.projects import check_project
from immuta_spark.policyfile.sources import check_derived_source

__all__ = [
    "ROUND_UNITS",
    "RegexChecker",
    "SqlChecker",
    "check_derived_source",
    "check_project",
    "dump_action",
    "dump_document",
    "dump_entitlement",
    "dump_mask",
    "dump_policy",
    "dump_project",
    "dump_purpose",
    "dump_settings",
    "dump_source",
    "dump_subscription",
    "dump_user",
    "dump_yaml",
    "expand_paths",
    "load_file",
    "load_files",
    "load_text",
    "parse_document",
    "parse_purpose",
]
