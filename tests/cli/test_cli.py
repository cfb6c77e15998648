"""The command line: exit codes, one-line errors, az-style output options."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from builders import nic, nsg, rule, vm, vnet
from click.testing import CliRunner

from vnetdoctor import __version__
from vnetdoctor.cli import cli, main


def run(args: list[str]) -> tuple[int, str, str]:
    """Run ``main`` as the console script does, capturing exit code, stdout and stderr."""
    proc = subprocess.run(
        [sys.executable, "-m", "vnetdoctor", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    path = tmp_path / "estate.json"
    hostile = nsg("nsg-\x1b[31mred", rules=[rule("r", description="<img src=x onerror=alert(1)>")])
    bad_vm = vm("vm-[bold]markup[/bold]", nics=["nic1"])
    path.write_text(json.dumps([vnet(), hostile, nic(), bad_vm, vm("vm-off", [], "deallocated")]))
    return path


def test_inventory_json_shape(estate: Path) -> None:
    code, out, err = run(["inventory", "-s", str(estate), "-o", "json"])
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {"vms", "warnings"}
    by_name = {v["name"]: v for v in data["vms"]}
    assert by_name["vm-off"]["powerState"] == "deallocated"
    (nic_row,) = by_name["vm-[bold]markup[/bold]"]["nics"]
    assert nic_row["privateIPAddresses"] == ["10.0.0.4"]
    assert nic_row["subnet"].endswith("/virtualNetworks/vnet1/subnets/default")
    assert nic_row["vnet"].endswith("/virtualNetworks/vnet1")
    assert {
        "name",
        "id",
        "privateIPAddresses",
        "subnet",
        "vnet",
        "nsg",
        "subnetNsg",
        "routeTable",
    } <= set(nic_row)


def test_query_like_az(estate: Path) -> None:
    code, out, _ = run(
        [
            "inventory",
            "-s",
            str(estate),
            "-o",
            "json",
            "--query",
            "vms[?powerState=='deallocated'].name",
        ]
    )
    assert code == 0
    assert json.loads(out) == ["vm-off"]
    code, out, _ = run(["inventory", "-s", str(estate), "--query", "length(vms)"])
    assert (code, out.strip()) == (0, "2")


def test_text_output_prints_hostile_names_inert(estate: Path) -> None:
    code, out, _ = run(["inventory", "-s", str(estate)])
    assert code == 0
    assert "vm-[bold]markup[/bold]" in out  # not interpreted as rich markup
    assert "\x1b" not in out  # no terminal escapes from resource names
    assert "10.0.0.4" in out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('[{"id": ', "malformed JSON"),
        ('{"foo": 1}', "expected an array of ARM resources"),
        ('[{"name": "x"}]', "has no 'id'"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    code, out, err = run(["inventory", "-s", str(path)])
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"vnetdoctor: error: {path}")
    assert expected in err
    assert "Traceback" not in err


def test_debug_adds_the_traceback(tmp_path: Path) -> None:
    code, _, err = run(["inventory", "-s", str(tmp_path / "absent.json"), "--debug"])
    assert code == 2
    assert "Traceback" in err
    assert "no such file or folder" in err


def test_hostile_path_stays_on_one_line(tmp_path: Path) -> None:
    evil = tmp_path / "a\nb\x1b[2J.json"
    code, _, err = run(["inventory", "-s", str(evil)])
    assert code == 2
    assert err.count("\n") == 1
    assert "\x1b" not in err


def test_usage_errors_exit_2() -> None:
    code, _, err = run(["inventory"])
    assert code == 2
    assert "give -s PATH" in err
    code, _, err = run(["inventory", "--sample", "-s", "x.json"])
    assert code == 2
    code, _, err = run(["inventory", "-o", "yaml-ish", "--sample"])
    assert code == 2
    assert "yaml-ish" in err


def test_bad_query_is_a_usage_error(estate: Path) -> None:
    code, _, err = run(["inventory", "-s", str(estate), "-o", "json", "--query", "vms[?"])
    assert code == 2
    assert "invalid --query" in err


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_every_command_has_help_with_examples() -> None:
    for name in cli.commands:
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Examples:" in result.output, f"{name} --help has no examples"


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(shell: str) -> None:
    result = CliRunner().invoke(cli, ["completion", shell])
    assert result.exit_code == 0
    assert "_VNETDOCTOR_COMPLETE" in result.output


def test_main_maps_internal_errors_to_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("kaput\nsecond line")

    monkeypatch.setattr("vnetdoctor.cli.cli.main", boom)
    with pytest.raises(SystemExit) as info:
        main(["inventory"])
    assert info.value.code == 70
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "internal error: RuntimeError: kaput\\nsecond line" in err
