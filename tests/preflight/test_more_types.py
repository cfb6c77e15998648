"""Load balancers, VPN gateways, NAT gateways and the NIC associations from a Terraform plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from preflight.plans import PROVIDER
from vnetdoctor.ingest.loader import load_snapshot
from vnetdoctor.ingest.preflight import apply_plan
from vnetdoctor.ingest.terraform import PLACEHOLDER_SUBSCRIPTION, changes_from_plan
from vnetdoctor.model.snapshot import Snapshot

RG = "rg-edge"
BASE = f"/subscriptions/{PLACEHOLDER_SUBSCRIPTION}/resourceGroups/{RG}/providers/Microsoft.Network"
LB = f"{BASE}/loadBalancers/lb-web"
POOL = f"{LB}/backendAddressPools/pool-web"
NIC = f"{BASE}/networkInterfaces/nic-web"
ASG = f"{BASE}/applicationSecurityGroups/asg-web"
VNET = f"{BASE}/virtualNetworks/vnet-edge"
GW = f"{BASE}/virtualNetworkGateways/vgw-edge"
LNG = f"{BASE}/localNetworkGateways/lng-onprem"
NAT = f"{BASE}/natGateways/nat-edge"
PIP_LB = f"{BASE}/publicIPAddresses/pip-lb"
PIP_GW = f"{BASE}/publicIPAddresses/pip-gw"
PIP_NAT = f"{BASE}/publicIPAddresses/pip-nat"


def _rc(address: str, after: dict[str, Any], unknown: dict[str, Any]) -> dict[str, Any]:
    rtype, name = address.split(".", 1)
    return {
        "address": address,
        "mode": "managed",
        "type": rtype,
        "name": name,
        "provider_name": PROVIDER,
        "change": {
            "actions": ["create"],
            "before": None,
            "after": after,
            "after_unknown": {"id": True, **unknown},
            "before_sensitive": False,
            "after_sensitive": {},
        },
    }


def _ref(target: str) -> dict[str, Any]:
    return {"references": [f"{target}.id", target]}


def _cfg(address: str, **expressions: Any) -> dict[str, Any]:
    rtype, name = address.split(".", 1)
    return {
        "address": address,
        "mode": "managed",
        "type": rtype,
        "name": name,
        "provider_config_key": "azurerm",
        "expressions": expressions,
    }


def _named(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "resource_group_name": RG, **extra}


def _top(name: str, **extra: Any) -> dict[str, Any]:
    return _named(name, location="West Europe", tags=None, **extra)


def edge_plan() -> dict[str, Any]:
    """One plan creating an LB (frontend, pool, rule, probe, outbound and NAT rules, a pool
    address), a NIC in the pool, the NAT rule and an ASG, a VPN gateway with a site-to-site
    connection, and a NAT gateway with its public IP."""
    changes = [
        _rc(
            "azurerm_virtual_network.edge",
            _top("vnet-edge", address_space=["10.20.0.0/16"]),
            {"subnet": True, "guid": True},
        ),
        _rc(
            "azurerm_subnet.app",
            _named("snet-app", virtual_network_name="vnet-edge", address_prefixes=["10.20.1.0/24"]),
            {"address_prefixes": [False]},
        ),
        _rc(
            "azurerm_subnet.gateway",
            _named(
                "GatewaySubnet",
                virtual_network_name="vnet-edge",
                address_prefixes=["10.20.255.0/27"],
            ),
            {"address_prefixes": [False]},
        ),
        _rc("azurerm_public_ip.lb", _top("pip-lb", sku="Standard"), {"ip_address": True}),
        _rc("azurerm_public_ip.gw", _top("pip-gw", sku="Standard"), {"ip_address": True}),
        _rc("azurerm_public_ip.nat", _top("pip-nat", sku="Standard"), {"ip_address": True}),
        _rc(
            "azurerm_lb.web",
            _top(
                "lb-web",
                sku="Standard",
                sku_tier="Regional",
                frontend_ip_configuration=[
                    {
                        "name": "fe-public",
                        "subnet_id": None,
                        "private_ip_address_version": None,
                        "public_ip_prefix_id": None,
                        "gateway_load_balancer_frontend_ip_configuration_id": None,
                    }
                ],
            ),
            {
                "frontend_ip_configuration": [
                    {
                        "id": True,
                        "public_ip_address_id": True,
                        "private_ip_address": True,
                        "private_ip_address_allocation": True,
                        "zones": True,
                    }
                ],
                "private_ip_address": True,
            },
        ),
        _rc(
            "azurerm_lb_backend_address_pool.web",
            {"name": "pool-web", "virtual_network_id": None},
            {"loadbalancer_id": True},
        ),
        _rc(
            "azurerm_lb_probe.http",
            {
                "name": "probe-http",
                "protocol": "Http",
                "port": 80,
                "request_path": "/healthz",
                "interval_in_seconds": 15,
                "number_of_probes": 2,
                "probe_threshold": 1,
            },
            {"loadbalancer_id": True},
        ),
        _rc(
            "azurerm_lb_rule.http",
            {
                "name": "rule-http",
                "frontend_ip_configuration_name": "fe-public",
                "protocol": "Tcp",
                "frontend_port": 80,
                "backend_port": 8080,
                "disable_outbound_snat": True,
                "floating_ip_enabled": False,
                "tcp_reset_enabled": True,
                "idle_timeout_in_minutes": 4,
                "load_distribution": "Default",
            },
            {"loadbalancer_id": True, "backend_address_pool_ids": True, "probe_id": True},
        ),
        _rc(
            "azurerm_lb_outbound_rule.out",
            {
                "name": "outbound-all",
                "protocol": "All",
                "allocated_outbound_ports": 1024,
                "idle_timeout_in_minutes": 4,
                "tcp_reset_enabled": True,
                "frontend_ip_configuration": [{"name": "fe-public"}],
            },
            {
                "loadbalancer_id": True,
                "backend_address_pool_id": True,
                "frontend_ip_configuration": [{"id": True}],
            },
        ),
        _rc(
            "azurerm_lb_nat_rule.ssh",
            _named(
                "nat-ssh",
                frontend_ip_configuration_name="fe-public",
                protocol="Tcp",
                frontend_port=50022,
                backend_port=22,
                floating_ip_enabled=False,
            ),
            {"loadbalancer_id": True, "backend_ip_configuration_id": True},
        ),
        _rc(
            "azurerm_lb_backend_address_pool_address.extra",
            {"name": "addr-extra", "ip_address": "10.20.1.50"},
            {"backend_address_pool_id": True, "virtual_network_id": True},
        ),
        _rc("azurerm_application_security_group.web", _top("asg-web"), {}),
        _rc(
            "azurerm_network_interface.web",
            _top(
                "nic-web",
                ip_forwarding_enabled=False,
                ip_configuration=[
                    {
                        "name": "ipconfig1",
                        "private_ip_address_allocation": "Dynamic",
                        "private_ip_address_version": "IPv4",
                        "public_ip_address_id": None,
                    }
                ],
            ),
            {"ip_configuration": [{"subnet_id": True, "private_ip_address": True}]},
        ),
        _rc(
            "azurerm_network_interface_backend_address_pool_association.web",
            {"ip_configuration_name": "ipconfig1"},
            {"network_interface_id": True, "backend_address_pool_id": True},
        ),
        _rc(
            "azurerm_network_interface_nat_rule_association.ssh",
            {"ip_configuration_name": "ipconfig1"},
            {"network_interface_id": True, "nat_rule_id": True},
        ),
        _rc(
            "azurerm_network_interface_application_security_group_association.web",
            {},
            {"network_interface_id": True, "application_security_group_id": True},
        ),
        _rc(
            "azurerm_virtual_network_gateway.vpn",
            _top(
                "vgw-edge",
                type="Vpn",
                vpn_type="RouteBased",
                sku="VpnGw1",
                generation="Generation1",
                active_active=False,
                bgp_enabled=False,
                private_ip_address_enabled=False,
                ip_configuration=[
                    {"name": "vnetGatewayConfig", "private_ip_address_allocation": "Dynamic"}
                ],
            ),
            {
                "bgp_settings": True,
                "ip_configuration": [{"subnet_id": True, "public_ip_address_id": True}],
            },
        ),
        _rc(
            "azurerm_local_network_gateway.onprem",
            _top(
                "lng-onprem",
                gateway_address="203.0.113.10",
                gateway_fqdn=None,
                address_space=["192.168.0.0/16", "172.16.0.0/12"],
                bgp_settings=[],
            ),
            {"address_space": [False, False], "bgp_settings": []},
        ),
        _rc(
            "azurerm_virtual_network_gateway_connection.s2s",
            _top(
                "cn-onprem",
                type="IPsec",
                shared_key="correct-horse-battery-staple",
                bgp_enabled=False,
                routing_weight=10,
                connection_protocol="IKEv2",
                peer_virtual_network_gateway_id=None,
                express_route_circuit_id=None,
            ),
            {"virtual_network_gateway_id": True, "local_network_gateway_id": True},
        ),
        _rc(
            "azurerm_nat_gateway.edge",
            _top("nat-edge", sku_name="Standard", idle_timeout_in_minutes=10, zones=None),
            {"resource_guid": True},
        ),
        _rc(
            "azurerm_nat_gateway_public_ip_association.edge",
            {},
            {"nat_gateway_id": True, "public_ip_address_id": True},
        ),
    ]
    resources = [
        _cfg(
            "azurerm_lb.web",
            frontend_ip_configuration=[
                {
                    "name": {"constant_value": "fe-public"},
                    "public_ip_address_id": _ref("azurerm_public_ip.lb"),
                }
            ],
        ),
        _cfg("azurerm_lb_backend_address_pool.web", loadbalancer_id=_ref("azurerm_lb.web")),
        _cfg("azurerm_lb_probe.http", loadbalancer_id=_ref("azurerm_lb.web")),
        _cfg(
            "azurerm_lb_rule.http",
            loadbalancer_id=_ref("azurerm_lb.web"),
            backend_address_pool_ids=_ref("azurerm_lb_backend_address_pool.web"),
            probe_id=_ref("azurerm_lb_probe.http"),
        ),
        _cfg(
            "azurerm_lb_outbound_rule.out",
            loadbalancer_id=_ref("azurerm_lb.web"),
            backend_address_pool_id=_ref("azurerm_lb_backend_address_pool.web"),
        ),
        _cfg("azurerm_lb_nat_rule.ssh", loadbalancer_id=_ref("azurerm_lb.web")),
        _cfg(
            "azurerm_lb_backend_address_pool_address.extra",
            backend_address_pool_id=_ref("azurerm_lb_backend_address_pool.web"),
            virtual_network_id=_ref("azurerm_virtual_network.edge"),
        ),
        _cfg(
            "azurerm_network_interface.web",
            ip_configuration=[{"subnet_id": _ref("azurerm_subnet.app")}],
        ),
        _cfg(
            "azurerm_network_interface_backend_address_pool_association.web",
            network_interface_id=_ref("azurerm_network_interface.web"),
            backend_address_pool_id=_ref("azurerm_lb_backend_address_pool.web"),
        ),
        _cfg(
            "azurerm_network_interface_nat_rule_association.ssh",
            network_interface_id=_ref("azurerm_network_interface.web"),
            nat_rule_id=_ref("azurerm_lb_nat_rule.ssh"),
        ),
        _cfg(
            "azurerm_network_interface_application_security_group_association.web",
            network_interface_id=_ref("azurerm_network_interface.web"),
            application_security_group_id=_ref("azurerm_application_security_group.web"),
        ),
        _cfg(
            "azurerm_virtual_network_gateway.vpn",
            ip_configuration=[
                {
                    "subnet_id": _ref("azurerm_subnet.gateway"),
                    "public_ip_address_id": _ref("azurerm_public_ip.gw"),
                }
            ],
        ),
        _cfg(
            "azurerm_virtual_network_gateway_connection.s2s",
            virtual_network_gateway_id=_ref("azurerm_virtual_network_gateway.vpn"),
            local_network_gateway_id=_ref("azurerm_local_network_gateway.onprem"),
        ),
        _cfg(
            "azurerm_nat_gateway_public_ip_association.edge",
            nat_gateway_id=_ref("azurerm_nat_gateway.edge"),
            public_ip_address_id=_ref("azurerm_public_ip.nat"),
        ),
    ]
    return {
        "format_version": "1.2",
        "terraform_version": "1.9.5",
        "resource_changes": changes,
        "configuration": {"root_module": {"resources": resources}},
    }


def _load(tmp_path: Path, doc: dict[str, Any]) -> Snapshot:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return load_snapshot(path)


def test_load_balancer_with_its_children(tmp_path: Path) -> None:
    snap = _load(tmp_path, edge_plan())
    lb = snap.load_balancers.find("lb-web")
    assert lb.sku == "Standard"
    (fe,) = lb.frontend_ip_configurations
    assert fe.name == "fe-public"
    assert fe.public_ip_address == PIP_LB
    assert fe.private_ip_address is None  # public frontend: no marker
    assert fe.subnet is None
    (pool,) = lb.backend_address_pools
    assert pool.id == POOL
    (addr,) = pool.load_balancer_backend_addresses
    assert addr.name == "addr-extra"
    assert str(addr.ip_address) == "10.20.1.50"
    assert addr.virtual_network == VNET
    (rule,) = lb.load_balancing_rules
    assert rule.name == "rule-http"
    assert rule.frontend_ip_configuration == fe.id
    assert rule.backend_address_pools == (POOL,)
    assert rule.probe == f"{LB}/probes/probe-http"
    assert (rule.protocol, rule.frontend_port, rule.backend_port) == ("Tcp", 80, 8080)
    assert rule.disable_outbound_snat is True
    assert rule.enable_tcp_reset is True
    (probe,) = lb.probes
    assert (probe.protocol, probe.port, probe.request_path) == ("Http", 80, "/healthz")
    assert (probe.interval_in_seconds, probe.number_of_probes) == (15, 2)
    (out,) = lb.outbound_rules
    assert out.allocated_outbound_ports == 1024
    assert out.frontend_ip_configurations == (fe.id,)
    assert out.backend_address_pool == POOL
    assert out.protocol == "All"
    (nat,) = lb.inbound_nat_rules
    assert (nat.frontend_port, nat.backend_port) == (50022, 22)
    assert nat.frontend_ip_configuration == fe.id


def test_nic_associations_patch_the_ip_configuration(tmp_path: Path) -> None:
    snap = _load(tmp_path, edge_plan())
    nic = snap.network_interfaces.find("nic-web")
    assert nic.id == NIC
    (ipc,) = nic.ip_configurations
    assert ipc.subnet == f"{VNET}/subnets/snet-app"
    assert ipc.load_balancer_backend_address_pools == (POOL,)
    assert ipc.load_balancer_inbound_nat_rules == (f"{LB}/inboundNatRules/nat-ssh",)
    assert ipc.application_security_groups == (ASG,)
    assert snap.application_security_groups.find("asg-web").id == ASG


def test_vpn_gateway_connection_and_local_network_gateway(tmp_path: Path) -> None:
    snap = _load(tmp_path, edge_plan())
    gw = snap.virtual_network_gateways.find("vgw-edge")
    assert (gw.gateway_type, gw.vpn_type, gw.sku) == ("Vpn", "RouteBased", "VpnGw1")
    assert gw.enable_bgp is False
    assert gw.active_active is False
    (ipc,) = gw.ip_configurations
    assert ipc.name == "vnetGatewayConfig"
    assert ipc.subnet == f"{VNET}/subnets/GatewaySubnet"
    assert ipc.public_ip_address == PIP_GW
    lng = snap.local_network_gateways.find("lng-onprem")
    assert lng.id == LNG
    assert lng.gateway_ip_address == "203.0.113.10"
    assert [str(n) for n in lng.address_prefixes] == ["192.168.0.0/16", "172.16.0.0/12"]
    conn = snap.connections.find("cn-onprem")
    assert conn.connection_type == "IPsec"
    assert conn.virtual_network_gateway1 == GW
    assert conn.local_network_gateway2 == LNG
    assert conn.virtual_network_gateway2 is None
    assert conn.connection_status is None  # never assumed Connected
    (w,) = [w for w in snap.warnings if w.field == "connection_status"]
    assert w.resource == "azurerm_virtual_network_gateway_connection.s2s"


def test_shared_key_is_never_copied() -> None:
    changes = changes_from_plan(edge_plan())
    text = json.dumps(changes.upserts) + repr(changes.patches)
    assert "correct-horse-battery-staple" not in text
    assert "sharedKey" not in text


def test_nat_gateway_with_public_ip_association(tmp_path: Path) -> None:
    snap = _load(tmp_path, edge_plan())
    nat = snap.nat_gateways.find("nat-edge")
    assert nat.id == NAT
    assert nat.sku == "Standard"
    assert nat.idle_timeout_in_minutes == 10
    assert nat.public_ip_addresses == (PIP_NAT,)


def test_every_new_type_is_mapped_without_warnings_beyond_the_expected() -> None:
    changes = changes_from_plan(edge_plan())
    unexpected = [
        w
        for w in changes.warnings
        if "not mapped" in w.message or "could not" in w.message or "cannot" in w.message
    ]
    assert unexpected == []


def _unknown_plan() -> dict[str, Any]:
    doc = edge_plan()
    for rc in doc["resource_changes"]:
        after, unknown = rc["change"]["after"], rc["change"]["after_unknown"]
        if rc["address"] == "azurerm_lb_outbound_rule.out":
            after.pop("allocated_outbound_ports")
            unknown["allocated_outbound_ports"] = True
        if rc["address"] == "azurerm_lb_probe.http":
            after.pop("port")
            unknown["port"] = True
    return doc


def test_unknown_values_are_warnings_naming_address_and_attribute(tmp_path: Path) -> None:
    snap = _load(tmp_path, _unknown_plan())
    found = {(w.resource, w.field) for w in snap.warnings}
    assert ("azurerm_lb_outbound_rule.out", "allocated_outbound_ports") in found
    assert ("azurerm_lb_probe.http", "port") in found
    lb = snap.load_balancers.find("lb-web")
    (out,) = lb.outbound_rules
    assert out.allocated_outbound_ports is None  # unknown, not a guess
    (probe,) = lb.probes
    assert probe.port is None
    markers = [w for w in snap.warnings if w.value and "known after apply" in w.value]
    assert any("azurerm_lb_outbound_rule.out.allocated_outbound_ports" in w.value for w in markers)


def test_unresolvable_association_is_a_warning_not_a_crash() -> None:
    doc = edge_plan()
    resources = doc["configuration"]["root_module"]["resources"]
    doc["configuration"]["root_module"]["resources"] = [
        r
        for r in resources
        if r["address"] != "azurerm_network_interface_backend_address_pool_association.web"
    ]
    changes = changes_from_plan(doc)
    (w,) = [
        w
        for w in changes.warnings
        if w.resource == "azurerm_network_interface_backend_address_pool_association.web"
    ]
    assert w.field == "network_interface_id"


def test_children_and_associations_onto_an_existing_load_balancer(tmp_path: Path) -> None:
    """The LB and NIC exist already (the base snapshot): a new rule, a deleted probe and a pool
    association are merged into them."""
    sub = "3f2b9c1e-7d4a-4e8b-9a61-5c0d2e8f7a14"
    base_net = f"/subscriptions/{sub}/resourceGroups/{RG}/providers/Microsoft.Network"
    lb_id = f"{base_net}/loadBalancers/lb-old"
    nic_id = f"{base_net}/networkInterfaces/nic-old"
    base = [
        {
            "id": lb_id,
            "name": "lb-old",
            "type": "Microsoft.Network/loadBalancers",
            "location": "westeurope",
            "sku": {"name": "Standard"},
            "properties": {
                "frontendIPConfigurations": [
                    {"id": f"{lb_id}/frontendIPConfigurations/fe", "name": "fe", "properties": {}}
                ],
                "backendAddressPools": [
                    {"id": f"{lb_id}/backendAddressPools/pool", "name": "pool", "properties": {}}
                ],
                "probes": [
                    {
                        "id": f"{lb_id}/probes/old",
                        "name": "old",
                        "properties": {"protocol": "Tcp", "port": 22},
                    }
                ],
            },
        },
        {
            "id": nic_id,
            "name": "nic-old",
            "type": "Microsoft.Network/networkInterfaces",
            "location": "westeurope",
            "properties": {
                "ipConfigurations": [
                    {
                        "id": f"{nic_id}/ipConfigurations/ipconfig1",
                        "name": "ipconfig1",
                        "properties": {"privateIPAddress": "10.9.0.4", "primary": True},
                    }
                ]
            },
        },
    ]
    rule = _rc(
        "azurerm_lb_rule.new",
        {
            "name": "rule-new",
            "loadbalancer_id": lb_id,
            "frontend_ip_configuration_name": "fe",
            "protocol": "Udp",
            "frontend_port": 53,
            "backend_port": 53,
            "backend_address_pool_ids": [f"{lb_id}/backendAddressPools/pool"],
            "disable_outbound_snat": False,
        },
        {"probe_id": False},
    )
    probe = _rc("azurerm_lb_probe.old", {}, {})
    probe["change"].update(
        actions=["delete"],
        before={"id": f"{lb_id}/probes/old", "name": "old", "loadbalancer_id": lb_id},
        after=None,
        after_unknown={},
    )
    assoc = _rc(
        "azurerm_network_interface_backend_address_pool_association.old",
        {
            "network_interface_id": nic_id,
            "ip_configuration_name": "ipconfig1",
            "backend_address_pool_id": f"{lb_id}/backendAddressPools/pool",
        },
        {},
    )
    doc = {"format_version": "1.2", "resource_changes": [rule, probe, assoc]}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    after = apply_plan(base, path)
    lb = after.load_balancers.find("lb-old")
    assert [r.name for r in lb.load_balancing_rules] == ["rule-new"]
    assert lb.load_balancing_rules[0].protocol == "Udp"
    assert lb.probes == ()
    assert [p.name for p in lb.backend_address_pools] == ["pool"]
    (ipc,) = after.network_interfaces.find("nic-old").ip_configurations
    assert ipc.load_balancer_backend_address_pools == (f"{lb_id}/backendAddressPools/pool",)
    assert str(ipc.private_ip_address) == "10.9.0.4"  # the rest of the ip configuration stays


def test_backend_address_onto_an_existing_pool_keeps_its_addresses(tmp_path: Path) -> None:
    lb_id = f"{BASE}/loadBalancers/lb-kept"
    pool_id = f"{lb_id}/backendAddressPools/pool"
    base = [
        {
            "id": lb_id,
            "name": "lb-kept",
            "type": "Microsoft.Network/loadBalancers",
            "properties": {
                "backendAddressPools": [
                    {
                        "id": pool_id,
                        "name": "pool",
                        "properties": {
                            "loadBalancerBackendAddresses": [
                                {"name": "a1", "properties": {"ipAddress": "10.0.0.4"}}
                            ]
                        },
                    }
                ]
            },
        }
    ]
    address = _rc(
        "azurerm_lb_backend_address_pool_address.a2",
        {"name": "a2", "backend_address_pool_id": pool_id, "ip_address": "10.0.0.5"},
        {"virtual_network_id": False},
    )
    doc = {"format_version": "1.2", "resource_changes": [address]}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    after = apply_plan(base, path)
    (pool,) = after.load_balancers.find("lb-kept").backend_address_pools
    assert [(a.name, str(a.ip_address)) for a in pool.load_balancer_backend_addresses] == [
        ("a1", "10.0.0.4"),
        ("a2", "10.0.0.5"),
    ]
