"""Unmask requests (seed: masking "With Reversibility"): one masked value, shown in the clear to one requester.

A user who sees a column masked by a ``reversible`` or ``format_preserving`` policy asks for
one value behind its token, with a reason. Only a user the masking policy exempts (its
``except``, or an OTHERWISE rule that leaves them unmasked: they see the column in the clear)
may approve or deny. Once approved, the requester sees that one value unmasked, in
:meth:`UnmaskRequests.unmask` and in every query's results (the engine puts the approved tokens
into the requester's plan); pending and denied requests reveal nothing. Requests are runtime
state (``apply`` never touches them); each step is audited (``unmask.request``,
``unmask.approve``, ``unmask.deny``, ``unmask.reveal``). Decisions are made on the users'
plain identities, outside any project.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from immuta_spark.catalog.base import CatalogBase
from immuta_spark.engine import Snapshot, Subject, compile_plan
from immuta_spark.engine.masking import REVERSIBLE
from immuta_spark.errors import NotAuthorized, SourceNotFound, TokenError, UnmaskError
from immuta_spark.expr import SecretRef
from immuta_spark.masks.format_preserving import decrypt as fpe_decrypt
from immuta_spark.masks.format_preserving import fpe_keys
from immuta_spark.masks.reversible import detokenize, token_keys
from immuta_spark.model import Permission, Source

__all__ = ["UnmaskRecord", "UnmaskRequests"]


@dataclass(frozen=True, slots=True, kw_only=True)
class UnmaskRecord:
    """One unmask request as ``unmask list`` prints it (never with the value)."""

    id: int
    source: str
    column: str
    token: str
    requester: str
    reason: str
    status: str
    decided_by: str | None
    decision_reason: str | None
    requested_at: str
    decided_at: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> UnmaskRecord:
        """From an ``unmask_requests`` row."""
        return cls(**{**{k: row[k] for k in row if k != "column_name"}, "column": row["column_name"]})

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {f: getattr(self, f) for f in self.__slots__}  # type: ignore[attr-defined]


class UnmaskRequests(CatalogBase):
    """The catalog's unmask requests (part of :class:`immuta_spark.catalog.GovernanceCatalog`)."""

    def request_unmask(self, source: str, column: str, token: str, *, reason: str) -> UnmaskRecord:
        """Ask to see the value behind ``token`` in ``column`` of ``source``; pending until decided.

        Refused, storing nothing, unless the actor sees the source, the column is masked for them
        by a reversible or format-preserving policy, the token is one of that source's tokens, and
        a reason is given. Asking again for the same token returns the request already made.
        """
        snapshot = self.snapshot()
        me = self._actor_subject()
        src, name, kind = self._unmask_column(snapshot, me, source, column)
        if not reason.strip():
            raise UnmaskError("say why you need the value (reason=...): approvers decide on it")
        self._reverse_token(src, kind, token)  # refuses what cannot be revealed, before anything is stored
        with self.store.write() as conn:
            for row in self.store.unmask_request_rows(conn, requester=self.actor, source=src):
                if row["column_name"] == name and row["token"] == token and row["status"] != "denied":
                    return UnmaskRecord.from_row(row)
            request_id = self.store.insert_unmask_request(
                conn, source=src, column=name, token=token, requester=self.actor, reason=reason
            )
            self._audit_in(conn, "unmask.request", "ok", src, {"request": request_id, "column": name, "reason": reason})
            row = self.store.unmask_request_rows(conn, request_id=request_id)[0]
        return UnmaskRecord.from_row(row)

    def unmask_requests(self, *, status: str | None = None) -> list[UnmaskRecord]:
        """The requests the actor may see: their own, those they may decide, and (governors) all."""
        snapshot = self.snapshot()
        me = self._actor_subject()
        with self.store.read() as conn:
            rows = self.store.unmask_request_rows(conn, status=status)
        return [
            UnmaskRecord.from_row(r)
            for r in rows
            if r["requester"] == self.actor
            or me.has(Permission.GOVERNANCE)
            or self._may_decide_unmask(snapshot, me, r["source"], r["column_name"])
        ]

    def approve_unmask(self, request_id: int, *, reason: str = "") -> UnmaskRecord:
        """Approve a pending request: its requester sees that one value from their next statement."""
        return self._decide_unmask(request_id, approve=True, reason=reason)

    def deny_unmask(self, request_id: int, *, reason: str = "") -> UnmaskRecord:
        """Deny a pending request: it reveals nothing, ever."""
        return self._decide_unmask(request_id, approve=False, reason=reason)

    def unmask(self, source: str, column: str, token: str) -> str:
        """The value behind ``token``, for a requester whose request for it was approved; else refused."""
        snapshot = self.snapshot()
        src = snapshot.source(source)
        plan = None if src is None else compile_plan(snapshot, self._actor_subject(), src.name, _columns(src, column))
        if src is None or plan is None or not plan.visible:
            raise SourceNotFound(source)
        kind = next((c.mask for c in plan.columns if c.name.lower() == column.lower()), None)
        with self.store.read() as conn:
            rows = self.store.unmask_request_rows(conn, requester=self.actor, source=src.name)
        found = [r for r in rows if r["column_name"] == column.lower() and r["token"] == token]
        if not any(r["status"] == "approved" for r in found):
            state = found[-1]["status"] if found else "never requested"
            self.record(
                action="unmask.reveal", outcome="denied", sources=[src.name], detail={"column": column, "state": state}
            )
            raise NotAuthorized(
                f"the value behind this token of {src.name}.{column} is not yours to see ({state}); "
                "request it with session.request_unmask(...) or `immuta-spark unmask request`, and wait for approval"
            )
        value = self._reverse_token(src.name, kind, token)
        self.record(action="unmask.reveal", outcome="ok", sources=[src.name], detail={"column": column.lower()})
        return value

    # --- helpers ------------------------------------------------------------------------

    def _unmask_column(self, snapshot: Snapshot, me: Subject, source: str, column: str) -> tuple[str, str, str]:
        src = snapshot.source(source)
        plan = None if src is None else compile_plan(snapshot, me, src.name, _columns(src, column))
        if src is None or plan is None or not plan.visible:
            raise SourceNotFound(source)
        for c in plan.columns:
            if c.name.lower() == column.lower():
                if c.mask not in REVERSIBLE:
                    what = "it is not masked for you" if c.mask is None else f"its {c.mask} mask is not reversible"
                    raise UnmaskError(
                        f"column {column} of {src.name} has nothing to unmask: {what} (unmask requests reverse "
                        "reversible and format-preserving masks)"
                    )
                return src.name, c.name.lower(), str(c.mask)
        raise UnmaskError(f"{src.name} has no column {column}; its columns: {', '.join(c.name for c in plan.columns)}")

    def _may_decide_unmask(self, snapshot: Snapshot, me: Subject, source: str, column: str) -> bool:
        """Whether the masking policy exempts ``me`` on that column (they see it in the clear)."""
        found = snapshot.source(source)
        if found is None:
            return False
        plan = compile_plan(snapshot, me, source, _columns(found, column))
        return plan.visible and any(c.name.lower() == column and c.mask is None for c in plan.columns)

    def _decide_unmask(self, request_id: int, *, approve: bool, reason: str) -> UnmaskRecord:
        action = "unmask.approve" if approve else "unmask.deny"
        snapshot = self.snapshot()
        me = self._actor_subject()
        with self.store.read() as conn:
            rows = self.store.unmask_request_rows(conn, request_id=request_id)
        if not rows:
            raise UnmaskError(f"there is no unmask request {request_id}; list them with `immuta-spark unmask list`")
        row = rows[0]
        if row["requester"] == self.actor or not self._may_decide_unmask(
            snapshot, me, row["source"], row["column_name"]
        ):
            self.record(action=action, outcome="denied", sources=[row["source"]], detail={"request": request_id})
            raise NotAuthorized(
                f"only a user the masking policy on {row['source']}.{row['column_name']} exempts (who sees that "
                "column in the clear), other than the requester, may decide this request"
            )
        with self.store.write() as conn:
            status = "approved" if approve else "denied"
            if not self.store.decide_unmask_request(
                conn, request_id, status=status, decided_by=self.actor, reason=reason
            ):
                raise UnmaskError(f"unmask request {request_id} was decided already ({row['status']})")
            if approve:
                self.store.bump(conn)  # the requester's plans change: that value shows in the clear
            detail = {"request": request_id, "requester": row["requester"], "column": row["column_name"]}
            self._audit_in(conn, action, "ok", row["source"], {**detail, "reason": reason})
            decided = self.store.unmask_request_rows(conn, request_id=request_id)[0]
        return UnmaskRecord.from_row(decided)

    def _reverse_token(self, source: str, kind: str | None, token: str) -> str:
        if kind == "format_preserving":
            return fpe_decrypt(token, fpe_keys(self.secret(SecretRef("source", source, "fpe_key"))))
        if kind != "reversible":
            raise UnmaskError(f"that column of {source} is no longer masked reversibly for you; nothing to reveal")
        try:
            return detokenize(token, token_keys(self.secret(SecretRef("source", source, "token_key"))))
        except TokenError:
            raise TokenError(
                f"this token is not one of {source}'s reversible tokens (altered, or of another source or column); "
                "copy it exactly as the masked column shows it"
            ) from None


def _columns(source: Source, column: str) -> list[tuple[str, str | None]] | None:
    """The columns to compile ``source`` over when asked about ``column`` (None: its data dictionary's).

    Without the table at hand, a source with no data dictionary is compiled over the columns its
    policies and tags name plus ``column``, their types unknown (masks are decided by name and tag).
    """
    if source.dictionary:
        return None
    names = {column, *source.column_tags}
    for policy in source.policies:
        if policy.columns is not None and policy.columns.names is not None:
            names.update(policy.columns.names)
    return sorted((n, None) for n in {n.lower(): n for n in names}.values())
