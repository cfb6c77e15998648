"""vnetdoctor: why can't VM A reach VM B? Exact, offline answers from Azure configuration.

The library is the product; the ``vnetdoctor`` command is a thin shell over it::

    import vnetdoctor
    snap = vnetdoctor.load_snapshot("estate/")
    result = vnetdoctor.diagnose(snap, "vm-web-01", "vm-db-01", 5432)
    print(result.verdict, [f.code for f in result.blockers])
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
    "UsageError": "vnetdoctor.errors",
    "Verdict": "vnetdoctor.runbook.runner",
    "VnetDoctorError": "vnetdoctor.errors",
    "build_matrix": "vnetdoctor.analyses.compose",
    "diagnose": "vnetdoctor.api",
    "effective_routes": "vnetdoctor.engine.routes",
    "effective_security_rules": "vnetdoctor.engine.nsg",
    "inventory": "vnetdoctor.vm_inventory",
    "ip_flow_verify": "vnetdoctor.engine.nsg",
    "load_guest": "vnetdoctor.api",
    "load_sample": "vnetdoctor.samples",
    "load_snapshot": "vnetdoctor.ingest.loader",
    "next_hop": "vnetdoctor.engine.routes",
    "sample_names": "vnetdoctor.samples",
    "sample_path": "vnetdoctor.samples",
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
    "UsageError",
    "Verdict",
    "VnetDoctorError",
    "__version__",
    "build_matrix",
    "diagnose",
    "effective_routes",
    "effective_security_rules",
    "inventory",
    "ip_flow_verify",
    "load_guest",
    "load_sample",
    "load_snapshot",
    "next_hop",
    "sample_names",
    "sample_path",
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
