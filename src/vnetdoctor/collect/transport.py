"""The Azure SDK plumbing of live collection: the read-only guard, bounded retries, a credential
wrapper that keeps tokens out of messages, and the factory for the SDK clients.

This module imports the Azure SDK (the optional extra ``azure``); import it only after
:func:`vnetdoctor.collect.require_azure`.

The read-only guard is a transport: it wraps whatever transport sends the bytes (the SDK's
``RequestsTransport``, or a test's replay transport) and refuses, before anything leaves the
process, every request that is not a read (:func:`vnetdoctor.collect.scope.read_only_refusal`).
Because it sits below every pipeline policy, it also sees what the SDK sends on its own:
long-running operation polling, redirects, and the ARM policy that would register a resource
provider with a POST when Azure answers ``MissingSubscriptionRegistration`` (refused).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final
from urllib.parse import urlsplit

from azure.core.credentials import AccessToken, TokenCredential
from azure.core.pipeline import PipelineResponse
from azure.core.pipeline.policies import RetryPolicy
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest, HttpResponse

from vnetdoctor.collect.errors import ReadOnlyViolation
from vnetdoctor.collect.redact import remember_secret
from vnetdoctor.collect.scope import ARM_ENDPOINT, display_url, read_only_refusal

_LOGGER = logging.getLogger("vnetdoctor.collect")

# Bounded retries: 429 and transient 5xx, honouring Retry-After (capped), at most MAX_RETRIES.
MAX_RETRIES: Final = 6
MAX_RETRY_AFTER: Final = 60.0
BACKOFF_FACTOR: Final = 1.0
BACKOFF_MAX: Final = 30
POLLING_INTERVAL: Final = 5
_HMS: Final = re.compile(r"^(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")


@dataclass
class TransportStats:
    """What went over the wire (counted by the guard; never the content)."""

    requests: int = 0
    by_method: dict[str, int] = field(default_factory=dict)
    throttled: int = 0  # 429 answers
    server_errors: int = 0  # 5xx answers
    slept: float = 0.0  # seconds waited on Retry-After, backoff and polling
    refused: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "byMethod": dict(sorted(self.by_method.items())),
            "throttled": self.throttled,
            "serverErrors": self.server_errors,
            "waitedSeconds": round(self.slept, 1),
            "refused": self.refused,
        }


class ReadOnlyTransport(HttpTransport[HttpRequest, HttpResponse]):
    """Sends only reads; refuses everything else with :class:`ReadOnlyViolation`.

    It does not own ``inner``: closing a client closes nothing underneath, so one inner transport
    serves every client of a collection, and whoever created it closes it.
    """

    def __init__(
        self,
        inner: HttpTransport[Any, Any],
        *,
        endpoint: str = ARM_ENDPOINT,
        stats: TransportStats | None = None,
    ) -> None:
        self._inner = inner
        self._host = urlsplit(endpoint).hostname or "management.azure.com"
        self.stats = stats or TransportStats()

    def send(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        reason = read_only_refusal(
            request.method, request.url, request.headers.keys(), host=self._host
        )
        if reason is not None:
            with self.stats._lock:
                self.stats.refused += 1
            _LOGGER.error("refused %s %s: %s", request.method, display_url(request.url), reason)
            raise ReadOnlyViolation(request.method, display_url(request.url), reason)
        with self.stats._lock:
            self.stats.requests += 1
            method = request.method.upper()
            self.stats.by_method[method] = self.stats.by_method.get(method, 0) + 1
        response: HttpResponse = self._inner.send(request, **kwargs)
        status = response.status_code
        if status == 429 or status >= 500:
            with self.stats._lock:
                if status == 429:
                    self.stats.throttled += 1
                else:
                    self.stats.server_errors += 1
        return response

    def open(self) -> None:
        self._inner.open()

    def close(self) -> None:
        """Not owned: see the class docstring."""

    def __enter__(self) -> ReadOnlyTransport:
        self._inner.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        return None

    def sleep(self, duration: float) -> None:
        with self.stats._lock:
            self.stats.slept += max(duration, 0.0)
        self._inner.sleep(duration)


def parse_hms(text: str | None) -> float | None:
    """``hh:mm:ss`` (Resource Graph's ``x-ms-user-quota-resets-after``) in seconds."""
    match = _HMS.match(text.strip()) if text else None
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


class BoundedRetryPolicy(RetryPolicy[HttpRequest, HttpResponse]):
    """azure-core's retry policy with bounds that suit a read-only tool.

    - retries 408, 429, 500, 502, 503 and 504, at most :data:`MAX_RETRIES` times;
    - POSTs are retried too: the guard lets only read-only POSTs through, so repeating one is safe
      (azure-core would otherwise not retry a throttled Resource Graph query);
    - waits what ``Retry-After`` (or ``retry-after-ms``, or on a 429 Resource Graph's
      ``x-ms-user-quota-resets-after``) asks, but never more than :data:`MAX_RETRY_AFTER` seconds;
      without those headers, exponential backoff capped at :data:`BACKOFF_MAX` seconds.
    """

    def __init__(self, *, max_retry_after: float = MAX_RETRY_AFTER, **kwargs: Any) -> None:
        kwargs.setdefault("retry_total", MAX_RETRIES)
        kwargs.setdefault("retry_status", MAX_RETRIES)
        kwargs.setdefault("retry_connect", 3)
        kwargs.setdefault("retry_read", 3)
        kwargs.setdefault("retry_backoff_factor", BACKOFF_FACTOR)
        kwargs.setdefault("retry_backoff_max", BACKOFF_MAX)
        super().__init__(**kwargs)
        self.max_retry_after = max_retry_after
        self._method_whitelist = frozenset({"GET", "HEAD", "POST"})

    def get_retry_after(self, response: PipelineResponse[Any, Any]) -> float | None:
        value = super().get_retry_after(response)
        http = response.http_response
        if value is None and http.status_code == 429:
            value = parse_hms(http.headers.get("x-ms-user-quota-resets-after"))
        if value is None:
            return None
        return min(max(float(value), 0.0), self.max_retry_after)


class RedactingCredential:
    """Wraps a credential; registers every token it issues with :mod:`~vnetdoctor.collect.redact`
    so that no message can quote it. Offers ``get_token`` only (the SDK then uses that)."""

    def __init__(self, inner: TokenCredential) -> None:
        self._inner = inner

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        options = dict(kwargs)  # pass on only what was asked: not every credential takes all
        if claims is not None:
            options["claims"] = claims
        if tenant_id is not None:
            options["tenant_id"] = tenant_id
        if enable_cae:
            options["enable_cae"] = True
        token = self._inner.get_token(*scopes, **options)
        remember_secret(token.token)
        return token


def client_kwargs(transport: ReadOnlyTransport) -> dict[str, Any]:
    """Keyword arguments for every SDK client of a collection."""
    from vnetdoctor import __version__

    return {
        "transport": transport,
        "retry_policy": BoundedRetryPolicy(),
        "user_agent": f"vnetdoctor/{__version__}",
        "logging_enable": False,  # never log bodies (the default HTTP logging redacts headers)
        "polling_interval": POLLING_INTERVAL,  # when Azure sends no Retry-After while polling
    }


def make_resource_graph_client(
    credential: TokenCredential, transport: ReadOnlyTransport, endpoint: str = ARM_ENDPOINT
) -> Any:
    from azure.mgmt.resourcegraph import ResourceGraphClient

    return ResourceGraphClient(credential, base_url=endpoint, **client_kwargs(transport))


def make_network_client(
    credential: TokenCredential,
    transport: ReadOnlyTransport,
    subscription_id: str,
    endpoint: str = ARM_ENDPOINT,
) -> Any:
    from azure.mgmt.network import NetworkManagementClient

    return NetworkManagementClient(
        credential, subscription_id, base_url=endpoint, **client_kwargs(transport)
    )


def default_credential() -> TokenCredential:
    """azure-identity's DefaultAzureCredential: environment, workload identity, managed identity,
    Azure CLI, Azure PowerShell, Azure Developer CLI (no interactive browser)."""
    from azure.identity import DefaultAzureCredential

    credential: TokenCredential = DefaultAzureCredential()
    return credential


def default_transport() -> HttpTransport[Any, Any]:
    from azure.core.pipeline.transport import RequestsTransport

    transport: HttpTransport[Any, Any] = RequestsTransport()
    return transport


CredentialFactory = Callable[[], TokenCredential]
TransportFactory = Callable[[], HttpTransport[Any, Any]]

__all__ = [
    "MAX_RETRIES",
    "MAX_RETRY_AFTER",
    "BoundedRetryPolicy",
    "ReadOnlyTransport",
    "RedactingCredential",
    "TransportStats",
    "client_kwargs",
    "default_credential",
    "default_transport",
    "make_network_client",
    "make_resource_graph_client",
    "parse_hms",
]
