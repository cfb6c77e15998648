"""The tag algebra of the NSG rules Bastion requires (docs/semantics/bastion.md#bas-2)."""

from __future__ import annotations

import ipaddress

import pytest

from vnetdoctor.engine.bastion import REQUIRED, Match, covers, required_flow
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import AddressPrefix, PortRange, Protocol
from vnetdoctor.model.security import Access, Direction, NetworkSecurityGroup, SecurityRule

SUBNET = ipaddress.ip_network("10.0.254.0/26")
BASTION_SUBNET = "the Bastion subnet"


@pytest.mark.parametrize(("spec", "endpoint", "expected"), [
    ("*", "GatewayManager", Match.YES),
    ("GatewayManager", "GatewayManager", Match.YES),
    ("gatewaymanager", "GatewayManager", Match.YES),
    ("Internet", "GatewayManager", Match.YES),
    ("Internet", "AzureCloud", Match.YES),
    ("AzureCloud", "GatewayManager", Match.YES),
    ("GatewayManager", "AzureCloud", Match.NO),
    ("VirtualNetwork", "AzureLoadBalancer", Match.YES),
    ("VirtualNetwork", BASTION_SUBNET, Match.YES),
    ("VirtualNetwork", "Internet", Match.NO),
    ("Storage", "AzureCloud", Match.NO),
    ("168.63.129.16", "AzureLoadBalancer", Match.YES),
    ("10.0.0.0/8", "AzureLoadBalancer", Match.NO),
    ("10.0.0.0/8", "GatewayManager", Match.NO),
    ("20.0.0.0/8", "GatewayManager", Match.MAYBE),
    ("10.0.254.0/24", BASTION_SUBNET, Match.YES),
    ("10.0.254.0/27", BASTION_SUBNET, Match.MAYBE),
    ("10.9.0.0/16", BASTION_SUBNET, Match.NO),
    ("10.0.0.0/16", "VirtualNetwork", Match.MAYBE),
])
def test_covers(spec: str, endpoint: str, expected: Match) -> None:
    assert covers(AddressPrefix.parse(spec), endpoint, SUBNET) is expected


def _rule(name: str, priority: int, access: Access, source: str,
          asg: bool = False) -> SecurityRule:
    return SecurityRule(
        id=None, name=name, priority=priority, direction=Direction.INBOUND, access=access,
        protocol=Protocol.TCP,
        source_address_prefixes=() if asg else (AddressPrefix.parse(source),),
        source_application_security_groups=(ResourceId("/x/asg"),) if asg else (),
        destination_address_prefixes=(AddressPrefix.parse("*"),),
        source_port_ranges=(PortRange.parse("*"),), destination_port_ranges=(PortRange(443, 443),))


GATEWAY_MANAGER = next(r for r in REQUIRED if r.rule == "AllowGatewayManagerInbound")


def test_first_sure_rule_decides() -> None:
    nsg = NetworkSecurityGroup(id=ResourceId("/x/nsg"), name="nsg", security_rules=(
        _rule("deny-all", 200, Access.DENY, "*"),
        _rule("allow-gm", 100, Access.ALLOW, "GatewayManager"),
    ))
    found = required_flow(nsg, GATEWAY_MANAGER, 443, SUBNET)
    assert (found.access, found.rule and found.rule.name) == (Access.ALLOW, "allow-gm")


def test_uncertain_rule_with_the_other_access_before_it_is_unknown() -> None:
    nsg = NetworkSecurityGroup(id=ResourceId("/x/nsg"), name="nsg", security_rules=(
        _rule("deny-asg", 100, Access.DENY, "", asg=True),
        _rule("allow-gm", 200, Access.ALLOW, "GatewayManager"),
    ))
    found = required_flow(nsg, GATEWAY_MANAGER, 443, SUBNET)
    assert found.access is None
    assert found.rule is not None
    assert found.rule.name == "allow-gm"


def test_no_rule_at_all_is_unknown() -> None:
    nsg = NetworkSecurityGroup(id=ResourceId("/x/nsg"), name="nsg")
    assert required_flow(nsg, GATEWAY_MANAGER, 443, SUBNET).access is None
