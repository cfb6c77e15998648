"""vnetdoctor: why can't VM A reach VM B? Exact, offline answers from Azure configuration.

The library is the product; the ``vnetdoctor`` command is a thin shell over it::

    import vnetdoctor
    snap = vnetdoctor.load_snapshot("estate/")
    for row in vnetdoctor.inventory(snap).vms:
        print(row.name, row.power_state)
"""

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
from vnetdoctor.ingest.loader import load_snapshot
from vnetdoctor.inventory import Inventory, InventoryNic, InventoryVm, inventory
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
from vnetdoctor.samples import load_sample, sample_names, sample_path

__version__ = "0.1.0"

__all__ = [
    "Access",
    "AddressPrefix",
    "CollectionError",
    "Direction",
    "EvidenceParseError",
    "Flow",
    "IngestWarning",
    "InputError",
    "InternalError",
    "Inventory",
    "InventoryNic",
    "InventoryVm",
    "PortRange",
    "Protocol",
    "ResourceId",
    "ResourceNotFound",
    "Snapshot",
    "SnapshotParseError",
    "UsageError",
    "VnetDoctorError",
    "__version__",
    "inventory",
    "load_sample",
    "load_snapshot",
    "sample_names",
    "sample_path",
]
