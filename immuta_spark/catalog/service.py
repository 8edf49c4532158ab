"""The governance catalog: policy as code in, snapshots and decisions out, every change audited."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from immuta_spark import checkers, policyfile
from immuta_spark.catalog.base import default_catalog_url
from immuta_spark.catalog.coexist import Pruning, RuntimeState, plan_coexistence
from immuta_spark.catalog.context import ProjectContext
from immuta_spark.catalog.derived import DerivedSources
from immuta_spark.catalog.dp import PrivacyLedger
from immuta_spark.catalog.dp_checks import check_dp_at_apply
from immuta_spark.catalog.entities import entity_rows
from immuta_spark.catalog.fingerprints import Fingerprints, check_cardinality_at_apply
from immuta_spark.catalog.grants import prune_grants
from immuta_spark.catalog.idp import IdentitySync
from immuta_spark.catalog.objects import ObjectSources
from immuta_spark.catalog.records import ApplyResult
from immuta_spark.catalog.subscriptions import SubscriptionWorkflow
from immuta_spark.catalog.unmask import UnmaskRequests
from immuta_spark.catalog.validation import ProjectValidation
from immuta_spark.catalog.workspaces import Workspaces
from immuta_spark.catalog.writes import GovernedWrites
from immuta_spark.engine import Plan, Snapshot, Subject, compile_plan, make_subject
from immuta_spark.errors import PolicyFileError, RuntimeStateConflict, SourceNotFound
from immuta_spark.model import Governance, Permission, PolicyType
from immuta_spark.store import Store

__all__ = ["SOURCE_SECRETS", "GovernanceCatalog", "load_policy_file"]

#: Secrets each source and project gets when it is first applied.
SOURCE_SECRETS = ("hash_salt", "token_key", "fpe_key")


#: One policy file or directory, or several (merged: see :mod:`immuta_spark.policyfile.merge`).
PolicyPaths = str | Path | Sequence[str | Path]


def _paths(path: PolicyPaths) -> list[str | Path]:
    return [path] if isinstance(path, str | Path) else list(path)


def load_policy_file(
    path: PolicyPaths,
    *,
    sql_checker: checkers.SqlChecker | str | None = "default",
    regex_checker: checkers.RegexChecker | str | None = "default",
) -> Governance:
    """Validate policy-as-code files (with the registered checkers by default) without a catalog.

    ``path`` is a file, a directory of them, or a list of either: they are merged into one
    document (a name defined twice is an error naming both places).
    """
    checker = checkers.default_sql_checker() if sql_checker == "default" else sql_checker
    regex = checkers.default_regex_checker() if regex_checker == "default" else regex_checker
    return policyfile.load_files(_paths(path), sql_checker=checker, regex_checker=regex)  # type: ignore[arg-type]


def describe_paths(path: PolicyPaths) -> str:
    """The files of an apply, as its audit record and messages name them."""
    return ", ".join(str(p) for p in _paths(path))


class GovernanceCatalog(
    SubscriptionWorkflow,
    GovernedWrites,
    DerivedSources,
    ObjectSources,
    Workspaces,
    ProjectContext,
    ProjectValidation,
    UnmaskRequests,
    PrivacyLedger,
    Fingerprints,
    IdentitySync,
):
    """The governance catalog, acting for one authenticated identity.

    ``identity`` is who is authenticated (by default the Hadoop rules of section 2);
    ``act_as`` makes every operation act as another user, which needs ``IMPERSONATE``.
    """

    def __init__(self, store: Store, *, identity: str | None = None, act_as: str | None = None) -> None:
        super().__init__(store, identity=identity, act_as=act_as)
        if store.revision_hook is None:
            # Every change a snapshot sees re-checks native-access grants before it commits.
            store.revision_hook = functools.partial(prune_grants, store)

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        identity: str | None = None,
        act_as: str | None = None,
        create: bool = False,
    ) -> GovernanceCatalog:
        """Open the catalog at ``url`` (default: :func:`default_catalog_url`), migrating it forward.

        Opening never creates: a missing SQLite file or a database without the catalog's tables
        is a :class:`CatalogError` naming the URL. ``create=True`` creates an empty catalog
        there if there is none (``immuta-spark init``, and the CLI's ``apply``); an existing one
        is opened as it is (``catalog.store.created`` tells which happened).
        """
        return cls(Store(url or default_catalog_url(), create=create), identity=identity, act_as=act_as)

    # --- policy as code -----------------------------------------------------------------

    def apply(
        self,
        path: PolicyPaths,
        *,
        dry_run: bool = False,
        prune_runtime: bool = False,
        sql_checker: checkers.SqlChecker | str | None = "default",
        regex_checker: checkers.RegexChecker | str | None = "default",
    ) -> ApplyResult:
        """Make the catalog match a policy-as-code file (or several, merged), in one transaction.

        By default policy SQL and regex patterns are checked by the checkers an engine layer
        registered (:mod:`immuta_spark.checkers`): with the ``spark`` extra installed, Spark's
        parser and Java's regex, what runs them.

        The file is the whole state of what files declare: entities it does not name are removed.
        Runtime state (projects and purposes created through the API, members added at run
        time, acknowledgements, current projects, subscriptions, secrets, audit) is never
        touched, and an apply that would collide with it or orphan it raises
        :class:`RuntimeStateConflict` naming it, unless ``prune_runtime`` asks to delete the
        orphans (audited; see :mod:`immuta_spark.catalog.coexist`). An invalid file raises
        :class:`PolicyFileError` and changes nothing. The first apply on an empty catalog
        bootstraps it; after that the actor needs ``GOVERNANCE``.
        """
        governance = load_policy_file(path, sql_checker=sql_checker, regex_checker=regex_checker)
        file = describe_paths(path)
        return self.apply_governance(governance, file=file, dry_run=dry_run, prune_runtime=prune_runtime)

    def apply_governance(
        self, governance: Governance, *, file: str = "", dry_run: bool = False, prune_runtime: bool = False
    ) -> ApplyResult:
        """Apply an already validated model (see :meth:`apply`)."""
        _check_purpose_restrictions(governance, file)
        desired = entity_rows(governance)
        with self.store.read() as conn:
            self.store.revision(conn)  # checks the catalog's identity, as a snapshot read does
            # Empty: nothing stored but (default) settings. Anything more needs a governor.
            bootstrap = not self.store.has_entities(conn, besides="settings")
            # Who may apply is decided by the actor's own user entry alone: assembling the whole
            # catalog (every user, source and policy) only to read it took seconds at 100k users.
            people = None if bootstrap else self._people(conn, {self.actor, self.identity})
        if people is not None:
            self._require(Permission.GOVERNANCE, "apply policy as code", people)
        with self.store.write() as conn:
            existing = self.store.entities(conn)
            runtime_keys = self.store.runtime_keys(conn)
            pruning = self._coexist(conn, governance, {k: existing[k][1] for k in runtime_keys}, prune_runtime)
            self._keep_workspace_root(conn, governance, file)
            fingerprints = self.store.fingerprints(conn)
            check_cardinality_at_apply(governance, fingerprints, file)
            check_dp_at_apply(governance, fingerprints, file)
            existing = {k: v for k, v in existing.items() if k not in runtime_keys}
            added = [k for k in desired if k not in existing]
            removed = [k for k in existing if k not in desired]
            changed = [k for k in desired if k in existing and existing[k][1] != desired[k][1]]
            moved = [k for k in desired if k in existing and existing[k][0] != desired[k][0]]
            result = ApplyResult(
                added=tuple(f"{k}:{n}" for k, n in added),
                changed=tuple(f"{k}:{n}" for k, n in changed),
                removed=tuple(f"{k}:{n}" for k, n in removed),
                revision=self.store.revision(conn),
                dry_run=dry_run,
            )
            if dry_run or (result.is_noop and not moved and not pruning.orphans):
                return result
            self._prune(conn, pruning)
            # In bulk (one executemany each): a statement per row made apply grow with the rows
            # changed several times over what the database itself spends on them.
            self.store.delete_entities(conn, removed)
            self.store.insert_entities(conn, [(k, n, *desired[(k, n)]) for k, n in added])
            self.store.update_entities(conn, [(k, n, *desired[(k, n)]) for k, n in dict.fromkeys([*changed, *moved])])
            wanted = [("source", s.name, purpose) for s in governance.sources for purpose in SOURCE_SECRETS]
            wanted += [("project", p.name, "hash_salt") for p in governance.projects]
            self.store.ensure_secrets(conn, wanted)
            revision = self.store.bump(conn)
            self.store.append_audit(
                conn,
                user=self.actor,
                impersonator=self._impersonator(),
                action="apply",
                outcome="ok",
                detail={
                    "file": file,
                    "bootstrap": bootstrap,
                    "added": list(result.added),
                    "changed": list(result.changed),
                    "removed": list(result.removed),
                    **({"pruned_runtime_state": pruning.orphans} if pruning.orphans else {}),
                },
            )
        return ApplyResult(added=result.added, changed=result.changed, removed=result.removed, revision=revision)

    def _keep_workspace_root(self, conn: Any, governance: Governance, file: str) -> None:
        """Refuse a new ``settings.workspace_root`` while any workspace lives under another root."""
        wanted = governance.settings.workspace_root.rstrip("/") or "/"
        roots = sorted({r["root"] for r in self.store.workspace_rows(conn)} - {wanted})
        if roots:
            where = f"{file}: " if file else ""
            raise RuntimeStateConflict(
                f"{where}settings.workspace_root: {wanted} differs from the root of existing workspaces "
                f"({', '.join(roots)}); the root can change only while no workspace exists: keep "
                f"{roots[0]}, or disable and purge every workspace (hdfs-workspace purge --all) first"
            )

    def _coexist(self, conn: Any, governance: Governance, runtime: dict[tuple[str, str], str], prune: bool) -> Pruning:
        """What of the runtime state this apply collides with or orphans; refused unless it may prune."""
        state = RuntimeState(
            entities=runtime,
            members=[(m["project"], m["user"]) for m in self.store.project_members(conn)],
            acknowledgements=[(a["project"], a["user"]) for a in self.store.acknowledgements(conn)],
            acting=self.store.current_projects(conn),
        )
        pruning = plan_coexistence(governance, state)
        refused = pruning.collisions + pruning.blocking + ([] if prune else pruning.orphans)
        if refused:
            advice = (
                "apply again with --prune-runtime (prune_runtime=True) to delete the orphaned runtime state, "
                "audited; or change the file"
                if pruning.orphans and not (pruning.collisions or pruning.blocking)
                else "change the file or the runtime state named"
            )
            raise RuntimeStateConflict(
                "this apply would collide with or silently delete state created at run time, so nothing was "
                f"changed: {'; '.join(refused)}. {advice[0].upper()}{advice[1:]}"
            )
        return pruning

    def _prune(self, conn: Any, pruning: Pruning) -> None:
        """Delete the orphaned runtime state an apply with ``prune_runtime`` was allowed to delete."""
        for name, body in pruning.rewrite.items():
            self.store.put_runtime_entity(conn, "project", name, body, new=False)
        for project in pruning.drop_projects:
            self.store.delete_project_members(conn, project)
            self.store.delete_acknowledgements(conn, project)
            self.store.clear_current_project(conn, project)
        for project, user in pruning.drop_users:
            self.store.delete_project_members(conn, project, [user])
            self.store.delete_acknowledgements(conn, project, [user])
            self.store.clear_current_project(conn, project, [user])

    def export(self) -> str:
        """What policy files declare, as policy-as-code YAML (no secrets, no runtime state).

        Projects, purposes and derived sources created at run time are not in it (``project
        list`` and ``source derived`` show them): re-applying the export keeps them, where
        exporting them would make them collide.
        """
        snapshot = self.snapshot()
        doc = policyfile.dump_document(snapshot.governance)
        # The file's users only: facts from identity providers are runtime state (``idp show`` prints them).
        doc["users"] = [policyfile.dump_user(u) for u in snapshot.declared_users]
        for kind, section in (("project", "projects"), ("purpose", "purposes"), ("source", "sources")):
            doc[section] = [e for e in doc[section] if (kind, e["name"]) not in snapshot.runtime]
        return policyfile.dump_yaml(doc)

    # --- decisions ----------------------------------------------------------------------

    def plan(self, subject: Subject, source: str, schema: Sequence[tuple[str, str]] | None = None) -> Plan:
        """The enforcement plan for ``subject`` on ``source`` (no audit: the caller audits)."""
        return compile_plan(self.snapshot(), subject, source, schema)

    def explain(
        self,
        source: str,
        *,
        user: str | None = None,
        project: str | None = None,
        schema: Sequence[tuple[str, str]] | None = None,
    ) -> Plan:
        """What ``user`` would see of ``source``; explaining someone else needs ``GOVERNANCE``."""
        target = user or self.actor
        snapshot = self.snapshot()
        me = self._actor_subject()  # acting as someone else needs IMPERSONATE
        if target != self.actor:
            self._require(Permission.GOVERNANCE, f"explain what '{target}' sees", snapshot)
        subject = make_subject(snapshot, target, project=project)
        plan = compile_plan(snapshot, subject, source, schema)
        if not plan.visible and not me.has(Permission.GOVERNANCE):
            # An invisible source looks exactly like a missing one (section 4).
            raise SourceNotFound(source)
        self.record(
            action="explain",
            outcome="ok",
            project=project,
            purposes=sorted(subject.purposes),
            sources=[plan.source],
            policies=plan.policies_applied,
            detail={"explained_user": target},
        )
        return plan


def _check_purpose_restrictions(governance: Governance, file: str) -> None:
    """With ``all_sources_require_purpose`` on, every source needs a purpose policy that applies to it."""
    if not governance.settings.governance.all_sources_require_purpose:
        return
    snapshot = Snapshot(governance)
    bare = [s.name for s in governance.sources if not snapshot.source_policies(s).of(PolicyType.PURPOSE)]
    if bare:
        shown = ", ".join(bare[:10]) + (f" and {len(bare) - 10} more" if len(bare) > 10 else "")
        raise PolicyFileError(
            "settings.governance.all_sources_require_purpose",
            f"every data source must have a purpose restriction, and these have none: {shown}; add a purpose "
            "policy (local or global) that applies to each, or turn the setting off",
            file=file or None,
        )
