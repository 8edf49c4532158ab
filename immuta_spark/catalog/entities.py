"""The governance model as the store keeps it: one canonical JSON row per entity, and back."""

from __future__ import annotations

import json
from typing import Any

from immuta_spark import policyfile
from immuta_spark.errors import CatalogError, ImmutaSparkError
from immuta_spark.model import Governance

__all__ = ["assemble", "canonical_json", "entity_rows"]

_KINDS = ("settings", "user", "purpose", "source", "policy", "project", "identity_provider")
_SECTION = {
    "user": "users",
    "purpose": "purposes",
    "source": "sources",
    "policy": "policies",
    "project": "projects",
    "identity_provider": "identity_providers",
}


def canonical_json(data: Any) -> str:
    """The one JSON form entity bodies are stored in (comparing bodies compares meaning)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entity_rows(g: Governance) -> dict[tuple[str, str], tuple[int, str]]:
    """The entity rows a model is stored as: (kind, name) -> (position, canonical body)."""
    doc = policyfile.dump_document(g)
    rows: dict[tuple[str, str], tuple[int, str]] = {("settings", "settings"): (0, canonical_json(doc["settings"]))}
    for kind, section in _SECTION.items():
        for i, item in enumerate(doc.get(section, ())):
            rows[(kind, item["name"])] = (i, canonical_json(item))
    return rows


def assemble(rows: dict[tuple[str, str], tuple[int, str]]) -> Governance:
    """Rebuild the model from stored rows (validated again: the store is not trusted blindly)."""
    if not rows:
        return Governance()
    doc: dict[str, Any] = {"version": 1}
    ordered = sorted(rows.items(), key=lambda kv: (_KINDS.index(kv[0][0]), kv[1][0], kv[0][1]))
    for (kind, _name), (_pos, body) in ordered:
        data = json.loads(body)
        if kind == "settings":
            doc["settings"] = data
        else:
            doc.setdefault(_SECTION[kind], []).append(data)
    try:
        # Stored documents were validated at apply, patterns by the engine's own regex.
        return policyfile.parse_document(doc, file="<catalog>", regex_checker=_stored_regex)
    except ImmutaSparkError as exc:  # pragma: no cover - only a hand-edited database gets here
        raise CatalogError(f"the stored catalog is inconsistent ({exc}); re-apply a policy file") from exc


def _stored_regex(pattern: str) -> tuple[str | None, int]:
    return None, 9  # any $n the replacement uses was checked against the real pattern at apply
