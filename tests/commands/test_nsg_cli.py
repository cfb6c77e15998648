"""``vnetdoctor ip-flow-verify`` and ``vnetdoctor effective-nsg``: exit codes, key lines, JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from builders import RG, nic, nsg, rule, subnet, vm, vnet
from click.testing import CliRunner

from vnetdoctor.cli import cli, main

NET = f"{RG}/Microsoft.Network"
VNET1 = f"{NET}/virtualNetworks/vnet1"


def run(*args: str) -> tuple[int, str, str]:
    """Run the real entry point (``main`` maps errors to one line and an exit code)."""
    runner = CliRunner()
    with runner.isolation() as (out, err, _):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        sys.stdout.flush()
        sys.stderr.flush()
        return code, out.getvalue().decode(), err.getvalue().decode()


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    nsg_id = f"{NET}/networkSecurityGroups/web-nsg"
    resources: list[dict[str, Any]] = [
        vnet("vnet1", "10.0.0.0/16", [subnet(VNET1, "default", "10.0.0.0/24")]),
        nic("nic1", "10.0.0.4", networkSecurityGroup={"id": nsg_id}),
        nsg("web-nsg", [
            rule("AllowWeb", 100, destinationPortRange="443"),
            rule("[bold]evil\x1b[31m", 110, destinationPortRange="8443", access="Deny"),
            rule("DenyStorage", 120, direction="Outbound", destinationAddressPrefix="Storage",
                 destinationPortRange="443", access="Deny"),
        ]),
        vm("vm1", ["nic1"]),
    ]
    path = tmp_path / "estate.json"
    path.write_text(json.dumps(resources))
    return path


def flow(estate: Path, *extra: str, direction: str = "inbound", local: str = "10.0.0.4:443",
         remote: str = "203.0.113.9:50000", protocol: str = "tcp") -> tuple[int, str, str]:
    return run("ip-flow-verify", "-s", str(estate), "--vm", "vm1", "--direction", direction,
               "--protocol", protocol, "--local", local, "--remote", remote, *extra)


def test_allow_exits_0_with_the_rule(estate: Path) -> None:
    code, out, _ = flow(estate)
    assert code == 0
    assert "Allow" in out.splitlines()[0]
    assert "securityRules/AllowWeb" in out
    assert "/properties/securityRules/0" in out


def test_json_is_azures_shape(estate: Path) -> None:
    code, out, _ = flow(estate, "-o", "json")
    assert code == 0
    assert json.loads(out) == {"access": "Allow", "ruleName": "securityRules/AllowWeb"}
    code, out, _ = flow(estate, "-o", "json", local="10.0.0.4:22")
    assert code == 1
    assert json.loads(out) == {"access": "Deny",
                               "ruleName": "defaultSecurityRules/DenyAllInBound"}


def test_query(estate: Path) -> None:
    code, out, _ = flow(estate, "-o", "json", "--query", "ruleName", local="10.0.0.4:22")
    assert code == 1
    assert json.loads(out) == "defaultSecurityRules/DenyAllInBound"


def test_unknown_exits_3_and_names_the_tag(estate: Path) -> None:
    code, out, err = flow(estate, "-o", "json", direction="outbound", local="10.0.0.4:*",
                          remote="20.60.1.2:443")
    assert code == 3
    assert json.loads(out) == {"access": "Unknown"}
    assert "'Storage'" in err
    assert "--service-tags" in err


def test_service_tags_file_resolves_the_tag(estate: Path, tmp_path: Path) -> None:
    tags = tmp_path / "tags.json"
    tags.write_text(json.dumps({"changeNumber": 1, "cloud": "Public", "values": [
        {"name": "Storage", "id": "Storage", "properties": {"addressPrefixes": ["20.60.0.0/16"]}},
    ]}))
    code, out, _ = flow(estate, "--service-tags", str(tags), "-o", "json", direction="outbound",
                        local="10.0.0.4:*", remote="20.60.1.2:443")
    assert code == 1
    assert json.loads(out)["ruleName"] == "securityRules/DenyStorage"
    code, _, _ = flow(estate, "--service-tags", str(tags), direction="outbound",
                      local="10.0.0.4:*", remote="8.8.8.8:443")
    assert code == 0


def test_explain_shows_every_rule(estate: Path) -> None:
    code, out, _ = flow(estate, "--explain")
    assert code == 0
    assert "every rule, field by field" in out
    assert "decides" in out
    assert "not reached" in out
    code, out, _ = flow(estate, "--explain", "-o", "json")
    data = json.loads(out)
    assert data["access"] == "Allow"
    layer = data["explain"]["layers"][1]
    assert layer["layer"] == "networkInterface"
    assert layer["rules"][0]["fields"] == {"protocol": "yes", "source": "yes", "sourcePort": "yes",
                                           "destination": "yes", "destinationPort": "yes"}


def test_hostile_rule_names_print_inert(estate: Path) -> None:
    code, out, _ = flow(estate, local="10.0.0.4:8443")
    assert code == 1
    assert "[bold]evil\\x1b[31m" in out
    assert "\x1b" not in out


@pytest.mark.parametrize(("args", "message"), [
    (("--vm", "nope"), "no virtual machine named 'nope'"),
    (("--local", "10.0.0.4"), "--local: expected IP:PORT"),
    (("--remote", "1.2.3.4:99999"), "--remote: invalid port"),
    (("--local", "10.0.0.5:22"), "local IP 10.0.0.5 is not a private IP of VM 'vm1'"),
    (("--protocol", "icmp"), "--protocol 'icmp': expected tcp or udp"),
    (("--protocol", "*"), "--protocol '*': expected tcp or udp"),
    (("--protocol", "Esp"), "--protocol 'Esp': expected tcp or udp"),
    (("--direction", "sideways"), "--direction 'sideways': expected inbound or outbound"),
    (("--nic", "nic9"), "no network interface named 'nic9'"),
])
def test_bad_input_exits_2_with_one_line(estate: Path, args: tuple[str, str],
                                         message: str) -> None:
    base = {"--vm": "vm1", "--direction": "inbound", "--protocol": "tcp",
            "--local": "10.0.0.4:443", "--remote": "1.2.3.4:1"}
    base[args[0]] = args[1]
    argv = ["ip-flow-verify", "-s", str(estate)]
    for key, value in base.items():
        argv += [key, value]
    code, out, err = run(*argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("vnetdoctor: error: ")
    assert message in err
    assert "Traceback" not in err


def test_bad_service_tags_file_exits_2(estate: Path, tmp_path: Path) -> None:
    bad = tmp_path / "tags.json"
    bad.write_text("{not json")
    code, _, err = flow(estate, "--service-tags", str(bad))
    assert code == 2
    assert str(bad) in err
    assert err.count("\n") == 1


def test_effective_nsg_json_and_text(estate: Path) -> None:
    code, out, err = run("effective-nsg", "-s", str(estate), "--vm", "vm1", "-o", "json")
    assert code == 3  # the Storage tag cannot be expanded without --service-tags
    assert "Storage" in err
    data = json.loads(out)
    (entry,) = data["value"]
    assert entry["association"] == {"networkInterface": {"id": f"{NET}/networkInterfaces/nic1"}}
    names = [r["name"] for r in entry["effectiveSecurityRules"]]
    assert names[0] == "securityRules/AllowWeb"
    assert "defaultSecurityRules/DenyAllOutBound" in names
    web = entry["effectiveSecurityRules"][0]
    assert web["destinationPortRange"] == "443-443"
    assert web["sourceAddressPrefix"] == "0.0.0.0/0"
    code, out, _ = run("effective-nsg", "-s", str(estate), "--nic", "nic1")
    assert code == 3
    assert "NSG web-nsg on network interface nic1" in out
    assert "VirtualNetwork (2 prefixes)" in out
    assert "note:" in out


def test_effective_nsg_complete_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "plain.json"
    path.write_text(json.dumps([
        vnet("vnet1", "10.0.0.0/16", [subnet(VNET1, "default", "10.0.0.0/24")]),
        nic("nic1", "10.0.0.4"), vm("vm1", ["nic1"]),
    ]))
    code, out, _ = run("effective-nsg", "-s", str(path), "--nic", "nic1", "-o", "json")
    assert code == 0
    assert json.loads(out) == {"value": []}
    code, out, _ = run("effective-nsg", "-s", str(path), "--vm", "vm1")
    assert code == 0
    assert "No NSG applies" in out
    code, _, err = run("effective-nsg", "-s", str(path))
    assert code == 2
    assert "--vm" in err


def test_help_has_examples() -> None:
    runner = CliRunner()
    for command in ("ip-flow-verify", "effective-nsg"):
        result = runner.invoke(cli, [command, "--help"])
        assert result.exit_code == 0
        assert "Examples:" in result.output
        assert f"vnetdoctor {command}" in result.output
