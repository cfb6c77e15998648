"""Every step diagnoses a scale-set instance with its own NIC, end to end through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from vmss.estate import NSG_DENY, estate, graph_rows, instance_id
from vnetdoctor.api import diagnose
from vnetdoctor.ingest.loader import snapshot_from_json


def run(args: list[str]) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "vnetdoctor", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def snap_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("vmss") / "estate.json"
    path.write_text(json.dumps(estate()))
    return path


def _codes(answer: dict[str, Any]) -> dict[str, list[str]]:
    return {s["id"]: [f["code"] for f in s["findings"]] for s in answer["steps"]}


def _diagnose(path: Path, src: str, dst: str, port: str = "22") -> dict[str, Any]:
    code, out, err = run(["diagnose", "-s", str(path), "--from", src, "--to", dst,
                          "--port", port, "-o", "json"])
    assert code in (0, 1, 3), err
    data: dict[str, Any] = json.loads(out)
    return data


def test_between_two_instances(snap_file: Path) -> None:
    answer = _diagnose(snap_file, "vmss-web_0", "vmss-web/1")
    assert answer["verdict"] == "inconclusive"  # the guests are unknown, the network is open
    codes = _codes(answer)
    assert codes["nic"] == []
    assert codes["nsg-udr"] == []
    assert codes["inter-vnet"] == []
    hops = [(h["kind"], h["name"]) for h in answer["path"]]
    assert ("source", "vmss-web_0") in hops
    assert ("destination", "vmss-web_1") in hops


def test_from_a_vm_to_an_instance_whose_own_nic_denies(snap_file: Path) -> None:
    answer = _diagnose(snap_file, "vm-jump", "web000002")  # the computer name
    assert answer["verdict"] == "blocked"
    steps = {s["id"]: s for s in answer["steps"]}
    (deny,) = steps["nsg-udr"]["findings"]
    assert deny["code"] == "NSG_DENY"
    assert deny["resource"] == NSG_DENY  # the instance NIC's NSG, not the model's nsg-open
    (stale,) = steps["nic"]["findings"]
    assert stale["code"] == "VMSS_INSTANCE_MODEL_STALE"
    assert stale["status"] == "warn"
    assert stale["resource"] == instance_id(2)
    assert stale["command"].endswith("--instance-ids 2")
    assert "NIC vmss-web-nic has NSG nsg-deny22, the model nsg-open" in stale["message"]


def test_from_an_instance_to_a_vm(snap_file: Path) -> None:
    answer = _diagnose(snap_file, instance_id(1), "vm-jump")
    assert answer["verdict"] == "inconclusive"
    assert _codes(answer)["nsg-udr"] == []


def test_a_deallocated_instance_is_not_running(snap_file: Path) -> None:
    answer = _diagnose(snap_file, "vm-jump", "vmss-web_3")
    assert answer["verdict"] == "blocked"
    (down,) = [f for s in answer["steps"] for f in s["findings"] if f["code"] == "VM_NOT_RUNNING"]
    assert down["resource"] == instance_id(3)
    assert down["command"] == "az vmss start -g rg-test -n vmss-web --instance-ids 3"


def test_a_bare_set_name_exits_2_listing_the_instances(snap_file: Path) -> None:
    code, _, err = run(["diagnose", "-s", str(snap_file), "--from", "vm-jump", "--to",
                        "vmss-web", "--port", "22"])
    assert code == 2
    assert "vmss-web_0" in err
    assert "vmss-web_3" in err
    assert "Traceback" not in err


def test_a_missing_instance_nic_is_unknown_not_a_traceback(tmp_path: Path) -> None:
    resources = [r for r in estate() if "/virtualMachines/1/networkInterfaces/" not in r["id"]]
    path = tmp_path / "estate.json"
    path.write_text(json.dumps(resources))
    answer = _diagnose(path, "vm-jump", "vmss-web_1")
    assert answer["verdict"] == "inconclusive"
    (missing,) = [f for f in _findings(answer) if f["code"] == "NIC_NOT_FOUND"]
    assert "computeresources" in missing["message"]


def _findings(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for s in answer["steps"] for f in s["findings"]]


def test_load_balancer_pool_of_instance_ipconfigs_reaches_the_instances() -> None:
    # The pool lists the instances' ipconfigs; their NIC rows do not list the pool.
    snap = snapshot_from_json(estate())
    answer = diagnose(snap, "vm-jump", "10.0.2.100", 80).to_json()
    backends = {h["resource"]: h["decision"] for h in answer["path"] if h["kind"] == "lb-backend"}
    assert len(backends) == 4
    assert backends[instance_id(3)] == "not running"  # the stopped instance itself
    assert sorted(backends.values()).count("healthy") == 3
    assert "NO_HEALTHY" not in json.dumps(answer)


def test_graph_rows_diagnose_like_arm_bodies() -> None:
    arm = diagnose(snapshot_from_json(estate()), "vm-jump", "vmss-web/2", 22).to_json()
    graph = diagnose(snapshot_from_json(graph_rows(estate())), "vm-jump", "vmss-web/2", 22)
    assert graph.to_json()["verdict"] == arm["verdict"] == "blocked"


def test_guest_evidence_named_as_the_instance_pair_is_used(tmp_path: Path) -> None:
    snap = snapshot_from_json(estate())
    evidence = {"vmss-web/1": object()}
    from vnetdoctor.api import check_guest_names

    assert list(check_guest_names(snap, evidence)) == ["vmss-web_1"]


def test_ip_flow_verify_and_next_hop_take_an_instance(snap_file: Path) -> None:
    code, out, err = run(["ip-flow-verify", "-s", str(snap_file), "--vm", "vmss-web/2",
                          "--direction", "inbound", "--protocol", "tcp", "--local",
                          "10.0.1.6:22", "--remote", "10.0.2.4:5000", "-o", "json"])
    assert code == 1, err
    assert json.loads(out) == {"access": "Deny", "ruleName": "securityRules/deny-ssh"}
    code, out, err = run(["next-hop", "-s", str(snap_file), "--vm", "web000001",
                          "--source-ip", "10.0.1.5", "--dest-ip", "10.0.2.4", "-o", "json"])
    assert code == 0, err
    assert json.loads(out)["nextHopType"] == "VirtualNetwork"
