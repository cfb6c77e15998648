"""Live collection: read an estate (or what one pair of VMs needs) from Azure, read-only.

Imports the Azure SDK; use it through :mod:`vnetdoctor.collect`, which checks that the optional
extra is installed first. The flow:

1. Resource Graph, one query per subscription (so that a subscription the identity cannot read is
   known as such and becomes a warning), pages of 1,000 rows with skip tokens, ordered by id;
2. the references of what was read, followed to the resources they name (a NIC's subnet, the VNet
   of that subnet, its peered VNets, one peering hop), also by Resource Graph, by id;
3. the power state of every VM whose Resource Graph row lacks it, from its instance view (GET);
4. the effective security admin rules (Virtual Network Manager) of every VNet read, one
   read-only POST ``listNetworkManagerEffectiveSecurityAdminRules`` per VNet, following skip
   tokens; a refusal (403 without the permission, 400/404 where the feature is not registered)
   is a warning naming the VNet, and the VNet's envelope records the error, so its admin rules
   are *unknown* in the snapshot rather than *none*;
5. with ``effective``, the effective routes and security rules of the NICs in scope (the
   read-only POSTs ``effectiveRouteTable`` and ``effectiveNetworkSecurityGroups``, long-running
   operations the SDK polls).

Every request passes :class:`~vnetdoctor.collect.transport.ReadOnlyTransport`, is retried on
429 / transient 5xx within bounds, and carries a token the caller never sees.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest

from vnetdoctor.collect import graph
from vnetdoctor.collect import transport as _transport
from vnetdoctor.collect.document import CollectionWarning, build_document, write_document
from vnetdoctor.collect.errors import AuthenticationFailed, AzureApiError
from vnetdoctor.collect.progress import NullProgress, ProgressSink
from vnetdoctor.collect.redact import scrub
from vnetdoctor.collect.scope import (
    ARM_ENDPOINT,
    COMPUTE_API_VERSION,
    CONNECTIONS,
    GATEWAYS,
    NETWORK_INTERFACES,
    PAGE_SIZE,
    VIRTUAL_MACHINES,
    VIRTUAL_NETWORKS,
    display_url,
    ids_query,
    nic_ip_query,
    parse_resource_group,
    parse_subscription,
    scope_query,
    type_query,
    unique,
    vm_name_query,
)
from vnetdoctor.errors import CollectionError
from vnetdoctor.model.ids import ResourceId, fold
from vnetdoctor.model.network_manager import ENVELOPE_TYPE
from vnetdoctor.model.snapshot import Snapshot

_LOGGER = logging.getLogger("vnetdoctor.collect")

IDS_PER_QUERY: Final = 100
MAX_PAGES: Final = 10_000
MAX_CLOSURE_ROUNDS: Final = 8
EFFECTIVE_WINDOW: Final = 4  # effective-route/NSG operations in flight at once
EFFECTIVE_TIMEOUT: Final = 600.0  # seconds one effective call may take, polling included
# Resource Graph / ARM answers meaning "this identity cannot read that subscription".
UNREADABLE_CODES: Final = frozenset(
    c.casefold()
    for c in (
        "AuthorizationFailed",
        "Forbidden",
        "NoValidSubscriptionsInQueryRequest",
        "SubscriptionNotFound",
        "InvalidSubscriptionId",
        "InvalidAuthenticationTokenTenant",
    )
)
EFFECTIVE_KINDS: Final = ("effectiveRouteTable", "effectiveNetworkSecurityGroups")
_ACTIONS: Final = {
    "effectiveRouteTable": "Microsoft.Network/networkInterfaces/effectiveRouteTable/action",
    "effectiveNetworkSecurityGroups": (
        "Microsoft.Network/networkInterfaces/effectiveNetworkSecurityGroups/action"
    ),
}
ADMIN_RULES_ACTION: Final = (
    "Microsoft.Network/virtualNetworks/listNetworkManagerEffectiveSecurityAdminRules/action"
)
AUTH_HINT: Final = (
    "sign in with `az login`, or set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET "
    "(or a federated token), or run where a managed identity is available"
)


@dataclass
class Collection:
    """The result of a collection: the snapshot document and what happened."""

    document: dict[str, Any]
    warnings: list[CollectionWarning]
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def counts(self) -> Mapping[str, int]:
        counts: Mapping[str, int] = self.document["vnetdoctor"]["counts"]
        return counts

    @property
    def effective(self) -> Mapping[str, Mapping[str, Any]]:
        effective: Mapping[str, Mapping[str, Any]] = self.document["vnetdoctor"]["effective"]
        return effective

    def write(self, path: str | Path) -> Path:
        """Write the snapshot file atomically (temporary file, then rename)."""
        return write_document(self.document, path)

    def snapshot(self) -> Snapshot:
        """The collected estate as a :class:`Snapshot`, with the collection warnings among its
        ingest warnings."""
        import msgspec

        from vnetdoctor.collect.document import ingest_warnings
        from vnetdoctor.ingest.loader import snapshot_from_json

        copy = msgspec.json.decode(msgspec.json.encode(self.document))
        snap = snapshot_from_json(copy, source="<live Azure collection>")
        snap.warnings = (*snap.warnings, *ingest_warnings(self.document))
        return snap


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------
def collect_scope(
    subscriptions: Sequence[str],
    resource_groups: Sequence[str] = (),
    *,
    effective: bool = False,
    credential: TokenCredential | None = None,
    transport: HttpTransport[Any, Any] | None = None,
    progress: ProgressSink | None = None,
    endpoint: str = ARM_ENDPOINT,
) -> Collection:
    """Every collected resource of ``subscriptions`` (optionally only ``resource_groups``), plus
    what they refer to; with ``effective``, the effective routes/NSGs of their VMs' NICs."""
    subs = _subscriptions(subscriptions)
    groups = unique(parse_resource_group(g) for g in resource_groups)
    scope = {"mode": "scope", "subscriptions": subs, "resourceGroups": groups,
             "effective": effective}
    with _Collector(subs, credential, transport, progress, endpoint) as run:
        return run.guarded(lambda: run.scope(groups, effective=effective), scope)


def collect_pair(
    subscriptions: Sequence[str],
    source: str,
    destination: str,
    *,
    effective: bool = False,
    credential: TokenCredential | None = None,
    transport: HttpTransport[Any, Any] | None = None,
    progress: ProgressSink | None = None,
    endpoint: str = ARM_ENDPOINT,
) -> Collection:
    """What a diagnosis of ``source`` -> ``destination`` needs (each a VM name, a VM or NIC
    resource id, or a private IP address); see :func:`vnetdoctor.collect.collect_for_pair`."""
    subs = _subscriptions(subscriptions)
    endpoints = [_endpoint(source, "source"), _endpoint(destination, "destination")]
    scope = {"mode": "pair", "subscriptions": subs, "source": endpoints[0],
             "destination": endpoints[1], "effective": effective}
    with _Collector(subs, credential, transport, progress, endpoint) as run:
        return run.guarded(lambda: run.pair(endpoints, effective=effective), scope)


def _subscriptions(values: Sequence[str]) -> list[str]:
    from vnetdoctor.errors import UsageError

    if isinstance(values, str):
        values = [values]
    subs = unique(parse_subscription(s) for s in values)
    if not subs:
        raise UsageError("give at least one --subscription")
    return subs


def _endpoint(text: str, what: str) -> str:
    from vnetdoctor.errors import UsageError

    value = text.strip()
    if not value or len(value) > 1024 or any(ord(c) < 32 for c in value):
        raise UsageError(f"{what}: {text!r} is not a VM name, resource id or IP address")
    return value


# ---------------------------------------------------------------------------------------------
# The collector
# ---------------------------------------------------------------------------------------------
class _Collector:
    def __init__(
        self,
        subscriptions: list[str],
        credential: TokenCredential | None,
        transport: HttpTransport[Any, Any] | None,
        progress: ProgressSink | None,
        endpoint: str,
    ) -> None:
        self.subscriptions = subscriptions
        self.endpoint = endpoint.rstrip("/")
        self.progress: ProgressSink = progress or NullProgress()
        self._own_credential = credential is None
        self._raw_credential = credential or _transport.default_credential()
        self.credential = _transport.RedactingCredential(self._raw_credential)
        self._own_transport = transport is None
        self._inner = transport or _transport.default_transport()
        self.guard = _transport.ReadOnlyTransport(self._inner, endpoint=self.endpoint)
        self._arg: Any = None
        self._network: dict[str, Any] = {}
        self.readable: dict[str, bool] = {}
        self.rows: dict[str, MutableMapping[str, Any]] = {}
        self.depth: dict[str, int] = {}
        self.attempted: set[str] = set()
        self.warnings: list[CollectionWarning] = []
        self.effective: dict[str, dict[str, Any]] = {}
        self.admin_rules: list[dict[str, Any]] = []
        self.started = time.monotonic()
        self._progress_done: dict[str, int] = {}

    def __enter__(self) -> _Collector:
        self._inner.open()
        return self

    def __exit__(self, *exc: object) -> None:
        for client in [self._arg, *self._network.values()]:
            if client is not None:
                client.close()
        if self._own_transport:
            self._inner.close()
        close = getattr(self._raw_credential, "close", None)
        if self._own_credential and callable(close):
            close()

    # -- errors ---------------------------------------------------------------------------------
    def guarded(self, work: Callable[[], None], scope: Mapping[str, Any]) -> Collection:
        """Run ``work``; turn SDK exceptions into one-line :class:`CollectionError`s."""
        try:
            work()
        except ClientAuthenticationError as exc:
            first = scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            raise AuthenticationFailed(
                f"could not authenticate to Azure ({first}); {AUTH_HINT}"
            ) from None
        except HttpResponseError as exc:
            raise _api_error(exc) from None
        except (ServiceRequestError, ServiceResponseError) as exc:
            raise CollectionError(
                f"cannot reach Azure Resource Manager at {self.endpoint}: {scrub(exc)}"
            ) from None
        except AzureError as exc:
            raise CollectionError(f"Azure SDK error: {scrub(exc)}") from None
        document = build_document(
            self.rows.values(),
            scope=scope,
            warnings=self.warnings,
            effective=self.effective,
            admin_rules=self.admin_rules,
        )
        stats = {
            **self.guard.stats.to_json(),
            "seconds": round(time.monotonic() - self.started, 1),
            "subscriptionsRead": sorted(s for s, ok in self.readable.items() if ok),
            "subscriptionsUnreadable": sorted(s for s, ok in self.readable.items() if not ok),
        }
        return Collection(document=document, warnings=sorted(set(self.warnings)), stats=stats)

    def warn(self, code: str, message: str, *, subscription: str | None = None,
             resource: str | None = None) -> None:
        warning = CollectionWarning(
            code=code, message=scrub(message), subscription=subscription, resource=resource
        )
        if warning not in self.warnings:
            self.warnings.append(warning)
            _LOGGER.warning("%s: %s", code, warning.message)

    # -- clients --------------------------------------------------------------------------------
    def arg(self) -> Any:
        if self._arg is None:
            self._arg = _transport.make_resource_graph_client(
                self.credential, self.guard, self.endpoint
            )
        return self._arg

    def network(self, subscription: str) -> Any:
        client = self._network.get(subscription)
        if client is None:
            client = self._network[subscription] = _transport.make_network_client(
                self.credential, self.guard, subscription, self.endpoint
            )
        return client

    # -- Resource Graph -------------------------------------------------------------------------
    def _paged(self, subscriptions: list[str], kql: str, label: str) -> list[dict[str, Any]]:
        # One progress row per label; queries that share a label add up in it.
        key = f"graph:{label}"
        base = self._progress_done.get(key, 0)
        self.progress.start(key, label)
        rows: list[dict[str, Any]] = []
        try:
            self._pages(subscriptions, kql, label, rows, key, base)
        finally:
            self._progress_done[key] = base + len(rows)
            self.progress.finish(key)
        return rows

    def _pages(
        self,
        subscriptions: list[str],
        kql: str,
        label: str,
        rows: list[dict[str, Any]],
        key: str,
        base: int,
    ) -> None:
        from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

        skip: str | None = None
        tokens: set[str] = set()
        for _ in range(MAX_PAGES):
            request = QueryRequest(
                subscriptions=subscriptions,
                query=kql,
                options=QueryRequestOptions(
                    top=PAGE_SIZE, skip_token=skip, result_format="objectArray"
                ),
            )
            response = self.arg().resources(request)
            data = response.data if isinstance(response.data, list) else []
            page = [r for r in data if isinstance(r, dict) and isinstance(r.get("id"), str)]
            rows.extend(page)
            total = response.total_records if isinstance(response.total_records, int) else None
            self.progress.advance(key, len(page), total=None if total is None else base + total)
            skip = response.skip_token or None
            if skip is None:
                if str(response.result_truncated).casefold() == "true":
                    self.warn(
                        "RESULT_TRUNCATED",
                        f"Resource Graph truncated the result of {label}; some resources may "
                        "be missing",
                        subscription=subscriptions[0] if len(subscriptions) == 1 else None,
                    )
                return
            if skip in tokens:
                raise AzureApiError("Resource Graph returned the same skip token twice")
            tokens.add(skip)
        raise AzureApiError(f"Resource Graph paging did not end after {MAX_PAGES} pages")

    def query(self, subscriptions: Iterable[str], kql: str, label: str) -> list[dict[str, Any]]:
        """Run ``kql`` over ``subscriptions``. A subscription not yet known to be readable is
        queried alone; if the identity cannot read it, it becomes a warning and is skipped."""
        subs = unique(subscriptions)
        known = [s for s in subs if self.readable.get(s) is True]
        unknown = [s for s in subs if s not in self.readable]
        rows = self._paged(known, kql, label) if known else []
        for sub in unknown:
            try:
                rows.extend(self._paged([sub], kql, label))
            except HttpResponseError as exc:
                if isinstance(exc, ClientAuthenticationError) or not _unreadable(exc):
                    raise
                self.readable[sub] = False
                if sub not in self.subscriptions:
                    continue  # a referenced subscription: fetch() says which resources
                self.warn(
                    "SUBSCRIPTION_UNREADABLE",
                    f"subscription {sub} skipped: the identity cannot read it "
                    f"({_describe(exc)}); grant it Reader there (docs/collect.md)",
                    subscription=sub,
                )
                continue
            self.readable[sub] = True
        return rows

    def add(self, rows: Iterable[MutableMapping[str, Any]], depth: int = 0) -> list[Any]:
        added = []
        for row in rows:
            key = fold(str(row["id"]).strip().rstrip("/"))
            self.attempted.add(key)
            if key in self.rows:
                continue
            self.rows[key] = row
            self.depth.setdefault(key, depth)
            added.append(row)
        return added

    def fetch(self, ids: Iterable[str], depth: int = 0) -> list[Any]:
        """Read resources by id (grouped by subscription); record the unreadable ones."""
        by_sub: dict[str, list[str]] = {}
        for rid in unique(ids):
            key = fold(rid)
            if key in self.rows:
                continue
            self.attempted.add(key)
            sub = (ResourceId(rid).subscription or "").casefold()
            by_sub.setdefault(sub, []).append(rid)
        added = []
        for sub, wanted in sorted(by_sub.items()):
            if not sub:
                continue
            for start in range(0, len(wanted), IDS_PER_QUERY):
                batch = wanted[start : start + IDS_PER_QUERY]
                found = self.query([sub], ids_query(batch), "referenced resources")
                added.extend(self.add(found, depth))
            if self.readable.get(sub) is False and sub not in self.subscriptions:
                self.warn(
                    "REFERENCE_UNREADABLE",
                    f"{len(wanted)} referenced resource(s) in subscription {sub} could not be "
                    "read",
                    subscription=sub,
                    resource=wanted[0],
                )
        return added

    def closure(self, seeds: Iterable[Mapping[str, Any]], *, peering: bool = True) -> None:
        """Follow references from ``seeds`` until nothing new is named (one peering hop)."""
        frontier = list(seeds)
        for _ in range(MAX_CLOSURE_ROUNDS):
            wanted: dict[str, tuple[str, int]] = {}
            for row in frontier:
                depth = self.depth.get(fold(str(row["id"]).strip().rstrip("/")), 0)
                for ref, via_peering in graph.references(row):
                    if via_peering and (not peering or depth >= 1):
                        continue
                    key = fold(ref)
                    if key in self.rows or key in self.attempted:
                        continue
                    wanted.setdefault(key, (ref, depth + (1 if via_peering else 0)))
            if not wanted:
                return
            for key, (_, depth) in wanted.items():
                self.depth.setdefault(key, depth)
            frontier = self.fetch(ref for ref, _ in wanted.values())

    # -- the two modes --------------------------------------------------------------------------
    def scope(self, resource_groups: list[str], *, effective: bool) -> None:
        kql = scope_query(resource_groups)
        for sub in self.subscriptions:
            self.add(self.query([sub], kql, f"subscription {sub}"))
        in_scope = list(self.rows.values())
        self.closure(in_scope)
        self.power_states()
        self.collect_admin_rules()
        if effective:
            nics = [r for r in in_scope if graph.row_type(r) == NETWORK_INTERFACES]
            self.collect_effective(nics)

    def pair(self, endpoints: list[str], *, effective: bool) -> None:
        subs = self.subscriptions
        seeds: list[Any] = []
        addresses: list[str] = []
        for text in endpoints:
            found = self.resolve(text, subs)
            if not found:
                self.warn(
                    "ENDPOINT_NOT_FOUND",
                    f"no VM or network interface matches {text!r} in the subscriptions read",
                    resource=text if text.startswith("/") else None,
                )
            seeds.extend(found)
            if _is_ip(text):
                addresses.append(text)
        self.closure(seeds)
        endpoint_nics = self._endpoint_nics(seeds)
        # Every NIC that holds one of the pair's addresses (duplicate IPs), and every NIC that is
        # a next hop of a route table on the way (virtual appliances).
        for nic in endpoint_nics:
            addresses.extend(graph.private_addresses(nic))
        for row in list(self.rows.values()):
            if graph.row_type(row) == "microsoft.network/routetables":
                addresses.extend(graph.appliance_addresses(row))
        # Only NICs in the VNets read so far: 10.0.0.4 exists in most VNets of an estate.
        vnets = {k for k, r in self.rows.items() if graph.row_type(r) == VIRTUAL_NETWORKS}
        if addresses:
            found = [
                row
                for row in self.query(subs, nic_ip_query(unique(addresses)), "NICs by address")
                if any(fold(ref) in vnets for ref, _ in graph.references(row))
            ]
            self.closure(self.add(found, depth=1), peering=False)
        # The gateways of the VNets read (found by their subnet, not by the VNets' back-references,
        # which can lag), and the connections of those gateways.
        vnets = {k for k, r in self.rows.items() if graph.row_type(r) == VIRTUAL_NETWORKS}
        gateways = [
            row for row in self.query(subs, type_query(GATEWAYS), "virtual network gateways")
            if any(fold(ref) in vnets for ref, _ in graph.references(row))
        ]
        self.closure(self.add(gateways, depth=1), peering=False)
        gateway_keys = {k for k, r in self.rows.items() if graph.row_type(r) == GATEWAYS}
        if gateway_keys:
            connections = [
                row for row in self.query(subs, type_query(CONNECTIONS), "connections")
                if any(fold(ref) in gateway_keys for ref, _ in graph.references(row))
            ]
            self.closure(self.add(connections, depth=1), peering=False)
        self.power_states()
        self.collect_admin_rules()
        if effective:
            self.collect_effective(endpoint_nics)

    def resolve(self, text: str, subscriptions: list[str]) -> list[Any]:
        if text.startswith("/"):
            return self.fetch([graph.top_level(text)])
        if _is_ip(text):
            return self.add(self.query(subscriptions, nic_ip_query([text]), f"NICs with {text}"))
        return self.add(self.query(subscriptions, vm_name_query(text), f"VM {text}"))

    def _endpoint_nics(self, seeds: Iterable[Mapping[str, Any]]) -> list[Any]:
        out: dict[str, Any] = {}
        for row in seeds:
            kind = graph.row_type(row)
            if kind == NETWORK_INTERFACES:
                out[fold(str(row["id"]))] = row
            elif kind == VIRTUAL_MACHINES:
                for ref in graph.network_interfaces(row):
                    nic = self.rows.get(fold(ref.strip().rstrip("/")))
                    if nic is not None:
                        out[fold(ref)] = nic
        return list(out.values())

    # -- power state ----------------------------------------------------------------------------
    def power_states(self) -> None:
        """Resource Graph usually gives a VM's power state; read the instance view otherwise."""
        missing = [
            row for row in self.rows.values()
            if graph.row_type(row) == VIRTUAL_MACHINES and graph.power_state(row) is None
        ]
        if not missing:
            return
        self.progress.start("power", "VM power states (instance views)", len(missing))
        for row in missing:
            self._instance_view(row)
            self.progress.advance("power")
        self.progress.finish("power")

    def _instance_view(self, row: MutableMapping[str, Any]) -> None:
        rid = str(row["id"])
        request = HttpRequest(
            "GET",
            f"{self.endpoint}{rid}",
            params={"$expand": "instanceView", "api-version": COMPUTE_API_VERSION},
        )
        response = self.arg()._send_request(request)
        code = None
        if response.status_code == 200:
            try:
                code = graph.power_state(response.json())
            except ValueError:
                code = None
            if code:
                props = row.setdefault("properties", {})
                extended = props.setdefault("extended", {})
                view = extended.setdefault("instanceView", {})
                view["powerState"] = {"code": code}
                return
        detail = (
            "its instance view has no power state" if response.status_code == 200
            else f"reading its instance view failed with HTTP {response.status_code}"
        )
        self.warn("POWER_STATE_UNKNOWN", f"power state of VM {ResourceId(rid).name!r} unknown: "
                  f"{detail}", subscription=ResourceId(rid).subscription, resource=rid)

    # -- effective security admin rules of the VNets --------------------------------------------
    def collect_admin_rules(self) -> None:
        """One envelope per VNet read: Azure's answer (every page), or the error it gave."""
        vnets = sorted(
            (str(row["id"]) for row in self.rows.values()
             if graph.row_type(row) == VIRTUAL_NETWORKS),
            key=str.casefold,
        )
        if not vnets:
            return
        self.progress.start("admin", "security admin rules of VNets", len(vnets))
        try:
            for vnet_id in vnets:
                self.admin_rules.append(self._admin_rules(vnet_id))
                self.progress.advance("admin")
        finally:
            self.progress.finish("admin")

    def _admin_rules(self, vnet_id: str) -> dict[str, Any]:
        rid = ResourceId(vnet_id)
        sub = (rid.subscription or "").casefold()
        envelope: dict[str, Any] = {"type": ENVELOPE_TYPE, "virtualNetworkId": vnet_id}
        try:
            envelope["value"] = self._admin_pages(rid)
        except ClientAuthenticationError:
            raise
        except HttpResponseError as exc:
            codes = _error_codes(exc)
            envelope["error"] = {
                "status": exc.status_code,
                "code": codes[0] if codes else None,
                "message": scrub(_error_message(exc), limit=300),
            }
            if exc.status_code == 403:
                self.warn(
                    "ADMIN_RULES_FORBIDDEN",
                    f"security admin rules of VNet {rid.name!r} unknown: the identity lacks "
                    f"{ADMIN_RULES_ACTION} (Reader does not grant it; see docs/collect.md)",
                    subscription=sub,
                    resource=vnet_id,
                )
            else:
                self.warn(
                    "ADMIN_RULES_FAILED",
                    f"security admin rules of VNet {rid.name!r} unknown: {_describe(exc)}",
                    subscription=sub,
                    resource=vnet_id,
                )
        except AzureApiError as exc:
            envelope["error"] = {"status": None, "code": None, "message": str(exc)}
            self.warn(
                "ADMIN_RULES_FAILED",
                f"security admin rules of VNet {rid.name!r} unknown: {exc}",
                subscription=sub,
                resource=vnet_id,
            )
        return envelope

    def _admin_pages(self, rid: ResourceId) -> list[Any]:
        """Every page of ``listNetworkManagerEffectiveSecurityAdminRules`` for one VNet: the
        request body carries the previous page's ``skipToken``."""
        client = self.network((rid.subscription or "").casefold())
        value: list[Any] = []
        token: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            body: dict[str, Any] = {} if token is None else {"skipToken": token}
            answer = client.list_network_manager_effective_security_admin_rules(
                rid.resource_group, rid.name, body, cls=_raw_json
            )
            page = answer.get("value") if isinstance(answer, dict) else None
            if not isinstance(page, list):
                raise AzureApiError("Azure's answer is not {\"value\": [...]}")
            value.extend(page)
            next_token = answer.get("skipToken") or None
            if next_token is None:
                return value
            token = str(next_token)
            if token in seen:
                raise AzureApiError("Azure returned the same skip token twice")
            seen.add(token)
        raise AzureApiError(f"paging did not end after {MAX_PAGES} pages")

    # -- effective routes and security rules ----------------------------------------------------
    def collect_effective(self, nics: Sequence[Mapping[str, Any]]) -> None:
        plan: list[tuple[str, ResourceId]] = []
        for nic in nics:
            rid = ResourceId(str(nic["id"]))
            vm_ref = graph.attached_vm(nic)
            if vm_ref is None or rid.subscription is None or rid.resource_group is None:
                continue  # Azure computes effective rules only for NICs attached to a VM
            vm = self.rows.get(fold(vm_ref.strip().rstrip("/")))
            state = graph.power_state(vm) if vm is not None else None
            if state is not None and state.casefold() != "powerstate/running":
                self.warn(
                    "EFFECTIVE_SKIPPED",
                    f"effective routes/NSGs of NIC {rid.name!r} not read: its VM is "
                    f"{state.split('/', 1)[-1]} (Azure computes them only for running VMs)",
                    subscription=rid.subscription,
                    resource=str(rid),
                )
                continue
            plan.append((str(nic["id"]), rid))
        if not plan:
            return
        self.progress.start("effective", "effective routes and NSGs", len(plan) * 2)
        forbidden: set[tuple[str, str]] = set()
        for start in range(0, len(plan), EFFECTIVE_WINDOW):
            pollers: list[tuple[str, ResourceId, str, Any]] = []
            for nic_id, rid in plan[start : start + EFFECTIVE_WINDOW]:
                sub = (rid.subscription or "").casefold()
                for kind in EFFECTIVE_KINDS:
                    if (sub, kind) in forbidden:
                        self.progress.advance("effective")
                        continue
                    try:
                        pollers.append((nic_id, rid, kind, self._begin(kind, rid)))
                    except HttpResponseError as exc:
                        self._effective_error(rid, kind, exc, forbidden)
                        self.progress.advance("effective")
            for nic_id, rid, kind, poller in pollers:
                try:
                    poller.wait(EFFECTIVE_TIMEOUT)
                    if not poller.done():
                        self.warn("EFFECTIVE_FAILED", f"{kind} of NIC {rid.name!r} did not "
                                  f"finish within {EFFECTIVE_TIMEOUT:.0f} s",
                                  subscription=rid.subscription, resource=nic_id)
                        continue
                    result = poller.result()
                except HttpResponseError as exc:
                    self._effective_error(rid, kind, exc, forbidden)
                    continue
                finally:
                    self.progress.advance("effective")
                if not isinstance(result, dict):
                    self.warn("EFFECTIVE_FAILED", f"{kind} of NIC {rid.name!r}: Azure's answer "
                              "is not a JSON object", subscription=rid.subscription,
                              resource=nic_id)
                    continue
                self.effective.setdefault(nic_id, {})[kind] = result
        self.progress.finish("effective")

    def _begin(self, kind: str, rid: ResourceId) -> Any:
        """Start one effective-rules operation; its result is Azure's JSON answer, untouched
        (``cls``: whatever model generation the installed SDK has)."""
        nics = self.network((rid.subscription or "").casefold()).network_interfaces
        begin = (
            nics.begin_get_effective_route_table
            if kind == "effectiveRouteTable"
            else nics.begin_list_effective_network_security_groups
        )
        return begin(rid.resource_group, rid.name, cls=_raw_json)

    def _effective_error(
        self, rid: ResourceId, kind: str, exc: HttpResponseError, forbidden: set[tuple[str, str]]
    ) -> None:
        if isinstance(exc, ClientAuthenticationError):
            raise exc
        sub = (rid.subscription or "").casefold()
        if exc.status_code == 403:
            forbidden.add((sub, kind))
            self.warn(
                "EFFECTIVE_FORBIDDEN",
                f"{kind} not read in subscription {sub}: the identity lacks "
                f"{_ACTIONS[kind]} (Reader does not grant it; see docs/collect.md)",
                subscription=sub,
            )
            return
        self.warn("EFFECTIVE_FAILED", f"{kind} of NIC {rid.name!r} failed: {_describe(exc)}",
                  subscription=sub, resource=str(rid))


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
def _raw_json(pipeline_response: Any, deserialized: Any, headers: Any) -> Any:
    return pipeline_response.http_response.json()


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _error_codes(exc: HttpResponseError) -> list[str]:
    codes: list[str] = []
    error = getattr(exc, "error", None)
    if error is not None:
        codes.append(str(getattr(error, "code", "") or ""))
        codes.extend(str(getattr(d, "code", "") or "") for d in getattr(error, "details", ()) or ())
    body = _error_body(exc)
    node = body.get("error") if isinstance(body, dict) else None
    if isinstance(node, dict):
        codes.append(str(node.get("code") or ""))
        for detail in node.get("details") or ():
            if isinstance(detail, dict):
                codes.append(str(detail.get("code") or ""))
    return [c for c in codes if c]


def _error_body(exc: HttpResponseError) -> Any:
    try:
        return json.loads(exc.response.text()) if exc.response is not None else None
    except (ValueError, AttributeError, TypeError):
        return None


def _error_message(exc: HttpResponseError) -> str:
    body = _error_body(exc)
    node = body.get("error") if isinstance(body, dict) else None
    if isinstance(node, dict) and node.get("message"):
        return str(node["message"])
    return str(exc.message or exc.reason or "")


def _unreadable(exc: HttpResponseError) -> bool:
    if exc.status_code == 403:
        return True
    return exc.status_code in (400, 404) and any(
        c.casefold() in UNREADABLE_CODES for c in _error_codes(exc)
    )


def _describe(exc: HttpResponseError) -> str:
    codes = _error_codes(exc)
    code = codes[0] if codes else ""
    return scrub(f"HTTP {exc.status_code} {code}: {_error_message(exc)}", limit=300)


def _api_error(exc: HttpResponseError) -> AzureApiError:
    request = getattr(exc.response, "request", None)
    method, url = getattr(request, "method", None), getattr(request, "url", None)
    where = f" to {method} {display_url(url)}" if method and isinstance(url, str) else ""
    status = exc.status_code
    advice = ""
    if status == 429:
        advice = f" (still throttled after {_transport.MAX_RETRIES} retries; run again later)"
    elif status is not None and status >= 500:
        advice = f" (still failing after {_transport.MAX_RETRIES} retries; run again later)"
    codes = _error_codes(exc)
    return AzureApiError(
        f"Azure answered{where}: {_describe(exc)}{advice}",
        status=status,
        code=codes[0] if codes else None,
    )


def iter_rows(document: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The resources of a snapshot document."""
    yield from document.get("value") or ()


__all__ = ["Collection", "collect_pair", "collect_scope", "iter_rows"]
