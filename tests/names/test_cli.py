"""``vnetdoctor resolve`` through the command line: the chain in text and JSON, exit codes,
``--resolve`` pins and their one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from dns_builders import a, link, resolver, rule, ruleset, zone

from names.estate import ACCOUNT, INBOUND_IP, PE_IP, base

BLOB = f"{ACCOUNT}.blob.core.windows.net"


def run(*args: str) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "vnetdoctor", "resolve", *args],
                          capture_output=True, text=True, timeout=60, check=False)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    path = tmp_path / "estate.json"
    path.write_text(json.dumps([
        *base(),
        resolver("dnspr-hub", "vnet-hub", {"in-1": INBOUND_IP}),
        ruleset("rs-spokes", [rule("blob", "blob.core.windows.net.", INBOUND_IP),
                              rule("onprem", "corp.example.", "192.0.2.53")], ["vnet-spoke"]),
        zone("privatelink.blob.core.windows.net", [a(ACCOUNT, PE_IP)],
             [link("l-hub", "vnet-hub")]),
        zone("corp.contoso.com", [a("db", "10.0.0.9")], [link("l-spoke", "vnet-spoke")]),
    ]))
    return path


def test_json_chain_through_ruleset_inbound_endpoint_and_zone(estate: Path) -> None:
    code, out, err = run("-s", str(estate), "--from", "vm-app", BLOB, "-o", "json")
    assert (code, err) == (0, "")
    body = json.loads(out)
    assert body["schema"] == "vnetdoctor.resolution/1"
    assert body["from"]["serverSource"] == "azure"
    assert body["from"]["vnet"].endswith("/virtualNetworks/vnet-spoke")
    assert [s["step"] for s in body["chain"]] == [
        "server", "ruleset", "inbound-endpoint", "public-cname", "zone"]
    assert body["chain"][1]["resource"].endswith("/forwardingRules/blob")
    assert body["chain"][2]["resource"].endswith("/inboundEndpoints/in-1")
    assert body["chain"][4]["record"].endswith(f"/A/{ACCOUNT}")
    assert body["answer"]["kind"] == "address"
    assert body["answer"]["address"] == PE_IP
    assert body["answer"]["resource"].endswith("/privateEndpoints/pe-blob")
    assert body["findings"] == []


def test_text_prints_the_chain_and_the_answer_last(estate: Path) -> None:
    code, out, _ = run("-s", str(estate), "--from", "vm-app", BLOB)
    assert code == 0
    lines = out.splitlines()
    assert lines[-1] == f"Answer: {BLOB} -> {PE_IP} (pe-blob)"
    assert any("ruleset" in line and "blob.core.windows.net. -> 10.0.2.4:53" in line
               for line in lines)


def test_nxdomain_exits_1_with_the_finding(estate: Path) -> None:
    code, out, _ = run("-s", str(estate), "--from", "vm-app", "web.corp.contoso.com", "-o", "json")
    assert code == 1
    body = json.loads(out)
    assert body["answer"]["kind"] == "nxdomain"
    assert [(f["code"], f["status"], f["step"]) for f in body["findings"]] == [
        ("DNS_RECORD_MISSING", "fail", 0)]


def test_a_custom_target_is_unknown_exit_3_and_a_pin_continues(estate: Path) -> None:
    code, out, _ = run("-s", str(estate), "--from", "vm-app", "app.corp.example", "-o", "json")
    assert code == 3
    assert [f["code"] for f in json.loads(out)["findings"]] == ["DNS_CUSTOM_SERVER_UNKNOWN"]
    code, out, _ = run("-s", str(estate), "--from", "vm-app", "APP.corp.example.", "-o", "json",
                       "--resolve", "app.corp.example=10.50.0.4", "--resolve", "x.y=fd00::5")
    assert code == 0
    body = json.loads(out)
    assert body["resolvedBy"] == "pin"
    assert body["answer"]["address"] == "10.50.0.4"


@pytest.mark.parametrize(("args", "message"), [
    (("--resolve", "app.corp.example=not-an-ip"), "'not-an-ip' is not an IP address"),
    (("--resolve", "no-equals-sign"), "expected NAME=IP"),
])
def test_a_bad_pin_is_a_one_line_usage_error(estate: Path, args: tuple[str, ...],
                                              message: str) -> None:
    code, out, err = run("-s", str(estate), "--from", "vm-app", "app.corp.example", *args)
    assert code == 2
    assert out == ""
    assert err.strip().count("\n") == 0
    assert message in err
    assert "Traceback" not in err


def test_an_ip_is_not_a_name_and_an_unknown_vm_is_named(estate: Path) -> None:
    code, _, err = run("-s", str(estate), "--from", "vm-app", "10.0.0.4")
    assert code == 2
    assert "is an IP address, not a name" in err
    code, _, err = run("-s", str(estate), "--from", "vm-nope", BLOB)
    assert code == 2
    assert "vm-nope" in err


def test_hostile_names_print_inert(tmp_path: Path) -> None:
    path = tmp_path / "estate.json"
    path.write_text(json.dumps([
        *base(),
        zone("corp.contoso.com", [a("db", "10.0.0.9")],
             [link("l-\x1b[31mred[bold]x[/bold]", "vnet-spoke")]),
    ]))
    code, out, _ = run("-s", str(path), "--from", "vm-app", "db.corp.contoso.com")
    assert code == 0
    assert "\x1b" not in out
    assert "[bold]x[/bold]" in out  # rich markup shown as written, not applied
    assert out.splitlines()[-1] == "Answer: db.corp.contoso.com -> 10.0.0.9"
