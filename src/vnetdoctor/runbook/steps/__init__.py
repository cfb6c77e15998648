"""Step 0 (name resolution, only for a name as destination), then the nine steps of
"Troubleshooting connectivity problems between Azure VMs", in its order.

Imported explicitly, one module per step, so that registration order is the guide's order.
"""

from vnetdoctor.runbook.steps import (  # noqa: F401
    s00_name_resolution,
    s01_nic,
    s02_nsg_udr,
    s03_guest_firewall,
    s04_listener,
    s05_snat,
    s06_classic_acl,
    s07_classic_endpoint,
    s08_network_share,
    s09_inter_vnet,
)
