"""``diagnose --from BASTION``: each Bastion code from one estate, the whole answer asserted,
through the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from builders import RG, rule

from bastion.estate import (
    BASTION,
    BASTION_NSG,
    TARGET_NSG,
    UDR,
    deny_all,
    estate,
    required_rules,
)

GUEST_ONLY = {"guest-firewall": "unknown", "listener": "unknown"}


def run(args: list[str]) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "vnetdoctor", *args], capture_output=True,
                          text=True, timeout=120, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def diagnose(tmp_path: Path, resources: list[dict[str, Any]], dst: str = "vm-app",
             port: str = "22", src: str = "bas-hub") -> tuple[int, dict[str, Any]]:
    path = tmp_path / "estate.json"
    path.write_text(json.dumps(resources))
    code, out, err = run(["diagnose", "-s", str(path), "--from", src, "--to", dst,
                          "--port", port, "-o", "json"])
    assert code in (0, 1, 3), err
    data: dict[str, Any] = json.loads(out)
    return code, data


def statuses(answer: dict[str, Any]) -> dict[str, str]:
    """The steps that did not pass or skip."""
    return {s["id"]: s["status"] for s in answer["steps"] if s["status"] not in ("pass", "skip")}


def blockers(answer: dict[str, Any]) -> list[tuple[str, int, str | None, str | None]]:
    return [(b["code"], b["step"], b["resource"], b["pointer"]) for b in answer["blockers"]]


def codes(answer: dict[str, Any], step: str) -> list[tuple[str, str]]:
    found = next(s for s in answer["steps"] if s["id"] == step)
    return [(f["code"], f["status"]) for f in found["findings"]]


def test_open_session_within_the_hub(tmp_path: Path) -> None:
    code, answer = diagnose(tmp_path, estate(bastion_rules=required_rules()))
    assert code == 3
    assert answer["verdict"] == "inconclusive"  # the guest is unknown; the network is open
    assert answer["blockers"] == []
    assert statuses(answer) == GUEST_ONLY
    src = answer["query"]["source"]
    assert (src["kind"], src["name"], src["ip"], src["resource"]) == (
        "bastion", "bas-hub", "10.0.254.4", BASTION)
    hops = [(h["kind"], h["name"], h["decision"]) for h in answer["path"]]
    assert hops[0] == ("source", "bas-hub", "originate")
    assert ("nsg-outbound", "nsg-bastion", "Allow") in hops
    assert hops[-1] == ("destination", "vm-app", "deliver")


def test_bastion_by_id_and_case(tmp_path: Path) -> None:
    _, answer = diagnose(tmp_path, estate(), src=BASTION.upper())
    assert answer["query"]["source"]["kind"] == "bastion"
    assert statuses(answer) == GUEST_ONLY


def test_required_nsg_flow_denied(tmp_path: Path) -> None:
    """No rule admits GatewayManager (nor Internet) on 443 before a deny-all: blocked."""
    rules = [r for r in required_rules() if r["name"] not in (
        "AllowHttpsInbound", "AllowGatewayManagerInbound")]
    code, answer = diagnose(tmp_path, estate(bastion_rules=[*rules, deny_all("Inbound")]))
    assert code == 1
    assert answer["verdict"] == "blocked"
    pointer = "/properties/securityRules/6"  # DenyAllInbound, after the six kept rules
    assert blockers(answer) == [
        ("BASTION_SUBNET_NSG_INVALID", 2, BASTION_NSG, pointer),
        ("BASTION_SUBNET_NSG_INVALID", 2, BASTION_NSG, pointer),
    ]
    messages = [b["message"] for b in answer["blockers"]]
    assert "inbound TCP 443 from Internet to AzureBastionSubnet (AllowHttpsInbound)" in messages[0]
    assert "from GatewayManager to AzureBastionSubnet" in messages[1]
    assert statuses(answer) == {"nsg-udr": "fail", **GUEST_ONLY}


def test_internet_rule_satisfies_gateway_manager(tmp_path: Path) -> None:
    """Effectively judged: Internet 443 also admits GatewayManager (a public tag)."""
    rules = [r for r in required_rules() if r["name"] != "AllowGatewayManagerInbound"]
    _, answer = diagnose(tmp_path, estate(bastion_rules=[*rules, deny_all("Inbound")]))
    assert answer["blockers"] == []
    assert statuses(answer) == GUEST_ONLY


def test_session_denied_by_the_bastion_nsg(tmp_path: Path) -> None:
    deny = rule("DenySshOut", 100, direction="Outbound", access="Deny")
    rules = [r for r in required_rules() if r["name"] != "AllowSshRdpOutbound"]
    code, answer = diagnose(tmp_path, estate(bastion_rules=[deny, *rules]))
    assert code == 1
    assert answer["verdict"] == "blocked"
    assert blockers(answer) == [
        ("BASTION_SUBNET_NSG_INVALID", 2, BASTION_NSG, "/properties/securityRules/0"),
        ("NSG_DENY", 2, BASTION_NSG, "/properties/securityRules/0"),
    ]
    assert "outbound TCP 22 from AzureBastionSubnet to VirtualNetwork" in (
        answer["blockers"][0]["message"])


def test_target_nsg_denies_the_session(tmp_path: Path) -> None:
    code, answer = diagnose(tmp_path, estate(target_rules=[rule("DenySsh", 100, access="Deny")]))
    assert code == 1
    assert answer["verdict"] == "blocked"
    assert blockers(answer) == [
        ("BASTION_TARGET_NSG_DENY", 2, TARGET_NSG, "/properties/securityRules/0")]
    assert "AzureBastionSubnet" in answer["blockers"][0]["remediation"]


def test_target_allows_only_part_of_the_bastion_subnet(tmp_path: Path) -> None:
    """Which instance opens the session is not recorded: a decision that differs is unknown."""
    half = rule("DenyUpperHalf", 100, access="Deny", sourceAddressPrefix="10.0.254.32/27")
    code, answer = diagnose(tmp_path, estate(target_rules=[half]))
    assert code == 3
    assert answer["blockers"] == []
    assert codes(answer, "nsg-udr") == [("NSG_UNKNOWN", "unknown")]
    assert statuses(answer) == {"nsg-udr": "unknown", **GUEST_ONLY}


def test_route_table_on_the_bastion_subnet(tmp_path: Path) -> None:
    code, answer = diagnose(tmp_path, estate(udr=True))
    assert code == 3
    assert answer["blockers"] == []
    assert codes(answer, "nsg-udr") == [("BASTION_SUBNET_UDR", "warn")]
    finding = next(s for s in answer["steps"] if s["id"] == "nsg-udr")["findings"][0]
    assert finding["resource"] == UDR
    assert statuses(answer) == {"nsg-udr": "warn", **GUEST_ONLY}


@pytest.mark.parametrize(("sku", "port", "blocked"), [
    ("Basic", "2222", True),
    ("Developer", "2222", True),
    ("Basic", "3389", False),
    ("Standard", "2222", False),
    ("Premium", "8443", False),
])
def test_port_per_sku(tmp_path: Path, sku: str, port: str, blocked: bool) -> None:
    code, answer = diagnose(tmp_path, estate(sku), port=port)
    if blocked:
        assert (code, answer["verdict"]) == (1, "blocked")
        assert blockers(answer) == [("BASTION_SKU_UNSUPPORTED_PORT", 2, BASTION, "/sku/name")]
        assert f"22 and 3389 only, not {port}" in answer["blockers"][0]["message"]
    else:
        assert (code, answer["verdict"], answer["blockers"]) == (3, "inconclusive", [])
        assert statuses(answer) == GUEST_ONLY


@pytest.mark.parametrize("sku", ["Basic", "Standard", "Premium"])
def test_peered_target_reached_by_basic_and_up(tmp_path: Path, sku: str) -> None:
    _, answer = diagnose(tmp_path, estate(sku), dst="vm-spoke")
    assert answer["blockers"] == []
    assert statuses(answer) == GUEST_ONLY
    assert answer["query"]["destination"]["ip"] == "10.1.1.4"


def test_developer_reaches_no_peered_vnet(tmp_path: Path) -> None:
    code, answer = diagnose(tmp_path, estate("Developer"), dst="vm-spoke")
    assert (code, answer["verdict"]) == (1, "blocked")
    assert blockers(answer) == [("BASTION_SKU_NO_PEERING", 9, BASTION, "/sku/name")]
    _, same = diagnose(tmp_path, estate("Developer"), dst="vm-app")
    assert same["blockers"] == []


@pytest.mark.parametrize("sku", ["Basic", "Standard", "Premium"])
def test_two_peerings_away_is_not_transitive(tmp_path: Path, sku: str) -> None:
    code, answer = diagnose(tmp_path, estate(sku), dst="vm-far")
    assert (code, answer["verdict"]) == (1, "blocked")
    assert [b[:2] for b in blockers(answer)] == [("PEERING_NOT_TRANSITIVE", 9)]


def test_bastion_outside_azure_bastion_subnet(tmp_path: Path) -> None:
    """A warning at load, and the session's checks unknown (never reachable, no traceback)."""
    code, answer = diagnose(tmp_path, estate(subnet_name="bastion"))
    assert code == 3
    assert answer["blockers"] == []
    assert codes(answer, "nic")[0] == ("BASTION_SUBNET_INVALID", "unknown")
    assert "'bastion', not AzureBastionSubnet" in (
        answer["steps"][0]["findings"][0]["message"])
    assert answer["steps"][0]["status"] == "unknown"
    assert answer["query"]["source"]["ip"] is None


def test_small_bastion_subnet_is_a_warning(tmp_path: Path) -> None:
    resources = estate()
    resources[0]["properties"]["subnets"][0]["properties"]["addressPrefix"] = "10.0.254.0/27"
    _, answer = diagnose(tmp_path, resources)
    assert codes(answer, "nic") == [("BASTION_SUBNET_INVALID", "warn")]
    assert answer["blockers"] == []


def test_text_output_and_usage_errors(tmp_path: Path) -> None:
    path = tmp_path / "estate.json"
    path.write_text(json.dumps(estate(target_rules=[rule("DenySsh", 100, access="Deny")])))
    code, out, _ = run(["diagnose", "-s", str(path), "--from", "bas-hub", "--to", "vm-app",
                        "--port", "22"])
    assert code == 1
    assert "BASTION_TARGET_NSG_DENY" in out
    assert "bas-hub" in out
    code, _, err = run(["diagnose", "-s", str(path), "--from", "bas-hub", "--to", "vm-app"])
    assert code == 2
    assert "needs --port" in err
    code, _, err = run(["diagnose", "-s", str(path), "--from", "bas-hub", "--to", "vm-app",
                        "--port", "22", "--protocol", "udp"])
    assert code == 2
    assert "TCP" in err


def test_name_of_both_a_vm_and_a_bastion_is_ambiguous(tmp_path: Path) -> None:
    resources = estate()
    resources[-1]["name"] = "vm-app"
    resources[-1]["id"] = f"{RG}/Microsoft.Network/bastionHosts/vm-app"
    path = tmp_path / "estate.json"
    path.write_text(json.dumps(resources))
    code, _, err = run(["diagnose", "-s", str(path), "--from", "vm-app", "--to", "vm-spoke",
                        "--port", "22"])
    assert code == 2
    assert "bastionHosts/vm-app" in err
    assert "virtualMachines/vm-app" in err


def test_developer_host_without_a_subnet(tmp_path: Path) -> None:
    """A Developer host names only its VNet: the SKU still decides peering, the rest is unknown."""
    resources = estate("Developer")
    resources[-1]["properties"]["ipConfigurations"] = []
    resources[-1]["properties"]["virtualNetwork"] = {"id": resources[0]["id"]}
    code, answer = diagnose(tmp_path, resources)
    assert (code, answer["verdict"], answer["blockers"]) == (3, "inconclusive", [])
    assert codes(answer, "nic") == [("BASTION_SUBNET_INVALID", "unknown")]
    code, answer = diagnose(tmp_path, resources, dst="vm-spoke")
    assert (code, answer["verdict"]) == (1, "blocked")
    assert blockers(answer) == [("BASTION_SKU_NO_PEERING", 9, BASTION, "/sku/name")]
