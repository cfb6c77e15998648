"""``vnetdoctor collect`` on the command line: exit codes, summary, progress, the missing extra."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from collect.conftest import (
    CLI_WATCHER,
    NET_EFFECTIVE,
    NET_VPN,
    SHARED_KEY,
    SUB_CLI,
    SUB_DENIED,
    SUB_FLUENT,
    SUB_NET,
    TOKEN,
    FakeCredential,
    needs_sdk,
    transport,
)
from vnetdoctor.cli import main

HINT = "pip install 'vnetdoctor[azure]'"


def run(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture
def replayed(
    fake_arm: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Any]:
    """Make the command's default credential and transport the fake ones; return the fake."""

    def install(*names: str, **options: Any) -> Any:
        from vnetdoctor.collect import transport as sdk

        fake = fake_arm(*names, **options)
        monkeypatch.setattr(sdk, "default_credential", FakeCredential)
        monkeypatch.setattr(sdk, "default_transport", lambda: transport(fake))
        return fake

    return install


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["collect", "--help"]) == 0
    out = capsys.readouterr().out
    for expected in ("Examples:", "--effective", "--resource-group", "--out"):
        assert expected in out


@needs_sdk
def test_collect_writes_the_file_and_prints_a_summary(
    replayed: Callable[..., Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = replayed(NET_EFFECTIVE, NET_VPN)
    fake.forbid(SUB_DENIED)
    out = tmp_path / "estate.json"
    code = run(["collect", "--subscription", SUB_NET, "--subscription", SUB_FLUENT,
                "--subscription", SUB_DENIED, "--effective", "--out", str(out), "-o", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["out"] == str(out)
    assert summary["resources"]["microsoft.network/connections"] == 2
    assert summary["effective"] == {"nics": 1, "routeTables": 1, "networkSecurityGroups": 1}
    assert {w["code"] for w in summary["warnings"]} >= {"SUBSCRIPTION_UNREADABLE"}
    assert summary["requests"]["byMethod"].keys() <= {"GET", "POST"}
    text = out.read_text()
    for leak in (TOKEN, SHARED_KEY):
        assert leak not in text
        assert leak not in captured.out + captured.err
        assert leak not in caplog.text


@needs_sdk
def test_text_summary(replayed: Callable[..., Any], tmp_path: Path,
                      capsys: pytest.CaptureFixture[str]) -> None:
    replayed(CLI_WATCHER)
    out = tmp_path / "estate.json"
    assert run(["collect", "--subscription", SUB_CLI, "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "microsoft.compute/virtualmachines" in text
    assert f"wrote {out}" in text
    assert run(["inventory", "-s", str(out), "-o", "json"]) == 0
    vms = json.loads(capsys.readouterr().out)["vms"]
    assert {vm["name"]: vm["powerState"] for vm in vms} == {
        "vm1": "running", "vm2": "running", "vm3": "running"
    }


@needs_sdk
def test_failure_exits_4_and_leaves_the_old_file(
    replayed: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    fixtures: Path,
) -> None:
    from collect.replay import recorded_reply

    fake = replayed(CLI_WATCHER)
    fake.inject(lambda s: s.method == "POST", recorded_reply(fixtures, 504), repeat=True)
    out = tmp_path / "estate.json"
    out.write_text("previous")
    assert run(["collect", "--subscription", SUB_CLI, "--out", str(out)]) == 4
    err = capsys.readouterr().err
    assert err.startswith("vnetdoctor: error: Azure answered")
    assert err.count("\n") == 1
    assert "GatewayTimeout" in err
    assert out.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["estate.json"]


@needs_sdk
def test_bad_arguments_exit_2_before_any_request(
    replayed: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = replayed(CLI_WATCHER)
    assert run(["collect", "--subscription", "prod", "--out", str(tmp_path / "e.json")]) == 2
    assert "not a subscription id" in capsys.readouterr().err
    assert run(["collect", "--subscription", SUB_CLI, "-g", "rg'; drop",
                "--out", str(tmp_path / "e.json")]) == 2
    assert run(["collect", "--subscription", SUB_CLI,
                "--out", str(tmp_path / "missing" / "e.json")]) == 2
    assert "folder does not exist" in capsys.readouterr().err
    assert fake.requests == []


def test_without_the_extra_collect_prints_the_install_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("azure.identity", "azure.mgmt.resourcegraph", "azure.mgmt.network"):
        monkeypatch.setitem(sys.modules, name, None)  # import of these now fails
    code = run(["collect", "--subscription", SUB_CLI, "--out", str(tmp_path / "e.json")])
    assert code == 2
    err = capsys.readouterr().err
    assert HINT in err
    assert err.count("\n") == 1
    assert not (tmp_path / "e.json").exists()


def test_without_the_azure_sdk_at_all(tmp_path: Path) -> None:
    """A fresh interpreter where no ``azure`` package can be imported: the CLI still starts,
    ``collect`` exits 2 with the hint, and other commands work."""
    script = (
        "import sys; sys.modules['azure'] = None\n"
        "from vnetdoctor.cli import main\n"
        "sys.argv[0] = 'vnetdoctor'; main()\n"
    )

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                              text=True, timeout=60, check=False)

    proc = cli("collect", "--subscription", SUB_CLI, "--out", str(tmp_path / "e.json"))
    assert proc.returncode == 2, proc.stderr
    assert HINT in proc.stderr
    assert cli("inventory", "--sample", "-o", "none").returncode == 0
    assert cli("collect", "--help").returncode == 0
