"""vnetdoctor: why can't VM A reach VM B? Exact, offline answers from Azure configuration.

The library is the product; the ``vnetdoctor`` command is a thin shell over it::

    import vnetdoctor
    snap = vnetdoctor.load_snapshot("estate/")
    result = vnetdoctor.diagnose(snap, "vm-web-01", "vm-db-01", 5432)
    print(result.verdict, [f.code for f in result.blockers])

Each input of :func:`diagnose` comes from a loader here: :func:`load_guest` gives a VM's
:class:`GuestEvidence`, :func:`load_service_tags` the service tags, :func:`snapshot_from_json`
a snapshot from documents in memory and :func:`apply_plan` the snapshot after a plan. A step
that raises (a bug) does not raise out of :func:`diagnose`: see ``Diagnosis.internal_error``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vnetdoctor.analyses.compose import (
        build_matrix,
    )
    from vnetdoctor.analyses.matrix import (
        Matrix,
    )
    from vnetdoctor.api import (
        diagnose,
        load_guest,
    )
    from vnetdoctor.engine.nsg import (
        effective_security_rules,
        ip_flow_verify,
    )
    from vnetdoctor.engine.path import (
        Hop,
        Trace,
    )
    from vnetdoctor.engine.routes import (
        effective_routes,
        next_hop,
    )
    from vnetdoctor.errors import (
        CollectionError,
        EvidenceParseError,
        InputError,
        InternalError,
        ResourceNotFound,
        SnapshotParseError,
        UsageError,
        VnetDoctorError,
    )
    from vnetdoctor.ingest.loader import (
        load_snapshot,
        snapshot_from_json,
    )
    from vnetdoctor.ingest.preflight import (
        apply_plan,
    )
    from vnetdoctor.ingest.servicetags import (
        load_service_tags,
    )
    from vnetdoctor.model import (
        Access,
        AddressPrefix,
        Direction,
        Flow,
        IngestWarning,
        PortRange,
        Protocol,
        ResourceId,
        Snapshot,
    )
    from vnetdoctor.model.evidence import (
        GuestEvidence,
    )
    from vnetdoctor.runbook.findings import (
        Finding,
        Status,
    )
    from vnetdoctor.runbook.runner import (
        Diagnosis,
        Verdict,
    )
    from vnetdoctor.samples import (
        load_sample,
        sample_names,
        sample_path,
    )
    from vnetdoctor.vm_inventory import (
        Inventory,
        InventoryNic,
        InventoryVm,
        inventory,
    )

# Public names -> the module that defines them, imported on first use (PEP 562), so that
# `import vnetdoctor` and the CLI start fast and optional parts load only when used.
_EXPORTS: dict[str, str] = {
    "Access": "vnetdoctor.model",
    "AddressPrefix": "vnetdoctor.model",
    "CollectionError": "vnetdoctor.errors",
    "Diagnosis": "vnetdoctor.runbook.runner",
    "Direction": "vnetdoctor.model",
    "EvidenceParseError": "vnetdoctor.errors",
    "Finding": "vnetdoctor.runbook.findings",
    "Flow": "vnetdoctor.model",
    "GuestEvidence": "vnetdoctor.model.evidence",
    "Hop": "vnetdoctor.engine.path",
    "IngestWarning": "vnetdoctor.model",
    "InputError": "vnetdoctor.errors",
    "InternalError": "vnetdoctor.errors",
    "Inventory": "vnetdoctor.vm_inventory",
    "InventoryNic": "vnetdoctor.vm_inventory",
    "InventoryVm": "vnetdoctor.vm_inventory",
    "Matrix": "vnetdoctor.analyses.matrix",
    "PortRange": "vnetdoctor.model",
    "Protocol": "vnetdoctor.model",
    "ResourceId": "vnetdoctor.model",
    "ResourceNotFound": "vnetdoctor.errors",
    "Snapshot": "vnetdoctor.model",
    "SnapshotParseError": "vnetdoctor.errors",
    "Status": "vnetdoctor.runbook.findings",
    "Trace": "vnetdoctor.engine.path",
    "UsageError": "vnetdoctor.errors",
    "Verdict": "vnetdoctor.runbook.runner",
    "VnetDoctorError": "vnetdoctor.errors",
    "apply_plan": "vnetdoctor.ingest.preflight",
    "build_matrix": "vnetdoctor.analyses.compose",
    "diagnose": "vnetdoctor.api",
    "effective_routes": "vnetdoctor.engine.routes",
    "effective_security_rules": "vnetdoctor.engine.nsg",
    "inventory": "vnetdoctor.vm_inventory",
    "ip_flow_verify": "vnetdoctor.engine.nsg",
    "load_guest": "vnetdoctor.api",
    "load_sample": "vnetdoctor.samples",
    "load_service_tags": "vnetdoctor.ingest.servicetags",
    "load_snapshot": "vnetdoctor.ingest.loader",
    "next_hop": "vnetdoctor.engine.routes",
    "sample_names": "vnetdoctor.samples",
    "sample_path": "vnetdoctor.samples",
    "snapshot_from_json": "vnetdoctor.ingest.loader",
}

__version__ = "0.1.0"

__all__ = [
    "Access",
    "AddressPrefix",
    "CollectionError",
    "Diagnosis",
    "Direction",
    "EvidenceParseError",
    "Finding",
    "Flow",
    "GuestEvidence",
    "Hop",
    "IngestWarning",
    "InputError",
    "InternalError",
    "Inventory",
    "InventoryNic",
    "InventoryVm",
    "Matrix",
    "PortRange",
    "Protocol",
    "ResourceId",
    "ResourceNotFound",
    "Snapshot",
    "SnapshotParseError",
    "Status",
    "Trace",
    "UsageError",
    "Verdict",
    "VnetDoctorError",
    "__version__",
    "apply_plan",
    "build_matrix",
    "diagnose",
    "effective_routes",
    "effective_security_rules",
    "inventory",
    "ip_flow_verify",
    "load_guest",
    "load_sample",
    "load_service_tags",
    "load_snapshot",
    "next_hop",
    "sample_names",
    "sample_path",
    "snapshot_from_json",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vnetdoctor' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
