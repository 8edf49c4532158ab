"""Reading a whole policy-as-code document: YAML text in, a validated :class:`Governance` out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from immuta_spark.checkers import RegexChecker, SqlChecker
from immuta_spark.errors import PolicyFileError
from immuta_spark.model import Governance, Policy, PolicyType, Project, Settings, Source
from immuta_spark.objects import masking_problem
from immuta_spark.policyfile.common import At, Context, expect_list, expect_mapping
from immuta_spark.policyfile.identity import parse_identity_provider
from immuta_spark.policyfile.people import parse_purpose, parse_settings, parse_user
from immuta_spark.policyfile.policies import parse_policy
from immuta_spark.policyfile.projects import parse_project
from immuta_spark.policyfile.sources import parse_source
from immuta_spark.policyfile.strict import load_yaml, no_gc, read_file

__all__ = ["TOP_KEYS", "load_file", "load_text", "parse_document"]

TOP_KEYS = ("version", "settings", "users", "purposes", "sources", "policies", "projects", "identity_providers")


def load_file(
    path: str | Path, *, sql_checker: SqlChecker | None = None, regex_checker: RegexChecker | None = None
) -> Governance:
    """Read and validate a policy-as-code file."""
    file = str(path)
    text = read_file(path, file=file)
    return load_text(text, file=file, sql_checker=sql_checker, regex_checker=regex_checker)


def load_text(
    text: str,
    *,
    file: str | None = None,
    sql_checker: SqlChecker | None = None,
    regex_checker: RegexChecker | None = None,
) -> Governance:
    """Read and validate policy-as-code YAML text (strictly: see :mod:`.strict`)."""
    with no_gc():  # the values read stay alive until the model is built: see no_gc
        data: Any = None
        try:
            data = load_yaml(text, file=file)
            return parse_document(data, file=file, sql_checker=sql_checker, regex_checker=regex_checker)
        except PolicyFileError as exc:
            # Its traceback's frames hold every value read: let them go while the collector is
            # still off (else its next run rescans millions of them, for seconds).
            error = exc.with_traceback(None)
            data = None
    raise error


def parse_document(
    data: Any,
    *,
    file: str | None = None,
    sql_checker: SqlChecker | None = None,
    regex_checker: RegexChecker | None = None,
) -> Governance:
    """Validate a loaded YAML document and build the model.

    ``sql_checker`` checks policy SQL and ``regex_checker`` regex mask patterns the way the
    engine that runs them will (Spark's parser, Java's regex); without them, SQL is checked at
    query time and patterns with Python's ``re``.
    """
    with no_gc():
        return _parse_document(data, file, sql_checker, regex_checker)


def _parse_document(
    data: Any, file: str | None, sql_checker: SqlChecker | None, regex_checker: RegexChecker | None
) -> Governance:
    root = At("", file)
    doc = expect_mapping(data, root, allowed=TOP_KEYS, required=("version",))
    if doc["version"] != 1 or isinstance(doc["version"], bool):
        root.key("version").fail(f"unsupported version {doc['version']!r}; this release reads version 1")
    ctx = Context(sql_checker, regex_checker)
    settings = parse_settings(doc.get("settings", {}), root.key("settings"))
    users = _unique(doc, "users", root, parse_user)
    ctx.users = {u.name for u in users}
    purposes = _unique(doc, "purposes", root, parse_purpose)
    ctx.purposes = {p.name for p in purposes}
    sources = _unique(doc, "sources", root, lambda v, at: parse_source(v, at, ctx))
    ctx.sources = {s.name: s for s in sources}
    _check_unique_tables(sources, root.key("sources"))
    policies = _unique(doc, "policies", root, lambda v, at: parse_policy(v, at, ctx, None))
    _check_local_names(sources, policies, root.key("sources"))
    _check_object_sources(sources, policies, root)
    projects = _unique(doc, "projects", root, lambda v, at: parse_project(v, at, ctx))
    _check_project_purposes(settings, projects, root.key("projects"))
    providers = _unique(doc, "identity_providers", root, parse_identity_provider)
    return Governance(
        settings=settings,
        users=users,
        purposes=purposes,
        sources=sources,
        policies=policies,
        projects=projects,
        identity_providers=providers,
    )


def _unique(doc: Mapping[str, Any], key: str, root: At, parse: Callable[[Any, At], Any]) -> tuple[Any, ...]:
    at = root.key(key)
    value = doc.get(key)
    if value is None:
        return ()
    items = []
    seen: dict[str, int] = {}
    for i, item in enumerate(expect_list(value, at)):
        built = parse(item, at.index(i))
        if built.name in seen:
            at.index(i).key("name").fail(f"duplicate name {built.name!r} (also at {key}[{seen[built.name]}])")
        seen[built.name] = i
        items.append(built)
    return tuple(items)


def _check_project_purposes(settings: Settings, projects: tuple[Project, ...], at: At) -> None:
    """The governance settings a declared project must meet (seed: purpose required, more than one)."""
    rules = settings.governance
    for i, project in enumerate(projects):
        if rules.purpose_required and not project.purposes:
            at.index(i).key("purposes").fail(
                "the governance setting purpose_required asks every project for a purpose; name one"
            )
        if not rules.multiple_purposes and len(project.purposes) > 1:
            count = len(project.purposes)
            at.index(i).key("purposes").fail(
                f"the governance setting multiple_purposes is off: a project has one purpose, not {count}"
            )


def _check_local_names(sources: tuple[Source, ...], policies: tuple[Policy, ...], at: At) -> None:
    """A local policy may not take a global policy's name: audit and explain name policies alone."""
    globals_ = {p.name: i for i, p in enumerate(policies)}
    for i, source in enumerate(sources):
        for j, policy in enumerate(source.policies):
            if policy.name in globals_:
                at.index(i).key("policies").index(j).key("name").fail(
                    f"{policy.name!r} is also the name of global policies[{globals_[policy.name]}]; audit records "
                    "and explain name policies by name alone, so rename one of them"
                )


def _check_unique_tables(sources: tuple[Source, ...], at: At) -> None:
    seen: dict[str, int] = {}
    for i, source in enumerate(sources):
        if source.table_key in seen:
            at.index(i).key("table").fail(
                f"table {source.table!r} is already governed by sources[{seen[source.table_key]}]"
            )
        seen[source.table_key] = i


def _check_object_sources(sources: tuple[Source, ...], policies: tuple[Policy, ...], root: At) -> None:
    """Masking on object-backed sources (the seed's rule), and no two sources over one directory."""
    at = root.key("sources")
    for i, source in enumerate(sources):
        problem = masking_problem(source)
        if problem is not None:
            for j, policy in enumerate(source.policies):
                if policy.type is PolicyType.MASKING:
                    at.index(i).key("policies").index(j).fail(
                        f"masking policy {policy.name!r} cannot apply: {problem} (masking an object-backed source "
                        "needs data dictionary entries and csv, tsv or json files); remove the policy or fix the source"
                    )
            for j, policy in enumerate(policies):
                if policy.type is PolicyType.MASKING and _masks_known_column(policy, source):
                    root.key("policies").index(j).fail(
                        f"masking policy {policy.name!r} covers columns of {problem}; narrow it or fix the source"
                    )
        if source.object is None or not source.location:
            continue
        mine = source.location.rstrip("/")
        for k, other in enumerate(sources):
            theirs = (other.location or "").rstrip("/")
            if k != i and theirs and (mine == theirs or mine.startswith(theirs + "/") or theirs.startswith(mine + "/")):
                at.index(i).key("location").fail(
                    f"{source.location} overlaps the location of sources[{k}] ({other.name!r}, {other.location}); "
                    "an object-backed source needs a directory of its own"
                )


def _masks_known_column(policy: Policy, source: Source) -> bool:
    """Whether a global masking policy's scope and columns are known to reach ``source`` (else checked per query)."""
    scope = policy.scope
    if scope.names is not None and source.name not in scope.names:
        return False
    if scope.tagged is not None and not any(_tag_under(t, scope.tagged) for t in source.tags):
        return False
    target = policy.columns
    if target is None:
        return False
    if target.names is not None:
        known = {c.name.lower() for c in source.dictionary}
        return any(n.lower() in known for n in target.names)
    if target.tagged is not None:
        return any(_tag_under(t, target.tagged) for tags in source.column_tags.values() for t in tags)
    return False


def _tag_under(tag: str, parent: str) -> bool:
    return tag == parent or tag.startswith(parent + ".")
