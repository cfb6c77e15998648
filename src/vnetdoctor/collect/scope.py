"""What to read and how to ask for it: argument validation, the Resource Graph queries (KQL), and
the read-only rule every request must pass. Pure functions: no Azure SDK, no I/O.

Every value placed in a query is validated first (subscription ids are GUIDs, resource group names
follow ARM's grammar) and then quoted, so no argument can change a query's meaning.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from typing import Final
from urllib.parse import urlsplit

from vnetdoctor.errors import UsageError

ARM_ENDPOINT: Final = "https://management.azure.com"

# API version of the one raw GET (a VM's instance view, for its power state).
COMPUTE_API_VERSION: Final = "2024-07-01"

# What a snapshot needs (DESIGN.md, "Snapshot input"), plus resources that sit on a path and that
# later analyses may use. Resource Graph lower-cases types.
COLLECTED_TYPES: Final[tuple[str, ...]] = (
    "microsoft.network/virtualnetworks",
    "microsoft.network/networkinterfaces",
    "microsoft.network/networksecuritygroups",
    "microsoft.network/routetables",
    "microsoft.network/applicationsecuritygroups",
    "microsoft.network/publicipaddresses",
    "microsoft.network/loadbalancers",
    "microsoft.network/natgateways",
    "microsoft.network/virtualnetworkgateways",
    "microsoft.network/connections",
    "microsoft.network/localnetworkgateways",
    "microsoft.network/azurefirewalls",
    "microsoft.network/networkvirtualappliances",
    "microsoft.network/virtualhubs",
    "microsoft.network/privateendpoints",
    "microsoft.network/applicationgateways",
    "microsoft.network/bastionhosts",
    "microsoft.compute/virtualmachines",
    "microsoft.classiccompute/virtualmachines",
)
VIRTUAL_MACHINES: Final = "microsoft.compute/virtualmachines"
NETWORK_INTERFACES: Final = "microsoft.network/networkinterfaces"
CONNECTIONS: Final = "microsoft.network/connections"
GATEWAYS: Final = "microsoft.network/virtualnetworkgateways"
VIRTUAL_NETWORKS: Final = "microsoft.network/virtualnetworks"

# Resource Graph columns kept in the snapshot (``id`` is a string column, so skip tokens work).
PROJECTION: Final = (
    "id, name, type, kind, location, resourceGroup, subscriptionId, tags, sku, zones, properties"
)
PAGE_SIZE: Final = 1000  # Resource Graph's maximum rows per page

_RESOURCE_GROUP = re.compile(r"^[-\w._()]{1,90}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# ---------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------
def parse_subscription(text: str) -> str:
    """A subscription id (a GUID, optionally as ``/subscriptions/GUID``), lower-cased."""
    value = text.strip().rstrip("/")
    if value.casefold().startswith("/subscriptions/"):
        value = value[len("/subscriptions/") :]
    try:
        parsed = uuid.UUID(value) if len(value) == 36 else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise UsageError(
            f"--subscription: {text!r} is not a subscription id "
            "(a GUID such as 00000000-0000-0000-0000-000000000000; `az account list -o table`)"
        )
    return str(parsed)


def parse_resource_group(text: str) -> str:
    """A resource group name as ARM allows it: 1-90 letters, digits, ``_-.()``, no final dot."""
    value = text.strip()
    if not _RESOURCE_GROUP.match(value) or value.endswith("."):
        raise UsageError(f"--resource-group: {text!r} is not a valid resource group name")
    return value


def unique(items: Iterable[str]) -> list[str]:
    """Items in first-seen order, without case-insensitive duplicates."""
    seen: dict[str, str] = {}
    for item in items:
        seen.setdefault(item.casefold(), item)
    return list(seen.values())


# ---------------------------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------------------------
def kql_string(value: str) -> str:
    """A KQL string literal. Control characters are refused; quotes and backslashes escaped."""
    if _CONTROL.search(value):
        raise UsageError(f"control characters are not allowed in {value!r}")
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _list(values: Iterable[str]) -> str:
    return "(" + ", ".join(kql_string(v) for v in values) + ")"


def _query(*clauses: str) -> str:
    """One clause per line; every query ends with the projection and a stable order by id."""
    return "\n".join(
        ["Resources", *(f"| {c}" for c in clauses), f"| project {PROJECTION}", "| order by id asc"]
    )


def scope_query(resource_groups: Sequence[str] = ()) -> str:
    """Every collected resource of a subscription (optionally of some resource groups)."""
    clauses = [f"where type in~ {_list(COLLECTED_TYPES)}"]
    if resource_groups:
        clauses.append(f"where resourceGroup in~ {_list(resource_groups)}")
    return _query(*clauses)


def ids_query(ids: Sequence[str]) -> str:
    """The resources with these ids (any type)."""
    return _query(f"where id in~ {_list(ids)}")


def type_query(resource_type: str) -> str:
    """Every resource of one type."""
    return _query(f"where type =~ {kql_string(resource_type)}")


def vm_name_query(name: str) -> str:
    """Virtual machines with this name (case-insensitively)."""
    return _query(
        f"where type =~ {kql_string(VIRTUAL_MACHINES)}", f"where name =~ {kql_string(name)}"
    )


def nic_ip_query(addresses: Sequence[str]) -> str:
    """Network interfaces holding any of these private IP addresses."""
    return _query(
        f"where type =~ {kql_string(NETWORK_INTERFACES)}",
        "mv-expand ipconfig = properties.ipConfigurations",
        f"where tostring(ipconfig.properties.privateIPAddress) in {_list(addresses)}",
    )


# ---------------------------------------------------------------------------------------------
# The read-only rule
# ---------------------------------------------------------------------------------------------
READ_METHODS: Final = frozenset({"GET", "HEAD"})
# The only POSTs vnetdoctor sends. All four compute an answer and change nothing (the last is
# RBAC's Microsoft.Network/virtualNetworks/listNetworkManagerEffectiveSecurityAdminRules/action).
READ_ONLY_POSTS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    ("Resource Graph query", re.compile(r"^/providers/microsoft\.resourcegraph/resources$", re.I)),
    (
        "effective routes of a network interface",
        re.compile(
            r"^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.network/"
            r"networkinterfaces/[^/]+/effectiveroutetable$",
            re.I,
        ),
    ),
    (
        "effective security rules of a network interface",
        re.compile(
            r"^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.network/"
            r"networkinterfaces/[^/]+/effectivenetworksecuritygroups$",
            re.I,
        ),
    ),
    (
        "effective security admin rules of a virtual network",
        re.compile(
            r"^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.network/"
            r"virtualnetworks/[^/]+/listnetworkmanagereffectivesecurityadminrules$",
            re.I,
        ),
    ),
)
_OVERRIDE_HEADERS: Final = ("x-http-method-override", "x-http-method", "x-method-override")


def read_only_refusal(
    method: str, url: str, headers: Iterable[str] = (), *, host: str = "management.azure.com"
) -> str | None:
    """Why this request is not a read (``None`` when it is one).

    A read is a GET or HEAD, or one of :data:`READ_ONLY_POSTS`, over HTTPS to Azure Resource
    Manager itself, without a method-override header.
    """
    parts = urlsplit(url)
    if parts.scheme != "https" or (parts.hostname or "").casefold() != host.casefold():
        return f"only https://{host} is read"
    if any(h.casefold() in _OVERRIDE_HEADERS for h in headers):
        return "method-override headers are not sent"
    verb = method.upper()
    if verb in READ_METHODS:
        return None
    if verb == "POST" and any(p.match(parts.path.rstrip("/")) for _, p in READ_ONLY_POSTS):
        return None
    return "not a read"


def display_url(url: str) -> str:
    """A URL for messages: path only (query strings of polling URLs carry signatures)."""
    parts = urlsplit(url)
    return parts.path or url.split("?", 1)[0]


__all__ = [
    "ARM_ENDPOINT",
    "COLLECTED_TYPES",
    "PAGE_SIZE",
    "PROJECTION",
    "READ_ONLY_POSTS",
    "display_url",
    "ids_query",
    "kql_string",
    "nic_ip_query",
    "parse_resource_group",
    "parse_subscription",
    "read_only_refusal",
    "scope_query",
    "type_query",
    "unique",
    "vm_name_query",
]
