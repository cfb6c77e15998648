"""Internal load balancer frontends as destinations (L2, L3, L6) on the sample's lb-hub-svc."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vnetdoctor import load_sample
from vnetdoctor.engine.endpoints import resolve_endpoint
from vnetdoctor.engine.loadbalancer import LoadBalancerIndex, rule_for
from vnetdoctor.engine.nsg import engine_for
from vnetdoctor.engine.path import Outcome, Trace, Tracer
from vnetdoctor.ingest.loader import load_snapshot
from vnetdoctor.model.net import Protocol
from vnetdoctor.model.snapshot import Snapshot
from vnetdoctor.samples import sample_path, snapshot_files


@pytest.fixture(scope="module")
def sample() -> Snapshot:
    return load_sample()


def _trace(snap: Snapshot, src: str, dst: str, port: int | None, proto: Protocol) -> Trace:
    tracer = Tracer(snap, engine_for(snap, None))
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
