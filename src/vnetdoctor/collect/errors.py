"""Errors of live collection. They extend :mod:`vnetdoctor.errors`; none carries a token.

::

    VnetDoctorError
    ├── MissingAzureExtra           the optional extra ``vnetdoctor[azure]`` is absent: exit 2
    └── CollectionError             (vnetdoctor.errors) exit 4
        ├── AuthenticationFailed    no credential worked, or Azure refused the token
        ├── ReadOnlyViolation       something tried to send a request that is not a read
        └── AzureApiError           Azure answered with an error the collector cannot turn into a
                                    warning (retries exhausted, a malformed query, ...)
"""

from __future__ import annotations

from vnetdoctor.errors import CollectionError, VnetDoctorError

INSTALL_HINT = "pip install 'vnetdoctor[azure]'"


class MissingAzureExtra(VnetDoctorError):
    """The Azure SDK (the optional extra ``azure``) is not installed."""

    exit_code = 2

    def __init__(self, missing: str) -> None:
        self.missing = missing
        super().__init__(
            f"live collection needs the Azure SDK ({missing} is not installed); "
            f"install it with: {INSTALL_HINT}"
        )


class AuthenticationFailed(CollectionError):
    """DefaultAzureCredential found no usable identity, or Azure refused its token."""


class ReadOnlyViolation(CollectionError):
    """A request other than a read was about to be sent; it was refused before leaving."""

    def __init__(self, method: str, where: str, reason: str) -> None:
        self.method = method
        self.where = where
        super().__init__(
            f"refused to send {method} {where}: {reason} (vnetdoctor only reads from Azure)"
        )


class AzureApiError(CollectionError):
    """Azure answered an error that cannot be turned into a warning."""

    def __init__(
        self, message: str, *, status: int | None = None, code: str | None = None
    ) -> None:
        self.status = status
        self.code = code
        super().__init__(message)


__all__ = [
    "INSTALL_HINT",
    "AuthenticationFailed",
    "AzureApiError",
    "MissingAzureExtra",
    "ReadOnlyViolation",
]
