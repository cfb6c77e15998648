"""The immutable domain model: Azure's nouns as frozen value objects. No I/O happens here."""

from vnetdoctor.model.classic import (
    AclAction,
    ClassicEndpoint,
    ClassicVirtualMachine,
    EndpointAclRule,
)
from vnetdoctor.model.compute import (
    IpConfiguration,
    NetworkInterface,
    NetworkInterfaceReference,
    PublicIpAddress,
    VirtualMachine,
)
from vnetdoctor.model.gateway import (
    BgpSettings,
    Connection,
    LocalNetworkGateway,
    VirtualNetworkGateway,
    VirtualNetworkGatewayIpConfiguration,
)
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.loadbalancer import (
    BackendAddressPool,
    FrontendIpConfiguration,
    InboundNatRule,
    LoadBalancer,
    LoadBalancerBackendAddress,
    LoadBalancingRule,
    NatGateway,
    OutboundRule,
    Probe,
)
from vnetdoctor.model.net import AddressPrefix, Flow, IPAddress, IPNetwork, PortRange, Protocol
from vnetdoctor.model.network import (
    NextHopType,
    PeeringState,
    Route,
    RouteTable,
    ServiceEndpoint,
    Subnet,
    VirtualNetwork,
    VirtualNetworkPeering,
)
from vnetdoctor.model.security import (
    Access,
    ApplicationSecurityGroup,
    Direction,
    NetworkSecurityGroup,
    SecurityRule,
)
from vnetdoctor.model.snapshot import Resources, Snapshot
from vnetdoctor.model.warnings import IngestWarning, WarningKind

__all__ = [
    "Access",
    "AclAction",
    "AddressPrefix",
    "ApplicationSecurityGroup",
    "BackendAddressPool",
    "BgpSettings",
    "ClassicEndpoint",
    "ClassicVirtualMachine",
    "Connection",
    "Direction",
    "EndpointAclRule",
    "Flow",
    "FrontendIpConfiguration",
    "IPAddress",
    "IPNetwork",
    "InboundNatRule",
    "IngestWarning",
    "IpConfiguration",
    "LoadBalancer",
    "LoadBalancerBackendAddress",
    "LoadBalancingRule",
    "LocalNetworkGateway",
    "NatGateway",
    "NetworkInterface",
    "NetworkInterfaceReference",
    "NetworkSecurityGroup",
    "NextHopType",
    "OutboundRule",
    "PeeringState",
    "PortRange",
    "Probe",
    "Protocol",
    "PublicIpAddress",
    "ResourceId",
    "Resources",
    "Route",
    "RouteTable",
    "SecurityRule",
    "ServiceEndpoint",
    "Snapshot",
    "Subnet",
    "VirtualMachine",
    "VirtualNetwork",
    "VirtualNetworkGateway",
    "VirtualNetworkGatewayIpConfiguration",
    "VirtualNetworkPeering",
    "WarningKind",
]
