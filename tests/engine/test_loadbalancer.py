"""Load balancer frontends as destinations (azure-semantics-2 section 3, L1-L6): the sample's
internal lb-hub-svc and lb-hub-legacy, its public lb-web-public and lb-hub-svc-public, inbound NAT
rules, guest health, and the REST API example load balancer."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vnetdoctor import load_sample
from vnetdoctor.api import diagnose, load_guest
from vnetdoctor.engine.endpoints import resolve_endpoint
from vnetdoctor.engine.fabric import Fabric
from vnetdoctor.engine.guest.oracle import EvidenceOracle
from vnetdoctor.engine.loadbalancer import LoadBalancerIndex, nat_rule_for, probe_of, rule_for
from vnetdoctor.engine.path import (
    FirewallAnswer,
    GuestAccess,
    GuestOracle,
    ListenerAnswer,
    Listening,
    Outcome,
    Trace,
    Tracer,
)
from vnetdoctor.ingest.loader import load_snapshot
from vnetdoctor.model.net import Flow, IPAddress, Protocol
from vnetdoctor.model.security import Direction
from vnetdoctor.model.snapshot import Snapshot
from vnetdoctor.runbook.context import DiagnosisContext, Query
from vnetdoctor.runbook.runner import run
from vnetdoctor.samples import sample_path, snapshot_files


@pytest.fixture(scope="module")
def sample() -> Snapshot:
    return load_sample()


def _trace(snap: Snapshot, src: str, dst: str, port: int | None, proto: Protocol) -> Trace:
    tracer = Tracer(snap, Fabric(snap))
    return tracer.trace(resolve_endpoint(snap, src), resolve_endpoint(snap, dst), proto, port)


def test_frontend_rule_and_members(sample: Snapshot) -> None:
    index = LoadBalancerIndex(sample)
    found = index.frontend_at(ipaddress.ip_address("10.0.5.10"))
    assert found is not None
    lb, fe = found
    assert lb.name == "lb-hub-svc"
    rule = rule_for(lb, fe, Protocol.TCP, 443)
    assert rule is not None
    assert rule.name == "rule-https"
    assert rule_for(lb, fe, Protocol.UDP, 443) is None
    (member,) = index.backends(lb, rule)
    assert member.nic is not None
    assert member.nic.name == "nic-vm-svc-01"


def test_healthy_frontend_delivers_to_the_backend(sample: Snapshot) -> None:
    trace = _trace(sample, "vm-legacy-01", "10.0.5.10", 443, Protocol.TCP)
    assert trace.outcome is Outcome.DELIVERED
    assert trace.delivered_to is not None
    assert trace.delivered_to.name == "nic-vm-svc-01"
    assert [h.kind for h in trace.hops if h.kind == "load-balancer"] == ["load-balancer"]
    assert trace.issues == ()


def test_probe_blocked_by_an_admin_rule(sample: Snapshot) -> None:
    trace = _trace(sample, "vm-legacy-01", "10.0.5.10", 2049, Protocol.TCP)
    codes = [i.code for i in trace.issues]
    assert codes == ["LB_PROBE_BLOCKED", "LB_NO_HEALTHY_BACKEND"]
    assert trace.issues[0].resource is not None
    assert trace.issues[0].resource.endswith("Block-Telnet-NFS-Inbound")


def test_icmp_is_not_load_balanced(sample: Snapshot) -> None:
    trace = _trace(sample, "vm-legacy-01", "10.0.5.10", None, Protocol.ICMP)
    assert [i.code for i in trace.issues] == ["LB_NOT_LOAD_BALANCED"]
    assert trace.outcome is Outcome.UNKNOWN


def test_hairpin_from_the_only_healthy_member(sample: Snapshot) -> None:
    trace = _trace(sample, "vm-svc-01", "10.0.5.10", 443, Protocol.TCP)
    (issue,) = trace.issues
    assert issue.code == "LB_HAIRPIN"
    assert issue.status is None  # the only member: every flow fails


def _modified_lb(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Snapshot:
    files = [f for f in snapshot_files() if f.name != "lb-hub-svc.json"]
    (lb,) = json.loads((sample_path() / "lb-hub-svc.json").read_text())
    change(lb)
    extra = tmp_path / "lb.json"
    extra.write_text(json.dumps([lb]))
    return load_snapshot([*files, extra])


def test_all_probed_up_sends_to_every_backend(tmp_path: Path) -> None:
    def change(lb: dict[str, Any]) -> None:
        lb["properties"]["probes"][1]["properties"]["noHealthyBackendsBehavior"] = "AllProbedUp"

    snap = _modified_lb(tmp_path, change)
    trace = _trace(snap, "vm-legacy-01", "10.0.5.10", 2049, Protocol.TCP)
    codes = [i.code for i in trace.issues]
    assert "LB_NO_HEALTHY_BACKEND" not in codes
    assert "LB_PROBE_BLOCKED" in codes
    assert "ADMIN_RULE_DENY" in codes  # the traffic itself meets the same admin rule


def test_admin_state_overrides_the_probe(tmp_path: Path) -> None:
    def down(lb: dict[str, Any]) -> None:
        pool = lb["properties"]["backendAddressPools"][0]
        pool["properties"]["loadBalancerBackendAddresses"][0]["properties"]["adminState"] = "Down"

    trace = _trace(_modified_lb(tmp_path, down), "vm-legacy-01", "10.0.5.10", 443, Protocol.TCP)
    assert [i.code for i in trace.issues] == ["LB_NO_HEALTHY_BACKEND"]

    def up(lb: dict[str, Any]) -> None:
        pool = lb["properties"]["backendAddressPools"][0]
        pool["properties"]["loadBalancerBackendAddresses"][0]["properties"]["adminState"] = "Up"

    trace = _trace(_modified_lb(tmp_path, up), "vm-legacy-01", "10.0.5.10", 2049, Protocol.TCP)
    assert "LB_NO_HEALTHY_BACKEND" not in [i.code for i in trace.issues]


# ---------------------------------------------------------------------------------------------
# Public frontends (L1, L4, section 3.7), inbound NAT rules (section 3.5), guest health (L3)
# ---------------------------------------------------------------------------------------------
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
LB_GET = FIXTURES / "rest-api-specs-examples" / "2021-02-01" / "LoadBalancerGet.json"
FIREWALL_FIXTURES = FIXTURES / "firewall"
WEB_FRONTEND = "20.23.62.10"  # lb-web-public fe-web-https (Standard)
SVC_FRONTEND = "20.23.62.20"  # lb-hub-svc-public fe-svc-public (Standard, backend without NSG)
JUMP_PIP = "20.23.61.88"  # vm-jump-01's instance public IP: its address on the Internet


def _issue_codes(trace: Trace) -> list[str]:
    return [i.code for i in trace.issues]


def _resources(
    file: str, change: Callable[[list[dict[str, Any]]], None], tmp_path: Path
) -> Snapshot:
    """The sample with ``file`` (a JSON array or one resource) changed by ``change``."""
    data = json.loads((sample_path() / file).read_text())
    items: list[dict[str, Any]] = data if isinstance(data, list) else [data]
    change(items)
    extra = tmp_path / file
    extra.write_text(json.dumps(items))
    return load_snapshot([*(f for f in snapshot_files() if f.name != file), extra])


def _named(items: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(r for r in items if r["name"] == name)


@pytest.mark.skipif(not LB_GET.is_file(), reason="../shared/fixtures (REST API examples) absent")
def test_rest_api_example_load_balancer(tmp_path: Path) -> None:
    """The documented LoadBalancerGet example: Basic ILB, floating-IP rule, HTTP probe, and a
    classic inbound NAT rule that no IP configuration is bound to (its member is unknown)."""
    body = json.loads(LB_GET.read_text())["responses"]["200"]["body"]
    (tmp_path / "lb.json").write_text(json.dumps(body))
    snap = load_snapshot([tmp_path / "lb.json"])
    (lb,) = snap.load_balancers.values()
    assert lb.sku == "Basic"
    index = LoadBalancerIndex(snap)
    found = index.frontend_at(ipaddress.ip_address("10.0.1.4"))
    assert found is not None
    fe = found[1]
    rule = rule_for(lb, fe, Protocol.TCP, 80)
    assert rule is not None
    assert rule.enable_floating_ip
    probe = probe_of(lb, rule)
    assert probe is not None
    assert (probe.protocol, probe.port, probe.request_path) == ("Http", 80, "healthcheck.aspx")
    nat = nat_rule_for(lb, fe, Protocol.TCP, 3389)
    assert nat is not None
    assert nat.name == "in-nat-rule"
    assert nat_rule_for(lb, fe, Protocol.UDP, 3389) is None
    assert nat_rule_for(lb, fe, Protocol.TCP, 80) is None
    target = index.nat_target(lb, nat, 3389)
    assert target.backend is None
    assert "no IP configuration" in target.reason


@pytest.mark.skipif(not FIREWALL_FIXTURES.is_dir(), reason="../shared/fixtures/firewall absent")
def test_firewall_fixtures_hold_no_load_balancer() -> None:
    """The Azure Firewall REST examples carry no load balancer, so the load balancer tests use
    the REST API LoadBalancerGet example and the sample instead; if a firewall example ever
    gains one, this test says so, and it should be tested here."""
    files = sorted(FIREWALL_FIXTURES.glob("*.json"))
    assert files
    for f in files:
        assert "microsoft.network/loadbalancers" not in f.read_text().casefold(), f.name


def test_public_frontend_is_found_by_its_public_ip(sample: Snapshot) -> None:
    index = LoadBalancerIndex(sample)
    found = index.public_frontend_at(ipaddress.ip_address(WEB_FRONTEND))
    assert found is not None
    assert (found[0].name, found[1].name) == ("lb-web-public", "fe-web-https")
    assert index.public_frontend_at(ipaddress.ip_address("20.23.62.11")) is not None  # outbound fe
    assert index.frontend_at(ipaddress.ip_address(WEB_FRONTEND)) is None  # not a private frontend


def test_healthy_public_frontend_reaches_every_backend_from_the_snat_address(
    sample: Snapshot,
) -> None:
    trace = _trace(sample, "vm-jump-01", WEB_FRONTEND, 443, Protocol.TCP)
    assert trace.issues == ()
    assert trace.outcome is Outcome.INTERNET  # the flow left through SNAT (step 5 applies)
    assert trace.egress_nic is not None
    assert trace.egress_nic.name == "nic-vm-jump-01"
    assert trace.delivered_to is not None
    backends = [v for v in trace.nsg_verdicts if v.direction.value == "Inbound"]
    assert {v.nic.name for v in backends} == {"nic-vm-web-01", "nic-vm-web-02"}
    assert {str(v.remote_ip) for v in backends} == {JUMP_PIP}  # L4: the public address
    assert {v.local_port for v in backends} == {8443}  # the backend port
    assert all(v.access.value == "Allow" for v in backends)
    lb_hop = next(h for h in trace.hops if h.kind == "load-balancer")
    facts = dict(lb_hop.facts)
    assert facts["rule"].startswith("lbr-https")
    assert "2 of 2 healthy" in facts["health"]


def test_standard_public_frontend_without_nsg_is_closed(sample: Snapshot) -> None:
    trace = _trace(sample, "vm-jump-01", SVC_FRONTEND, 443, Protocol.TCP)
    (issue,) = trace.issues
    assert issue.code == "LB_PUBLIC_CLOSED_NO_NSG"
    nic = sample.network_interfaces.find("nic-vm-svc-01")
    assert issue.resource == str(nic.id)
    assert [h.status for h in trace.hops if h.kind == "nsg-inbound"] == ["fail"]


def test_standard_public_closed_end_to_end(sample: Snapshot) -> None:
    result = diagnose(sample, "vm-jump-01", SVC_FRONTEND, 443)
    assert result.verdict.value == "blocked"
    assert [f.code for f in result.blockers] == ["LB_PUBLIC_CLOSED_NO_NSG"]
    assert result.blockers[0].resource.endswith("/networkInterfaces/nic-vm-svc-01")


def test_basic_public_frontend_without_nsg_is_open(tmp_path: Path) -> None:
    def basic(items: list[dict[str, Any]]) -> None:
        _named(items, "lb-hub-svc-public")["sku"]["name"] = "Basic"

    snap = _resources("lb-hub-svc-public.json", basic, tmp_path)
    trace = _trace(snap, "vm-jump-01", SVC_FRONTEND, 443, Protocol.TCP)
    assert trace.issues == ()
    assert trace.delivered_to is not None
    assert trace.delivered_to.name == "nic-vm-svc-01"
    result = diagnose(snap, "vm-jump-01", SVC_FRONTEND, 443)
    assert result.verdict.value == "inconclusive"  # guest steps unknown, never reachable
    assert list(result.blockers) == []


def test_unknown_snat_address_leaves_the_backend_nsg_unknown(sample: Snapshot) -> None:
    """vm-app-01 leaves by default outbound access: its public address is not in the
    snapshot, so the backends' NSGs cannot be judged for it (never a guessed 'reachable')."""
    trace = _trace(sample, "vm-app-01", WEB_FRONTEND, 443, Protocol.TCP)
    assert set(_issue_codes(trace)) == {"NSG_UNKNOWN"}
    result = diagnose(sample, "vm-app-01", WEB_FRONTEND, 443)
    assert result.verdict.value == "inconclusive"
    assert "NSG_UNKNOWN" in {f.code for f in result.step(2).findings}


def test_inbound_nat_rule_sends_the_port_to_its_one_backend(sample: Snapshot) -> None:
    trace = _trace(sample, "vm-jump-01", WEB_FRONTEND, 50001, Protocol.TCP)
    (issue,) = trace.issues
    assert issue.code == "NSG_DENY"
    nsg = sample.network_security_groups.find("nsg-snet-web")
    assert issue.resource == str(nsg.id)
    assert f"{JUMP_PIP} -> 10.1.1.4:22" in issue.message  # source: public IP; backend port
    (verdict,) = [v for v in trace.nsg_verdicts if v.direction.value == "Inbound"]
    assert verdict.nic.name == "nic-vm-web-01"
    nat_hop = next(h for h in trace.hops if h.kind == "load-balancer")
    assert nat_hop.decision == "NAT"
    assert nat_hop.pointer == "/properties/inboundNatRules/0"


def _v2_nat(with_mapping: bool) -> Callable[[list[dict[str, Any]]], None]:
    def change(items: list[dict[str, Any]]) -> None:
        lb = _named(items, "lb-web-public")
        base = lb["id"]
        props = lb["properties"]
        props["inboundNatRules"].append(
            {
                "name": "nat-ssh-pool",
                "id": f"{base}/inboundNatRules/nat-ssh-pool",
                "properties": {
                    "frontendIPConfiguration": {
                        "id": f"{base}/frontendIPConfigurations/fe-web-https"
                    },
                    "backendAddressPool": {"id": f"{base}/backendAddressPools/bep-web"},
                    "frontendPortRangeStart": 60000,
                    "frontendPortRangeEnd": 60009,
                    "backendPort": 22,
                    "protocol": "Tcp",
                },
            }
        )
        nics = {
            n: _named(items, f"nic-vm-{n}")["properties"]["ipConfigurations"][0]["id"]
            for n in ("web-01", "web-02")
        }
        addresses = []
        for i, (name, ipc) in enumerate(sorted(nics.items())):
            member: dict[str, Any] = {"networkInterfaceIPConfiguration": {"id": ipc}}
            if with_mapping:
                member["inboundNatRulesPortMapping"] = [
                    {
                        "inboundNatRuleName": "nat-ssh-pool",
                        "frontendPort": 60000 + i,
                        "backendPort": 22,
                    }
                ]
            addresses.append({"name": name, "properties": member})
        props["backendAddressPools"][0]["properties"]["loadBalancerBackendAddresses"] = addresses

    return change


def test_v2_nat_rule_uses_the_members_port_mapping(tmp_path: Path) -> None:
    snap = _resources("network.json", _v2_nat(with_mapping=True), tmp_path)
    trace = _trace(snap, "vm-jump-01", WEB_FRONTEND, 60001, Protocol.TCP)
    (verdict,) = [v for v in trace.nsg_verdicts if v.direction.value == "Inbound"]
    assert verdict.nic.name == "nic-vm-web-02"  # 60001 is web-02's mapping
    assert verdict.local_port == 22
    assert _issue_codes(trace) == ["NSG_DENY"]  # SSH only from 10.0.2.0/24, as pair 48
    # a port of the range that no member is mapped to reaches nobody known
    trace = _trace(snap, "vm-jump-01", WEB_FRONTEND, 60005, Protocol.TCP)
    assert _issue_codes(trace) == ["LB_NAT_BACKEND_UNKNOWN"]
    assert trace.outcome is Outcome.UNKNOWN


def test_v2_nat_rule_without_mappings_is_unknown_not_guessed(tmp_path: Path) -> None:
    snap = _resources("network.json", _v2_nat(with_mapping=False), tmp_path)
    trace = _trace(snap, "vm-jump-01", WEB_FRONTEND, 60001, Protocol.TCP)
    assert _issue_codes(trace) == ["LB_NAT_BACKEND_UNKNOWN"]
    assert "inboundNatRulesPortMapping" in trace.issues[0].message
    assert trace.outcome is Outcome.UNKNOWN
    assert trace.delivered_to is None
    result = diagnose(snap, "vm-jump-01", WEB_FRONTEND, 60001)
    assert result.verdict.value == "inconclusive"


def test_nat_rule_wins_over_a_load_balancing_rule_on_the_same_port(tmp_path: Path) -> None:
    def overlap(items: list[dict[str, Any]]) -> None:
        lb = _named(items, "lb-web-public")
        lb["properties"]["inboundNatRules"][0]["properties"]["frontendPort"] = 443

    snap = _resources("network.json", overlap, tmp_path)
    trace = _trace(snap, "vm-jump-01", WEB_FRONTEND, 443, Protocol.TCP)
    hop = next(h for h in trace.hops if h.kind == "load-balancer")
    assert hop.decision == "NAT"
    assert "assumption" in hop.detail


def test_basic_internal_frontend_over_global_peering(sample: Snapshot) -> None:
    trace = _trace(sample, "vm-dr-01", "10.0.6.10", 80, Protocol.TCP)
    assert _issue_codes(trace) == ["LB_GLOBAL_PEERING_BASIC"]
    lb = sample.load_balancers.find("lb-hub-legacy")
    assert trace.issues[0].resource == str(lb.id)
    hop = next(h for h in trace.hops if h.kind == "load-balancer")
    assert hop.status == "fail"  # the diagram marks the load balancer
    # the same frontend from inside vnet-hub's region is fine
    trace = _trace(sample, "vm-svc-01", "10.0.6.10", 80, Protocol.TCP)
    assert "LB_GLOBAL_PEERING_BASIC" not in _issue_codes(trace)


def test_one_backend_denying_is_a_warning_not_a_block(tmp_path: Path) -> None:
    """Regression: only the first healthy backend used to be traced inbound, so an NSG that
    blocks the others was never seen. Every backend is traced; one denying = partial."""

    def deny_web02(items: list[dict[str, Any]]) -> None:
        base = _named(items, "nsg-snet-web")
        nsg = json.loads(json.dumps(base))
        nsg["name"] = "nsg-nic-vm-web-02"
        nsg["id"] = base["id"].rsplit("/", 1)[0] + "/nsg-nic-vm-web-02"
        nsg["properties"]["securityRules"] = [
            {
                "name": "Deny-8443",
                "id": nsg["id"] + "/securityRules/Deny-8443",
                "properties": {
                    "protocol": "Tcp",
                    "sourcePortRange": "*",
                    "destinationPortRange": "8443",
                    "sourceAddressPrefix": f"{JUMP_PIP}/32",
                    "destinationAddressPrefix": "*",
                    "access": "Deny",
                    "priority": 100,
                    "direction": "Inbound",
                },
            }
        ]
        items.append(nsg)
        _named(items, "nic-vm-web-02")["properties"]["networkSecurityGroup"] = {"id": nsg["id"]}

    snap = _resources("network.json", deny_web02, tmp_path)
    trace = _trace(snap, "vm-jump-01", WEB_FRONTEND, 443, Protocol.TCP)
    (issue,) = trace.issues
    assert issue.code == "NSG_DENY"
    assert issue.status == "warn"
    assert "nic-vm-web-02" in issue.message
    assert trace.delivered_to is not None
    assert trace.delivered_to.name == "nic-vm-web-01"
    result = diagnose(snap, "vm-jump-01", WEB_FRONTEND, 443)
    assert result.verdict.value == "inconclusive"
    assert result.step(2).status.value == "warn"


def test_unknown_probe_verdict_is_not_a_dead_backend(tmp_path: Path) -> None:
    """Regression: a probe whose NSG verdict is unknown (a service tag the snapshot cannot
    expand) used to count as down, giving a false LB_NO_HEALTHY_BACKEND (blocked)."""

    def unknown_tag(items: list[dict[str, Any]]) -> None:
        nic = _named(items, "nic-vm-svc-01")
        nsg_id = nic["id"].split("/providers/")[0] + (
            "/providers/Microsoft.Network/networkSecurityGroups/nsg-vm-svc-01"
        )
        items.append(
            {
                "name": "nsg-vm-svc-01",
                "id": nsg_id,
                "type": "Microsoft.Network/networkSecurityGroups",
                "location": "westeurope",
                "properties": {
                    "securityRules": [
                        {
                            "name": "Deny-AzureCloud",
                            "id": nsg_id + "/securityRules/Deny-AzureCloud",
                            "properties": {
                                "protocol": "*",
                                "sourcePortRange": "*",
                                "destinationPortRange": "*",
                                "sourceAddressPrefix": "AzureCloud",
                                "destinationAddressPrefix": "*",
                                "access": "Deny",
                                "priority": 100,
                                "direction": "Inbound",
                            },
                        }
                    ]
                },
            }
        )
        nic["properties"]["networkSecurityGroup"] = {"id": nsg_id}

    snap = _resources("firewall.json", unknown_tag, tmp_path)
    trace = _trace(snap, "vm-legacy-01", "10.0.5.10", 443, Protocol.TCP)
    codes = _issue_codes(trace)
    assert "LB_NO_HEALTHY_BACKEND" not in codes
    assert codes == ["LB_HEALTH_UNKNOWN"]
    assert trace.outcome is Outcome.UNKNOWN
    result = diagnose(snap, "vm-legacy-01", "10.0.5.10", 443)
    assert result.verdict.value == "inconclusive"


SS_HEADER = "Netid State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n"


def _ss(tmp_path: Path, name: str, *ports: int) -> Any:
    lines = [
        f"tcp   LISTEN 0      128          0.0.0.0:{p}        0.0.0.0:*    "
        'users:(("svc",pid=1,fd=3))'
        for p in ports
    ]
    path = tmp_path / f"{name}-ss.txt"
    path.write_text(SS_HEADER + "\n".join(lines) + "\n")
    return load_guest([path])


def _with_guest(snap: Snapshot, guest: dict[str, Any], src: str, dst: str, port: int) -> Any:
    """The runbook on a tracer that holds the guest evidence (as api.diagnose's tracer would)."""
    query = Query(
        source=resolve_endpoint(snap, src),
        destination=resolve_endpoint(snap, dst),
        protocol=Protocol.TCP,
        port=port,
    )
    tracer = Tracer(snap, Fabric(snap), oracle=EvidenceOracle(guest))
    ctx = DiagnosisContext(snap, query, tracer, {k.casefold(): v for k, v in guest.items()})
    return ctx.trace, run(ctx)


def test_backend_not_listening_on_the_probe_port_is_down(sample: Snapshot, tmp_path: Path) -> None:
    """L3 with guest evidence: vm-web-01's guest listens on 22 only, so probe-https-8443 gets no
    answer there and the backend is down; vm-web-02 (no evidence) stays healthy by the
    network-only rule, which its hop says."""
    guest = {"vm-web-01": _ss(tmp_path, "web01", 22)}
    trace, result = _with_guest(sample, guest, "vm-jump-01", WEB_FRONTEND, 443)
    (issue,) = trace.issues
    assert issue.code == "LB_PROBE_NOT_LISTENING"
    assert issue.status == "warn"  # vm-web-02 still takes the flows
    assert "vm-web-01" in issue.message or "nic-vm-web-01" in issue.message
    hops = {h.name: h for h in trace.hops if h.kind == "lb-backend"}
    assert hops["nic-vm-web-01"].status == "fail"
    assert "network-only" in hops["nic-vm-web-02"].detail
    assert result.verdict.value == "inconclusive"
    assert {f.code for f in result.step(2).findings} == {"LB_PROBE_NOT_LISTENING"}


def test_no_backend_listening_on_the_probe_port_blocks(sample: Snapshot, tmp_path: Path) -> None:
    guest = {"vm-web-01": _ss(tmp_path, "web01", 22), "vm-web-02": _ss(tmp_path, "web02", 443)}
    trace, result = _with_guest(sample, guest, "vm-jump-01", WEB_FRONTEND, 443)
    assert _issue_codes(trace) == [
        "LB_PROBE_NOT_LISTENING",
        "LB_PROBE_NOT_LISTENING",
        "LB_NO_HEALTHY_BACKEND",
    ]
    assert result.verdict.value == "blocked"


def test_backend_listening_on_the_probe_port_stays_healthy(
    sample: Snapshot, tmp_path: Path
) -> None:
    guest = {"vm-web-01": _ss(tmp_path, "web01", 8443)}
    trace, _ = _with_guest(sample, guest, "vm-jump-01", WEB_FRONTEND, 443)
    assert trace.issues == ()
    hop = next(h for h in trace.hops if h.kind == "lb-backend" and h.name == "nic-vm-web-01")
    assert hop.decision == "healthy"
    assert "listens on 8443" in hop.detail


def test_diagnose_passes_guest_evidence_to_the_probe_check(
    sample: Snapshot, tmp_path: Path
) -> None:
    """Regression: ``diagnose(..., guest=...)`` used to keep the evidence from the tracer, so
    a backend's listener never counted in its health."""
    guest = {"VM-WEB-01": _ss(tmp_path, "web01", 22), "vm-web-02": _ss(tmp_path, "web02", 443)}
    result = diagnose(sample, "vm-jump-01", WEB_FRONTEND, 443, guest=guest)
    assert result.verdict.value == "blocked"
    assert [f.code for f in result.step(2).findings] == [
        "LB_PROBE_NOT_LISTENING",
        "LB_PROBE_NOT_LISTENING",
        "LB_NO_HEALTHY_BACKEND",
    ]



def _iptables(tmp_path: Path, name: str, rules: str) -> Path:
    path = tmp_path / f"{name}-iptables-save.txt"
    path.write_text(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        f"{rules}COMMIT\n"
    )
    return path


def test_guest_firewall_dropping_the_probe_marks_the_backend_down(
    sample: Snapshot, tmp_path: Path
) -> None:
    """L3's guest half through the evidence: vm-web-01 listens on the probe port but its
    iptables drops 168.63.129.16, so that backend is down and vm-web-02 takes the flows."""
    ss = tmp_path / "web01-ss.txt"
    ss.write_text(
        SS_HEADER + 'tcp   LISTEN 0      128          0.0.0.0:8443        0.0.0.0:*    '
        'users:(("svc",pid=1,fd=3))\n'
    )
    rules = "-A INPUT -s 168.63.129.16/32 -p tcp -m tcp --dport 8443 -j DROP\n"
    guest = {"vm-web-01": load_guest([ss, _iptables(tmp_path, "web01", rules)])}
    trace, _ = _with_guest(sample, guest, "vm-jump-01", WEB_FRONTEND, 443)
    (issue,) = trace.issues
    assert issue.code == "LB_PROBE_GUEST_FIREWALL_DENY"
    assert issue.status == "warn"  # vm-web-02 (no evidence) stays healthy
    assert issue.resource is not None
    assert issue.resource.endswith("web01-iptables-save.txt:5")
    hops = {h.name: h for h in trace.hops if h.kind == "lb-backend"}
    assert hops["nic-vm-web-01"].decision == "probe dropped in guest"
    assert hops["nic-vm-web-01"].status == "fail"
    assert hops["nic-vm-web-02"].decision == "healthy"


class _Oracle:
    """A stand-in guest oracle: fixed answers for one VM, none for the others."""

    def __init__(self, vm: str, listener: ListenerAnswer, firewall: FirewallAnswer) -> None:
        self.vm, self.answers = vm, (listener, firewall)
        self.asked: list[str] = []

    def listener(
        self, vm: str, ip: IPAddress, port: int, protocol: Protocol
    ) -> ListenerAnswer | None:
        self.asked.append(f"listener {vm} {ip}:{port}/{protocol.value}")
        return self.answers[0] if vm == self.vm else None

    def firewall(self, vm: str, flow: Flow, direction: Direction) -> FirewallAnswer | None:
        self.asked.append(f"firewall {vm} {flow.source} {direction.value}")
        return self.answers[1] if vm == self.vm else None


def _oracle_trace(sample: Snapshot, oracle: GuestOracle) -> Trace:
    tracer = Tracer(sample, Fabric(sample), oracle=oracle)
    src, dst = resolve_endpoint(sample, "vm-jump-01"), resolve_endpoint(sample, WEB_FRONTEND)
    return tracer.trace(src, dst, Protocol.TCP, 443)


def test_the_tracer_asks_any_guest_oracle(sample: Snapshot) -> None:
    """The tracer depends on the GuestOracle protocol only: an oracle's unknown firewall answer
    makes vm-web-01's health unknown, and its reasons reach the hop."""
    oracle = _Oracle(
        "vm-web-01",
        ListenerAnswer(listening=Listening.YES, resource="ss.txt:2"),
        FirewallAnswer(access=GuestAccess.UNKNOWN, reasons=("a jump to an unread chain",)),
    )
    trace = _oracle_trace(sample, oracle)
    hop = next(h for h in trace.hops if h.kind == "lb-backend" and h.name == "nic-vm-web-01")
    assert (hop.decision, hop.status) == ("probe unknown", "unknown")
    assert hop.detail.endswith("is unknown: a jump to an unread chain")
    assert trace.issues == ()  # vm-web-02 is healthy: the flow goes on
    web01 = [q for q in oracle.asked if "vm-web-01" in q]
    assert web01 == [
        "listener vm-web-01 10.1.1.4:8443/Tcp",
        "firewall vm-web-01 168.63.129.16 Inbound",
    ]


def test_a_listener_nobody_saw_and_an_open_firewall_keep_the_network_only_rule(
    sample: Snapshot,
) -> None:
    oracle = _Oracle(
        "vm-web-01",
        ListenerAnswer(listening=Listening.UNSEEN),
        FirewallAnswer(access=GuestAccess.ALLOW, resource="iptables-save.txt:4"),
    )
    trace = _oracle_trace(sample, oracle)
    hop = next(h for h in trace.hops if h.kind == "lb-backend" and h.name == "nic-vm-web-01")
    assert hop.decision == "healthy"
    assert "is not shown (no socket list; network-only rule, L3)" in hop.detail
    assert hop.resource is not None
    assert hop.resource.endswith("nic-vm-web-01")


def test_evidence_oracle_finds_vms_case_insensitively(tmp_path: Path) -> None:
    oracle = EvidenceOracle({"VM-Web-01": _ss(tmp_path, "web01", 8443)})
    ip = ipaddress.ip_address("10.1.1.4")
    answer = oracle.listener("vm-web-01", ip, 8443, Protocol.TCP)
    assert answer is not None
    assert answer.listening is Listening.YES
    missing = oracle.listener("vm-web-01", ip, 22, Protocol.TCP)
    assert missing is not None
    assert missing.listening is Listening.NO
    assert oracle.listener("vm-web-02", ip, 8443, Protocol.TCP) is None
    flow = Flow(ipaddress.ip_address("168.63.129.16"), ip, Protocol.TCP, 8443)
    wall = oracle.firewall("VM-WEB-01", flow, Direction.INBOUND)
    assert wall is not None
    assert wall.access is GuestAccess.UNSEEN
