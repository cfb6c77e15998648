"""The finding-code catalogue: every code vnetdoctor reports, with its step, default status, title
and fix.

Codes are public API (scripts match on them): they never change meaning and are never reused. This
module sits below the engine and the runbook so that both read the same defaults; the engine never
keeps a copy of its own.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

import msgspec


class Status(StrEnum):
    """A step's (or a finding's) outcome. Order of precedence: error > fail > unknown > warn > pass.

    ``error`` is no fact about the network: the step raised (a bug in vnetdoctor). The verdict
    counts it as ``unknown``, since the step said nothing.
    """

    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    UNKNOWN = "unknown"
    SKIP = "skip"
    ERROR = "error"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class CodeSpec(msgspec.Struct, frozen=True):
    step: int
    status: Status
    title: str
    remediation: str = ""


_F, _W, _U, _P, _E = Status.FAIL, Status.WARN, Status.UNKNOWN, Status.PASS, Status.ERROR

CODES: Final[dict[str, CodeSpec]] = {
    # 1 nic
    "VM_NOT_RUNNING": CodeSpec(
        1, _F, "The VM is not running", "Start the VM; a stopped or deallocated VM has no network."
    ),
    "VM_POWER_UNKNOWN": CodeSpec(
        1,
        _U,
        "The VM's power state is not in the snapshot",
        "Export VMs with their instance view (`az vm list -d`, or Resource "
        "Graph's properties.extended.instanceView).",
    ),
    "VMSS_INSTANCE_MODEL_STALE": CodeSpec(
        1,
        _W,
        "The scale-set instance is behind its scale set's model",
        "Upgrade the instance to the latest model (`az vmss update-instances`), or keep in mind "
        "that its own NIC, not the model, decides its traffic until then.",
    ),
    "NIC_NOT_FOUND": CodeSpec(
        1,
        _U,
        "A network interface is missing from the snapshot",
        "Attach a NIC, or add the NIC's JSON to the snapshot if it exists.",
    ),
    "NIC_PROVISIONING_FAILED": CodeSpec(
        1,
        _W,
        "The NIC's last update failed",
        "Re-apply the NIC (`az network nic update`) and check "
        "the activity log for the failed operation.",
    ),
    "NIC_GUEST_IP_MISMATCH": CodeSpec(
        1,
        _F,
        "The guest's IP differs from the Azure NIC's",
        "Use DHCP in the guest; Azure delivers only to the IP it assigned to the NIC.",
    ),
    "NIC_DUPLICATE_IP": CodeSpec(
        1,
        _F,
        "Another NIC in a connected network uses the same IP",
        "Re-address one side; overlapping addresses cannot be routed.",
    ),
    "NIC_NO_IP": CodeSpec(
        1,
        _F,
        "The NIC has no private IP address",
        "Give the ip configuration a private IP (Dynamic or Static).",
    ),
    # 2 nsg-udr
    "NSG_DENY": CodeSpec(
        2,
        _F,
        "A network security group rule denies the flow",
        "Add an allow rule with a lower priority number than the deny rule, or "
        "narrow the deny rule.",
    ),
    "NSG_UNKNOWN": CodeSpec(2, _U, "An NSG decision cannot be made from the snapshot"),
    "ROUTE_NONE": CodeSpec(
        2,
        _F,
        "A route sends the traffic to None (dropped)",
        "Remove or change the route whose next hop is None.",
    ),
    "ROUTE_APPLIANCE_NO_IP_FORWARDING": CodeSpec(
        2,
        _F,
        "The virtual appliance's NIC does not forward IP traffic",
        "Enable IP forwarding on the appliance NIC (and inside its OS).",
    ),
    "ROUTE_APPLIANCE_MISSING": CodeSpec(
        2,
        _F,
        "The route's virtual appliance IP belongs to no NIC",
        "Point the route at the appliance's current private IP.",
    ),
    "ROUTE_LOOP": CodeSpec(
        2,
        _F,
        "The routes send the traffic round in a loop",
        "Fix the route tables so that the appliances do not point at each other.",
    ),
    "ROUTE_BLACKHOLE_INTERNET": CodeSpec(
        2,
        _F,
        "Traffic to a private address is routed to the Internet, where it is dropped",
        "Route the destination's prefix to the VNet, a peering, an appliance or a gateway.",
    ),
    "FLOW_LOG_DENIED": CodeSpec(
        2,
        _W,
        "Flow logs recorded this traffic being denied",
        "Compare the rule named in the logs with the current configuration.",
    ),
    "ROUTE_UNKNOWN": CodeSpec(2, _U, "The route decision cannot be made from the snapshot"),
    "ROUTE_ASYMMETRIC": CodeSpec(
        2,
        _W,
        "The return traffic takes a different path",
        "Make the return route go through the same appliance (stateful "
        "appliances drop asymmetric flows).",
    ),
    "ADMIN_RULE_DENY": CodeSpec(
        2,
        _F,
        "A Virtual Network Manager security admin rule denies the flow",
        "Change the admin rule (or add a higher-priority AlwaysAllow/Allow admin rule) in the "
        "network manager's security admin configuration and redeploy it; NSGs cannot override "
        "an admin Deny.",
    ),
    "LB_NO_RULE_FOR_PORT": CodeSpec(
        2,
        _F,
        "The load balancer frontend has no rule for this protocol and port",
        "Add a load-balancing rule for the frontend port (or use a port a rule serves).",
    ),
    "LB_PROBE_BLOCKED": CodeSpec(
        2,
        _F,
        "The health probe cannot reach a backend, so it is marked down",
        "Allow the probe port inbound from the AzureLoadBalancer tag (168.63.129.16) in the "
        "backend's admin rules and NSGs.",
    ),
    "LB_NO_HEALTHY_BACKEND": CodeSpec(
        2,
        _F,
        "No backend of the load-balancing rule is healthy",
        "Make at least one backend pass its health probe (probe port allowed and listening).",
    ),
    "LB_HAIRPIN": CodeSpec(
        2,
        _F,
        "The source is a backend of the internal load balancer it calls (hairpin)",
        "Call the service directly, or from a VM outside the backend pool; an ILB does not "
        "send a backend's flow back to itself.",
    ),
    "LB_GLOBAL_PEERING_BASIC": CodeSpec(
        2,
        _F,
        "A Basic load balancer frontend is unreachable over global VNet peering",
        "Upgrade the load balancer to the Standard SKU.",
    ),
    "LB_NOT_LOAD_BALANCED": CodeSpec(
        2,
        _U,
        "ICMP (and any non-TCP/UDP protocol) is not load-balanced",
        "Test the frontend with TCP or UDP on a port that a load-balancing rule serves.",
    ),
    "NO_PUBLIC_PATH": CodeSpec(
        2,
        _F,
        "No public address leads from the Internet to the destination",
        "Traffic from the Internet enters only through a public address: give the VM an "
        "instance-level public IP (with an NSG that allows the port), or a public load "
        "balancer rule or inbound NAT rule to it; if it should stay private, this is the "
        "answer you want.",
    ),
    "LB_PUBLIC_CLOSED_NO_NSG": CodeSpec(
        2,
        _F,
        "A Standard public load balancer frontend is closed: no NSG on the backend allows it",
        "Standard load balancers are secure by default: attach an NSG to the backend's subnet "
        "or NIC with an inbound rule that allows the client (the Internet tag or its public "
        "IP) to the backend port.",
    ),
    "LB_PROBE_NOT_LISTENING": CodeSpec(
        2,
        _F,
        "The backend's guest does not listen on the health probe port, so it is marked down",
        "Start the service the probe checks, or bind it to the NIC's address or 0.0.0.0 on the "
        "probe port (or point the probe at a port the service answers on).",
    ),
    "LB_PROBE_GUEST_FIREWALL_DENY": CodeSpec(
        2,
        _F,
        "The backend's guest firewall drops the health probe, so it is marked down",
        "Allow the probe port from 168.63.129.16 in the guest firewall.",
    ),
    "LB_HEALTH_UNKNOWN": CodeSpec(
        2,
        _U,
        "Whether the load balancer's backends pass their health probe cannot be told",
        "Give the missing NSG data or the backends' guest evidence (vnetdoctor probe).",
    ),
    "LB_NAT_BACKEND_UNKNOWN": CodeSpec(
        2,
        _U,
        "The backend an inbound NAT rule sends this port to is not in the snapshot",
        "Add the NIC, or the pool's port mappings (az network lb inbound-nat-rule "
        "show-backend-port-mapping), to the snapshot.",
    ),
    "FIREWALL_DENY": CodeSpec(
        2,
        _F,
        "An Azure Firewall rule denies the flow",
        "Add an allow rule in a collection processed before the deny (lower collection or "
        "group priority, or a parent policy), or narrow the deny rule.",
    ),
    "FIREWALL_NO_MATCH": CodeSpec(
        2,
        _F,
        "No Azure Firewall rule matches: the firewall denies by default",
        "Add a network rule (or an application rule for HTTP/HTTPS by host name) that allows "
        "the flow.",
    ),
    "FIREWALL_ASYMMETRIC_RETURN": CodeSpec(
        2,
        _F,
        "The reply bypasses the stateful Azure Firewall that forwarded the request",
        "Add a UDR on the destination's subnet that sends the source's prefix to the "
        "firewall's private IP (or make the firewall SNAT the flow).",
    ),
    "FIREWALL_UNKNOWN": CodeSpec(
        2,
        _U,
        "The Azure Firewall's decision cannot be made from the snapshot",
        "Give the missing policy, rule collection groups or IP groups; FQDN-based rules need "
        "the host name or DNS data.",
    ),
    "APPLIANCE_GUEST_UNKNOWN": CodeSpec(
        2,
        _U,
        "What the appliance's OS does is unknown",
        "Give the appliance's guest evidence (vnetdoctor probe) "
        "or check its forwarding and firewall.",
    ),
    # 3 guest-firewall, 4 listener, 8 network share
    "GUEST_FIREWALL_DENY": CodeSpec(
        3, _F, "The guest firewall blocks the flow", "Allow the port in the guest firewall."
    ),
    "GUEST_EVIDENCE_MISSING": CodeSpec(3, _U, "No evidence from inside the guest"),
    "GUEST_FIREWALL_UNKNOWN": CodeSpec(3, _U, "The guest firewall's decision is unknown"),
    "NO_LISTENER": CodeSpec(
        4, _F, "Nothing listens on the port", "Start the service, or correct its port."
    ),
    "LISTENER_LOOPBACK_ONLY": CodeSpec(
        4,
        _F,
        "The service listens on the loopback address only",
        "Bind the service to 0.0.0.0 or the NIC's IP.",
    ),
    "LISTENER_UNKNOWN": CodeSpec(4, _U, "Whether something listens is unknown"),
    "SMB_BLOCKED": CodeSpec(
        8, _F, "SMB (TCP 445) is blocked", "Allow TCP 445 on the path (NSGs, guest firewall)."
    ),
    "GHOST_NIC": CodeSpec(
        8,
        _W,
        "The guest has hidden (unavailable) network adapters",
        "Remove the hidden adapters in Device Manager, then reset the NIC.",
    ),
    "GUEST_FIREWALL_ALLOW": CodeSpec(3, _P, "The guest firewall accepts the flow"),
    "APPLIANCE_GUEST_FORWARDS": CodeSpec(3, _P, "The appliance's OS forwards the flow"),
    "LISTENER_OK": CodeSpec(4, _P, "A service listens on the port, on a reachable address"),
    "NIC_GUEST_IP_MATCH": CodeSpec(1, _P, "The guest holds the IP Azure assigned"),
    "NIC_GUEST_IP_UNKNOWN": CodeSpec(1, _U, "Whether the guest holds the Azure IP is unknown"),
    "GHOST_NIC_UNKNOWN": CodeSpec(8, _U, "Whether the guest has ghost NICs is unknown"),
    "GHOST_NIC_NONE": CodeSpec(8, _P, "The guest has no ghost NICs"),
    "SMB_OK": CodeSpec(8, _P, "SMB (TCP 445) is open on the path"),
    "SMB_UNKNOWN": CodeSpec(8, _U, "Whether SMB (TCP 445) gets through is unknown"),
    # 5 snat
    "SNAT_EXHAUSTION": CodeSpec(
        5,
        _F,
        "Outbound connections exceed the SNAT port budget",
        "Use a NAT gateway, more frontend IPs, or raise allocatedOutboundPorts; reuse connections.",
    ),
    "SNAT_RISK": CodeSpec(
        5,
        _W,
        "Outbound connections come close to the SNAT port budget",
        "Use a NAT gateway or more frontend IPs before demand grows.",
    ),
    "NO_OUTBOUND": CodeSpec(
        5,
        _F,
        "The VM has no way out to the Internet",
        "Add a NAT gateway, a public IP, or a load balancer outbound rule.",
    ),
    "SNAT_UNKNOWN": CodeSpec(5, _U, "SNAT demand is unknown"),
    # 6-7 classic
    "CLASSIC_ACL_DENY": CodeSpec(
        6,
        _F,
        "The classic endpoint ACL denies the source",
        "Add a permit rule for the source's subnet, ordered before any deny.",
    ),
    "CLASSIC_ACL_UNKNOWN": CodeSpec(
        6,
        _U,
        "The classic endpoint ACL is unknown",
        "Export the deployment with the Service Management API "
        "(Get Deployment XML): only it carries endpoint ACLs.",
    ),
    "CLASSIC_ENDPOINT_MISSING": CodeSpec(
        7,
        _F,
        "The classic VM has no endpoint for the port",
        "Add an input endpoint for the port and protocol.",
    ),
    # 9 inter-vnet
    "PEERING_MISSING": CodeSpec(
        9,
        _F,
        "The VNets are not peered (or one side is missing)",
        "Create the peering in both VNets.",
    ),
    "PEERING_NOT_CONNECTED": CodeSpec(
        9,
        _F,
        "The peering is not Connected",
        "Delete and re-create the peering side that is not Connected (Initiated or Disconnected).",
    ),
    "PEERING_ACCESS_DISABLED": CodeSpec(
        9,
        _F,
        "The peering blocks access to the remote VNet",
        "Set allowVirtualNetworkAccess to true on both sides.",
    ),
    "PEERING_FORWARDED_TRAFFIC_DISABLED": CodeSpec(
        9,
        _F,
        "The peering drops forwarded traffic",
        "Set allowForwardedTraffic on the receiving VNet's peering.",
    ),
    "PEERING_NOT_TRANSITIVE": CodeSpec(
        9,
        _F,
        "Peering is not transitive: the VNets are only peered through a third",
        "Peer the VNets directly, or route through an appliance in the hub.",
    ),
    "PEERING_UNKNOWN": CodeSpec(9, _U, "The remote side of a peering is not in the snapshot"),
    "ADDRESS_SPACE_OVERLAP": CodeSpec(
        9,
        _F,
        "The VNets' address spaces overlap",
        "Re-address one VNet; peered VNets must not overlap.",
    ),
    "GATEWAY_CONNECTION_DOWN": CodeSpec(
        9,
        _F,
        "The gateway connection is not Connected",
        "Check the shared key, the on-premises device and the local network gateway's address.",
    ),
    "GATEWAY_CONNECTION_UNKNOWN": CodeSpec(
        9,
        _U,
        "The gateway connection's status is unknown",
        "Read the connection's connectionStatus from Azure (a template or plan holds none): "
        "only NotConnected blocks, Unknown and Connecting prove nothing.",
    ),
    "GATEWAY_TRANSIT_MISSING": CodeSpec(
        9,
        _F,
        "The spoke cannot use the hub's gateway",
        "Set allowGatewayTransit on the hub side and useRemoteGateways on the spoke side.",
    ),
    "PRIVATE_ENDPOINT_NOT_APPROVED": CodeSpec(
        2,
        _F,
        "The private endpoint's connection is not Approved: it carries no traffic",
        "Approve the connection on the target resource (its Networking > Private endpoint "
        "connections), or recreate the endpoint with rights to auto-approve.",
    ),
    "PRIVATE_ENDPOINT_NSG_NOT_APPLIED": CodeSpec(
        2,
        _P,
        "The NSG of the private endpoint's subnet does not filter traffic to the endpoint",
        "Set the subnet's privateEndpointNetworkPolicies to Enabled or "
        "NetworkSecurityGroupEnabled if the NSG should apply.",
    ),
    "DESTINATION_NOT_FOUND": CodeSpec(
        2,
        _F,
        "No network interface holds the destination address where the route leads",
        "Check the destination IP; the route delivers it into a VNet where nobody has it.",
    ),
    # Azure Bastion as a source (docs/semantics/bastion.md), in the steps of the session flow
    "BASTION_SUBNET_INVALID": CodeSpec(
        1,
        _F,
        "The Bastion host is not in a valid AzureBastionSubnet",
        "Deploy the Bastion in a subnet named exactly AzureBastionSubnet, /26 or larger, "
        "holding nothing else.",
    ),
    "BASTION_SUBNET_NSG_INVALID": CodeSpec(
        2,
        _F,
        "The NSG on AzureBastionSubnet does not allow a flow Azure Bastion requires",
        "Add the required rules (Microsoft's 'NSG access and Azure Bastion' table) above any "
        "deny: inbound 443 from Internet, GatewayManager and AzureLoadBalancer, 8080/5701 within "
        "VirtualNetwork; outbound 22/3389 to VirtualNetwork, 443 to AzureCloud, 8080/5701 to "
        "VirtualNetwork, 80 to Internet.",
    ),
    "BASTION_TARGET_NSG_DENY": CodeSpec(
        2,
        _F,
        "The target's NSG denies the session port from the Bastion subnet",
        "Allow the port (22, 3389 or the custom port) inbound from the AzureBastionSubnet "
        "range on the target's subnet and NIC NSGs.",
    ),
    "BASTION_SUBNET_UDR": CodeSpec(
        2,
        _W,
        "A route table is attached to AzureBastionSubnet (not supported)",
        "Remove the route table from AzureBastionSubnet; Bastion supports no user-defined routes.",
    ),
    "BASTION_SKU_UNSUPPORTED_PORT": CodeSpec(
        2,
        _F,
        "The Bastion's SKU cannot open a session on this port",
        "Use 22 or 3389, or upgrade the Bastion to Standard or Premium (custom ports, native "
        "client tunnelling, IP connect).",
    ),
    "BASTION_SKU_NO_PEERING": CodeSpec(
        9,
        _F,
        "A Developer Bastion reaches only VMs in its own VNet",
        "Upgrade the Bastion to Basic or higher to reach VMs in peered VNets.",
    ),
    # 0 name-resolution (docs/semantics/dns.md): what the source resolves a name to
    "DNS_ZONE_NOT_LINKED": CodeSpec(
        0,
        _F,
        "The private DNS zone that holds the name is not linked to the resolving VNet",
        "Link the zone to the VNet (a virtual network link), or forward the zone's domain "
        "through a DNS forwarding ruleset linked to the VNet.",
    ),
    "DNS_RECORD_MISSING": CodeSpec(
        0,
        _F,
        "A linked private DNS zone has no record for the name (NXDOMAIN)",
        "Add the record (for a private endpoint: a DNS zone group), or set the link's "
        "resolutionPolicy to NxDomainRedirect on a privatelink zone to fall back to public DNS.",
    ),
    "DNS_CUSTOM_SERVER_UNKNOWN": CodeSpec(
        0,
        _U,
        "The name is sent to a custom DNS server whose answers ARM cannot show",
        "Pin what the VM resolves with --resolve NAME=IP (nslookup on the VM), or use a DNS "
        "Private Resolver inbound endpoint, which vnetdoctor models.",
    ),
    "DNS_RESOLVES_PUBLIC": CodeSpec(
        0,
        _W,
        "The name resolves to the public endpoint although an approved private endpoint exists",
        "Link the privatelink zone to the resolving VNet (or forward it) and give the private "
        "endpoint its A record.",
    ),
    "DNS_NAME_UNKNOWN": CodeSpec(
        0,
        _U,
        "No model answers the name (not in any private zone, not a known PaaS name)",
        "Pin the answer with --resolve NAME=IP, or add the zones and links to the snapshot.",
    ),
    "DNS_RESOLVED": CodeSpec(
        0,
        _P,
        "The destination name resolves; the chain says how",
    ),
    "PAAS_TARGET_UNKNOWN": CodeSpec(
        0,
        _U,
        "The PaaS resource behind the name is not in the snapshot",
        "Add the resource (and its private endpoints) to the snapshot.",
    ),
    # any step
    "INTERNAL_ERROR": CodeSpec(0, _E, "vnetdoctor failed on this step (a bug; please report it)"),
}

# Step 0 holds two kinds of code: name resolution (what the source resolves a name to, before
# the nine steps; docs/semantics/dns.md) and the codes any step may report.
NAME_RESOLUTION: Final[frozenset[str]] = frozenset({
    "DNS_ZONE_NOT_LINKED",
    "DNS_RECORD_MISSING",
    "DNS_CUSTOM_SERVER_UNKNOWN",
    "DNS_RESOLVES_PUBLIC",
    "DNS_NAME_UNKNOWN",
    "DNS_RESOLVED",
    "PAAS_TARGET_UNKNOWN",
})
