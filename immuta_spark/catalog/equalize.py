"""Project equalization: enable, disable, edit the entitlement, compliance (seed "Project Equalization").

Enabling stores the recommended entitlement (the least-privileged member's access, among what
the project's sources' policies test: :mod:`immuta_spark.engine.equalization`); owners may edit
it after. While equalized, every member is evaluated as holding exactly the entitlement, a
member who lacks it is out of compliance and gets no data in the project, the subscription
policy is locked and combines with the entitlement as the seed's table says, and only owners
add sources. Disabling turns the subscription policy into the table's last column.

A project declared in a policy file is equalized in the file (``equalization: true``, with an
``entitlement`` or, without one, following the recommendation as members change).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from immuta_spark import policyfile
from immuta_spark.catalog.membership import ProjectMembership
from immuta_spark.catalog.project_records import ProjectRecord
from immuta_spark.engine.equalization import compliance, subscription_after_disabling
from immuta_spark.errors import ProjectError
from immuta_spark.model import Entitlement

__all__ = ["ProjectEqualization"]


class ProjectEqualization(ProjectMembership):
    """The catalog's equalization operations (part of :class:`immuta_spark.catalog.GovernanceCatalog`)."""

    def recommended_entitlement(self, name: str) -> Entitlement:
        """What the seed recommends for ``name`` now (whether or not it is equalized)."""
        snapshot = self.snapshot()
        return snapshot.recommended_entitlement(self._project(snapshot, name))

    def project_compliance(self, name: str) -> list[tuple[str, list[str]]]:
        """The members out of compliance with the entitlement, each with what they lack (owners, members, governors)."""
        snapshot = self.snapshot()
        project = self._project(snapshot, name)
        if not self._insider(snapshot, name):
            self._refuse("project.compliance", name, f"only members of project '{name}' and governors see compliance")
        if not project.equalization:
            return []
        members = {u: snapshot.users.get(u) for u in snapshot.project_members(project)}
        return compliance(snapshot.entitlement(project), members)

    def equalize_project(self, name: str, *, enabled: bool = True) -> ProjectRecord:
        """Turn equalization on (storing the recommended entitlement) or off (owners, governors; runtime projects)."""
        snapshot = self.snapshot()
        action = "project.equalize"
        project = self._runtime_project(snapshot, action, name, "equalize it")
        self._require_manager(snapshot, action, name)
        if project.equalization == enabled:
            raise ProjectError(f"project '{name}' is already {'equalized' if enabled else 'not equalized'}")
        before = snapshot.project_subscription(project)
        if enabled:
            entitlement = snapshot.recommended_entitlement(project)
            new = replace(project, equalization=True, entitlement=entitlement)
        else:
            # The seed's last column: approval stays (without the entitlement), the rest become individuals.
            new = replace(
                project, equalization=False, entitlement=None, subscription=subscription_after_disabling(before)
            )
        detail: dict[str, Any] = {
            "enabled": enabled,
            "entitlement": _data(new.entitlement),
            "subscription_before": _subscription(before),
        }
        return self._update(snapshot, action, new, detail)

    def set_project_entitlement(
        self, name: str, *, groups: Sequence[str] = (), attributes: Mapping[str, Sequence[str]] | None = None
    ) -> ProjectRecord:
        """Edit an equalized runtime project's entitlement (its owners).

        Adding to it may put members out of compliance; removing from it may show every member less.
        """
        snapshot = self.snapshot()
        action = "project.entitlement"
        project = self._runtime_project(snapshot, action, name, "edit its entitlement")
        self._require_manager(snapshot, action, name)
        if not project.equalization:
            self._refuse(action, name, f"project '{name}' is not equalized; equalize it first")
        entitlement = Entitlement(
            groups=frozenset(groups), attributes={k: frozenset(v) for k, v in (attributes or {}).items() if v}
        )
        previous = snapshot.entitlement(project)
        new = replace(project, entitlement=entitlement)
        detail = {"entitlement": _data(entitlement), "previous": _data(previous)}
        return self._update(snapshot, action, new, detail)


def _data(entitlement: Entitlement | None) -> dict[str, Any] | None:
    return None if entitlement is None else policyfile.dump_entitlement(entitlement)


def _subscription(spec: Any) -> dict[str, Any] | None:
    return None if spec is None else policyfile.dump_subscription(spec)
