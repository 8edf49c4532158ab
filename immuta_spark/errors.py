"""The one error hierarchy of ``immuta_spark``.

Every error derives from :class:`ImmutaSparkError` and its message says what to do next.
"""

from __future__ import annotations

__all__ = [
    "AccessDenied",
    "CatalogError",
    "DifferentialPrivacyError",
    "IdentityProviderError",
    "ImmutaSparkError",
    "ImpersonationDenied",
    "NotAuthorized",
    "PolicyBindError",
    "PolicyFileError",
    "PrivacyBudgetExceeded",
    "ProjectError",
    "PurposeRequired",
    "RuntimeStateConflict",
    "SourceNotFound",
    "SubscriptionError",
    "SyncRefused",
    "TokenError",
    "UnmaskError",
]


class ImmutaSparkError(Exception):
    """Root of every error raised by immuta_spark."""


class CatalogError(ImmutaSparkError):
    """The governance catalog could not be opened, migrated or written.

    ``transient`` is true when the database was busy (its write lock held past the wait) or
    could not be reached: trying again later may succeed. A catalog that is missing, replaced
    or not a catalog is not transient.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class PolicyFileError(ImmutaSparkError):
    """A policy-as-code file is invalid; ``path`` names the offending element."""

    def __init__(self, path: str, message: str, *, file: str | None = None) -> None:
        self.path = path
        self.file = file
        self.reason = message
        where = f"{file}: " if file else ""
        super().__init__(f"{where}{path}: {message}")


class PolicyBindError(ImmutaSparkError):
    """A policy names a column or type that the source's schema does not have."""


class NotAuthorized(ImmutaSparkError):
    """The acting identity lacks a permission the operation needs."""


class ImpersonationDenied(NotAuthorized):
    """Acting as another user needs the IMPERSONATE permission."""


class SourceNotFound(ImmutaSparkError):
    """The table does not exist, or is not visible to the user (the two look alike on purpose).

    The message mirrors Spark's ``TABLE_OR_VIEW_NOT_FOUND`` so that an invisible source cannot
    be told apart from a missing one.
    """

    error_class = "TABLE_OR_VIEW_NOT_FOUND"

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"[TABLE_OR_VIEW_NOT_FOUND] The table or view `{name}` cannot be found. "
            "Verify the spelling and correctness of the schema and catalog."
        )


class AccessDenied(ImmutaSparkError):
    """The user may see the source exists but may not read it (not subscribed, or denied)."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"Access to data source '{source}' denied: {reason}")


class PurposeRequired(AccessDenied):
    """A purpose-limit policy requires acting under a project with one of ``purposes``."""

    def __init__(self, source: str, purposes: tuple[str, ...]) -> None:
        self.purposes = purposes
        needed = ", ".join(purposes)
        super().__init__(
            source,
            f"this source may only be used for the purpose(s) {needed} (or a sub-purpose); "
            "act under a project that has one of them (set_project / --project).",
        )


class ProjectError(ImmutaSparkError):
    """A project operation does not fit the project's state (a name taken, declared in a file, ...)."""


class RuntimeStateConflict(ImmutaSparkError):
    """An ``apply`` would collide with, or silently delete, state created at run time."""


class SubscriptionError(ImmutaSparkError):
    """A subscription request, approval, denial or revocation is not allowed."""


class TokenError(ImmutaSparkError):
    """A reversible mask's token that is not one of this source's (altered, forged, or another source's)."""


class UnmaskError(ImmutaSparkError):
    """An unmask request that cannot be made or decided (nothing to unmask, no reason, decided already)."""


class DifferentialPrivacyError(ImmutaSparkError):
    """A query or operation refused under a differential-privacy policy (not an aggregate, no budget left, ...)."""


class PrivacyBudgetExceeded(DifferentialPrivacyError):
    """Answering would take a user's privacy spending on a source past the policy's budget for the period.

    ``retry_at`` is when enough of the spending leaves the period for the query to fit again
    (the time format the catalog stores), or None when no wait would make it fit.
    """

    def __init__(self, message: str, *, user: str, source: str, retry_at: str | None = None) -> None:
        super().__init__(message)
        self.user = user
        self.source = source
        self.retry_at = retry_at


class IdentityProviderError(ImmutaSparkError):
    """A sync with an identity provider failed; nothing was changed.

    ``transient`` is true when the directory could not be reached or went away mid-search (a
    scheduled sync tries again with backoff); a refused bind, a bad filter or a missing password is not.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class SyncRefused(IdentityProviderError):
    """A sync would remove more of a provider's users than its ``max_removed_share``; ``--force`` applies it."""
