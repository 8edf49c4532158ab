"""What catalog operations return: :class:`ApplyResult` and :class:`SubscriptionRecord`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApplyResult", "SubscriptionRecord", "to_record"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyResult:
    """What an apply changed (or would change, with ``dry_run``)."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    revision: int = 0
    dry_run: bool = False

    @property
    def is_noop(self) -> bool:
        """Whether nothing changed."""
        return not (self.added or self.changed or self.removed)

    def summary(self) -> str:
        """One line for people."""
        if self.is_noop:
            return "no changes"
        verb = "would change" if self.dry_run else "changed"
        parts = [f"{len(self.added)} added", f"{len(self.changed)} changed", f"{len(self.removed)} removed"]
        return f"{verb}: " + ", ".join(parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionRecord:
    """A user's subscription state on a source, as the workflow left it."""

    source: str
    user: str
    status: str
    approvals: tuple[str, ...] = ()
    added: bool = False
    reason: str = ""
    updated_at: str = ""
    needed: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {
            "source": self.source,
            "user": self.user,
            "status": self.status,
            "approvals": list(self.approvals),
            "added": self.added,
            "reason": self.reason,
            "updated_at": self.updated_at,
        }


def to_record(r: dict[str, Any]) -> SubscriptionRecord:
    """A stored subscription row as a record."""
    return SubscriptionRecord(
        source=r["source"],
        user=r["user"],
        status=r["status"],
        approvals=tuple(r["approvals"]),
        added=bool(r["added"]),
        reason=r["reason"] or "",
        updated_at=r["updated_at"],
    )
