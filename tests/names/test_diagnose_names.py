"""``diagnose --to NAME`` and private endpoints as destinations, through the command line, on
ARM bodies in the shapes Azure returns (tests/names/pe_estate.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from names.pe_estate import BLOB, PE_IP, estate
from vnetdoctor.api import diagnose
from vnetdoctor.ingest.loader import snapshot_from_json

PROBE_IPTABLES = (
    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
)
PROBE_IP_ADDR = (
    "2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc mq state UP group default\n"
    "    link/ether 00:0d:3a:07:f2:01 brd ff:ff:ff:ff:ff:ff\n"
    "    inet 10.1.0.4/24 metric 100 brd 10.1.0.255 scope global eth0\n"
)


def run(tmp_path: Path, body: list[dict[str, Any]], *args: str,
        guest: bool = False) -> tuple[int, dict[str, Any], str]:
    snap = tmp_path / "estate.json"
    snap.write_text(json.dumps(body))
    extra: list[str] = []
    if guest:
        folder = tmp_path / "vm-app"
        folder.mkdir()
        (folder / "iptables-save.txt").write_text(PROBE_IPTABLES)
        (folder / "ip-addr.txt").write_text(PROBE_IP_ADDR)
        extra = ["--guest", f"vm-app={folder}"]
    proc = subprocess.run(
        [sys.executable, "-m", "vnetdoctor", "diagnose", "-s", str(snap), "--from", "vm-app",
         *args, *extra, "-o", "json"],
        capture_output=True, text=True, timeout=60, check=False)
    data = json.loads(proc.stdout) if proc.stdout.strip() else {}
    return proc.returncode, data, proc.stderr


def statuses(data: dict[str, Any]) -> dict[int, str]:
    return {s["number"]: s["status"] for s in data["steps"]}


def codes(data: dict[str, Any], step: int) -> list[str]:
    return [f["code"] for s in data["steps"] if s["number"] == step for f in s["findings"]]


def test_a_name_that_resolves_privately_is_traced_to_the_endpoint(tmp_path: Path) -> None:
    rc, data, _ = run(tmp_path, estate(), "--to", BLOB, "--port", "443", guest=True)
    assert (rc, data["verdict"]) == (0, "reachable")
    dst = data["query"]["destination"]
    assert dst["ip"] == PE_IP
    assert dst["name"] == "pe-blob"
    assert dst["resolution"] == {"name": BLOB, "resolvedBy": "azure-dns", "answer": "address",
                                 "address": PE_IP, "kind": "private-endpoint"}
    steps = statuses(data)
    assert steps[0] == "pass"
    assert codes(data, 0) == ["DNS_RESOLVED"]
    assert "privatelink.blob.core.windows.net" in data["steps"][0]["summary"]
    # no guest at the endpoint: steps 4 and 8 say so instead of asking for probe evidence
    for number in (4, 8):
        step = next(s for s in data["steps"] if s["number"] == number)
        assert step["status"] == "skip"
        assert "private endpoint has no guest" in step["summary"]
    assert "GUEST_EVIDENCE_MISSING" not in codes(data, 3)
    # the subnet's NSG (which would deny nothing here) is bypassed: policies are Disabled
    assert codes(data, 2) == ["PRIVATE_ENDPOINT_NSG_NOT_APPLIED"]
    hop = next(h for h in data["path"] if h["kind"] == "nsg-inbound")
    assert hop["decision"] == "not applied"


def test_without_source_guest_evidence_the_answer_stays_inconclusive(tmp_path: Path) -> None:
    rc, data, _ = run(tmp_path, estate(), "--to", BLOB, "--port", "443")
    assert (rc, data["verdict"]) == (3, "inconclusive")
    assert statuses(data)[3] == "unknown"
    messages = [f["message"] for s in data["steps"] for f in s["findings"]
                if f["code"] == "GUEST_EVIDENCE_MISSING"]
    assert messages
    assert all("vm-app" in m for m in messages)


def test_subnet_nsg_is_ignored_while_network_policies_are_disabled(tmp_path: Path) -> None:
    rc, data, _ = run(tmp_path, estate(deny_443=True, policies="Disabled"), "--to", BLOB,
                      "--port", "443", guest=True)
    assert (rc, data["verdict"]) == (0, "reachable")
    assert "NSG_DENY" not in [b["code"] for b in data["blockers"]]


@pytest.mark.parametrize("policies", ["Enabled", "NetworkSecurityGroupEnabled"])
def test_subnet_nsg_blocks_when_network_policies_enable_it(tmp_path: Path, policies: str) -> None:
    rc, data, _ = run(tmp_path, estate(deny_443=True, policies=policies), "--to", BLOB,
                      "--port", "443", guest=True)
    assert (rc, data["verdict"]) == (1, "blocked")
    assert [b["code"] for b in data["blockers"]] == ["NSG_DENY"]
    assert "nsg-pe" in data["blockers"][0]["resource"]


def test_route_table_policy_alone_still_bypasses_the_nsg(tmp_path: Path) -> None:
    rc, data, _ = run(tmp_path, estate(deny_443=True, policies="RouteTableEnabled"), "--to",
                      BLOB, "--port", "443", guest=True)
    assert (rc, data["verdict"]) == (0, "reachable")


@pytest.mark.parametrize("status", ["Pending", "Rejected", "Disconnected"])
def test_a_connection_that_is_not_approved_blocks(tmp_path: Path, status: str) -> None:
    rc, data, _ = run(tmp_path, estate(status=status, manual=True), "--to", BLOB,
                      "--port", "443", guest=True)
    assert (rc, data["verdict"]) == (1, "blocked")
    assert [b["code"] for b in data["blockers"]] == ["PRIVATE_ENDPOINT_NOT_APPROVED"]
    blocker = data["blockers"][0]
    assert status in blocker["message"]
    assert blocker["resource"].endswith("/pe-blob")
    assert blocker["pointer"] == ("/properties/manualPrivateLinkServiceConnections/0/properties/"
                                  "privateLinkServiceConnectionState/status")


@pytest.mark.parametrize("to", ["pe-blob", PE_IP])
def test_the_endpoint_by_name_or_address_needs_no_dns(tmp_path: Path, to: str) -> None:
    rc, data, _ = run(tmp_path, estate(status="Pending"), "--to", to, "--port", "443",
                      guest=True)
    assert (rc, data["verdict"]) == (1, "blocked")
    assert [s["number"] for s in data["steps"]] == list(range(1, 10))  # no step 0
    assert "resolution" not in data["query"]["destination"]
    assert [b["code"] for b in data["blockers"]] == ["PRIVATE_ENDPOINT_NOT_APPROVED"]


def test_a_public_name_is_inconclusive_and_not_guessed(tmp_path: Path) -> None:
    rc, data, _ = run(tmp_path, estate(), "--to", "www.example.com", "--port", "443")
    assert (rc, data["verdict"]) == (3, "inconclusive")
    assert statuses(data) == {0: "unknown", **dict.fromkeys(range(1, 10), "skip")}
    assert codes(data, 0) == ["DNS_NAME_UNKNOWN"]
    assert data["query"]["destination"]["ip"] is None
    assert [h["decision"] for h in data["path"]] == ["unknown"]  # nothing traced


def test_a_linked_zone_without_the_record_blocks_at_step_0(tmp_path: Path) -> None:
    rc, data, _ = run(tmp_path, estate(), "--to", "nope.corp.contoso.com", "--port", "443")
    assert (rc, data["verdict"]) == (1, "blocked")
    assert [b["code"] for b in data["blockers"]] == ["DNS_RECORD_MISSING"]
    assert data["query"]["destination"]["resolution"]["answer"] == "nxdomain"


def test_the_private_endpoint_without_its_a_record_is_nxdomain(tmp_path: Path) -> None:
    rc, data, _ = run(tmp_path, estate(record=False), "--to", BLOB, "--port", "443")
    assert (rc, data["verdict"]) == (1, "blocked")
    assert [b["code"] for b in data["blockers"]] == ["DNS_RECORD_MISSING"]


def test_a_pin_answers_before_dns(tmp_path: Path) -> None:
    rc, data, _ = run(tmp_path, estate(), "--to", "www.example.com", "--port", "443",
                      "--resolve", f"WWW.example.com.={PE_IP}", guest=True)
    assert (rc, data["verdict"]) == (0, "reachable")
    assert data["query"]["destination"]["resolution"]["resolvedBy"] == "pin"


@pytest.mark.parametrize("pin", ["www.example.com=not-an-ip", "no-equals-sign", "=10.0.0.1"])
def test_a_bad_resolve_is_one_line_and_exit_2(tmp_path: Path, pin: str) -> None:
    rc, data, err = run(tmp_path, estate(), "--to", "www.example.com", "--port", "443",
                        "--resolve", pin)
    assert rc == 2
    assert data == {}
    assert len(err.strip().splitlines()) == 1
    assert "--resolve" in err
    assert "Traceback" not in err


def test_library_call_takes_pins_and_keeps_vm_destinations_without_step_0() -> None:
    snap = snapshot_from_json(estate())
    named = diagnose(snap, "vm-app", BLOB, 443)
    assert named.steps[0].id == "name-resolution"
    assert named.query.resolution is not None
    by_ip = diagnose(snap, "vm-app", PE_IP, 443)
    assert by_ip.steps[0].number == 1
    assert by_ip.query.resolution is None
    assert by_ip.query.destination.private_endpoint is not None
