"""Live, read-only collection of an Azure estate (the optional extra ``vnetdoctor[azure]``).

::

    from vnetdoctor.collect import collect, collect_for_pair

    result = collect(["<subscription id>"], resource_groups=["rg-app"], effective=True)
    result.write("estate.json")                      # atomic; `vnetdoctor ... -s estate.json`
    snapshot = collect_for_pair(["<subscription id>"], "vm-web-01", "vm-db-01")

Importing this package does not import the Azure SDK; the functions check for it and raise
:class:`MissingAzureExtra` (exit code 2, with the ``pip install`` line) when it is absent.
Authentication is azure-identity's ``DefaultAzureCredential`` unless a credential is given; pass
``transport=`` (an azure-core ``HttpTransport``) to replay recorded answers in tests. Whatever the
transport, only reads leave the process (see :mod:`vnetdoctor.collect.scope`).
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from vnetdoctor.collect.document import (
    CollectionWarning,
    build_document,
    collection_meta,
    collection_warnings,
    ingest_warnings,
    write_document,
)
from vnetdoctor.collect.errors import (
    INSTALL_HINT,
    AuthenticationFailed,
    AzureApiError,
    MissingAzureExtra,
    ReadOnlyViolation,
)
from vnetdoctor.collect.progress import NullProgress, ProgressSink, RichProgress

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.core.pipeline.transport import HttpTransport

    from vnetdoctor.collect.collector import Collection
    from vnetdoctor.model.snapshot import Snapshot

# A library logs, the application decides where to (warnings are also in the result).
logging.getLogger("vnetdoctor.collect").addHandler(logging.NullHandler())

# The modules of the extra ``azure`` that collection imports.
REQUIRED_MODULES: Final = (
    "azure.core",
    "azure.identity",
    "azure.mgmt.core",
    "azure.mgmt.resourcegraph",
    "azure.mgmt.network",
)


def require_azure() -> None:
    """Raise :class:`MissingAzureExtra` unless the Azure SDK modules are importable."""
    for name in REQUIRED_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise MissingAzureExtra(name)
    # The SDK logs its own multi-line warnings (every credential DefaultAzureCredential tried);
    # vnetdoctor says what went wrong in one line, and --debug shows the traceback.
    azure_logger = logging.getLogger("azure")
    if not any(isinstance(h, logging.NullHandler) for h in azure_logger.handlers):
        azure_logger.addHandler(logging.NullHandler())


def collect(
    subscriptions: Sequence[str],
    resource_groups: Sequence[str] = (),
    *,
    effective: bool = False,
    credential: TokenCredential | None = None,
    transport: HttpTransport[Any, Any] | None = None,
    progress: ProgressSink | None = None,
) -> Collection:
    """Read every network and VM resource of ``subscriptions`` (optionally of some resource
    groups), what they refer to elsewhere (peered VNets, one hop), the VMs' power states, the
    effective security admin rules of every VNet read and, with ``effective``, the effective
    routes and NSGs of the VMs' NICs.

    A subscription the identity cannot read becomes a warning. Raises
    :class:`~vnetdoctor.errors.CollectionError` (exit code 4) when Azure cannot be read at all.
    Write the result with :meth:`Collection.write`.
    """
    require_azure()
    from vnetdoctor.collect.collector import collect_scope

    return collect_scope(
        subscriptions,
        resource_groups,
        effective=effective,
        credential=credential,
        transport=transport,
        progress=progress,
    )


def collect_pair(
    subscriptions: Sequence[str],
    source: str,
    destination: str,
    *,
    effective: bool = False,
    credential: TokenCredential | None = None,
    transport: HttpTransport[Any, Any] | None = None,
    progress: ProgressSink | None = None,
) -> Collection:
    """:func:`collect_for_pair`, returning the :class:`Collection` (document, warnings, request
    statistics) rather than the snapshot, e.g. to write it with ``.write(path)``."""
    require_azure()
    from vnetdoctor.collect.collector import collect_pair as _collect_pair

    return _collect_pair(
        subscriptions,
        source,
        destination,
        effective=effective,
        credential=credential,
        transport=transport,
        progress=progress,
    )


def collect_for_pair(
    subscriptions: Sequence[str],
    source: str,
    destination: str,
    *,
    effective: bool = False,
    credential: TokenCredential | None = None,
    transport: HttpTransport[Any, Any] | None = None,
    progress: ProgressSink | None = None,
) -> Snapshot:
    """Collect what a diagnosis of ``source`` -> ``destination`` needs, as a :class:`Snapshot`.

    ``source`` and ``destination`` are each a VM name, a VM or NIC resource id, or a private IP
    address. Collected: the matching VMs and NICs; every NIC holding the pair's private addresses
    (duplicate IPs); their NSGs, subnets, VNets, route tables, public IPs, application security
    groups and load balancers; the VNets peered with theirs (one hop) and the gateways and
    connections of those VNets; the NICs of virtual appliances the route tables send traffic to;
    the VMs' power states; the effective security admin rules of every VNet read (Virtual
    Network Manager); with ``effective``, Azure's effective routes and NSGs of the pair's
    NICs (kept in the collection document; the snapshot model has no place for them yet).

    What could not be read (a subscription without access, a name that matched nothing) is among
    ``snapshot.warnings`` as an ingest warning whose message starts with ``live collection:``.
    """
    return collect_pair(
        subscriptions,
        source,
        destination,
        effective=effective,
        credential=credential,
        transport=transport,
        progress=progress,
    ).snapshot()


def __getattr__(name: str) -> Any:
    if name == "Collection":
        require_azure()
        from vnetdoctor.collect.collector import Collection

        return Collection
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "INSTALL_HINT",
    "REQUIRED_MODULES",
    "AuthenticationFailed",
    "AzureApiError",
    "CollectionWarning",
    "MissingAzureExtra",
    "NullProgress",
    "ProgressSink",
    "ReadOnlyViolation",
    "RichProgress",
    "build_document",
    "collect",
    "collect_for_pair",
    "collect_pair",
    "collection_meta",
    "collection_warnings",
    "ingest_warnings",
    "require_azure",
    "write_document",
]
