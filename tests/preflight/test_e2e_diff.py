"""End to end: a Terraform plan that changes an NSG rule and a route on the sample estate, and
``vnetdoctor diff`` reports exactly the pairs whose verdict changes."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from preflight.plans import sample_change_plan
from vnetdoctor.analyses.diff import Pair, diff_snapshots
from vnetdoctor.api import diagnose
from vnetdoctor.cli import main
from vnetdoctor.ingest.loader import load_snapshot
from vnetdoctor.ingest.preflight import apply_plan
from vnetdoctor.samples import sample_path, snapshot_files

DBS = ("vm-db-01", "vm-db-02", "vm-db-03")
APP_TIER = ("vm-api-01", "vm-app-01", "vm-app-02", "vm-app-03", "vm-cache-01", "vm-crm-01")
WEB_SPOKE = (*APP_TIER, "vm-web-01", "vm-web-02")


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(sample_change_plan(), indent=2), encoding="utf-8")
    return path


def _expected() -> tuple[set[tuple[str, str, int]], set[tuple[str, str, int]]]:
    worse = {(src, db, 5432) for src in APP_TIER for db in DBS}
    better = {(src, "vm-pay-01", port) for src in WEB_SPOKE for port in (22, 443, 5432)}
    return worse, better


def test_apply_plan_changes_rule_and_route(plan_file: Path) -> None:
    assert sample_path().is_dir()
    before = load_snapshot(snapshot_files())
    after = apply_plan(before, plan_file)
    nsg = after.network_security_groups.find("nsg-snet-data")
    rules = {r.name: r for r in nsg.security_rules}
    assert rules["deny-sql"].priority == 200
    assert rules["Allow-App-To-Db"].priority == 210
    assert (
        len(nsg.security_rules)
        == len(before.network_security_groups.find("nsg-snet-data").security_rules) + 1
    )
    route = {r.name: r for r in after.route_tables.find("rt-spoke-web").routes}["isolate-snet-pay"]
    assert route.next_hop_type is not None
    assert route.next_hop_type.value == "VnetLocal"
    # nothing else moved: same VMs, same classic VMs, no new warnings from the plan
    assert set(after.virtual_machines) == set(before.virtual_machines)
    assert len(after.classic_virtual_machines) == len(before.classic_virtual_machines)
    assert {str(w) for w in after.warnings if "plan.json" in (w.path or "")} <= {
        str(w) for w in after.warnings if w.kind.value == "default_assumed"
    }
    # the base snapshot is unchanged
    assert {
        r.name for r in before.network_security_groups.find("nsg-snet-data").security_rules
    } == {n for n in rules if n != "deny-sql"}


def test_diff_reports_exactly_the_changed_pairs(plan_file: Path) -> None:
    before = load_snapshot(snapshot_files())
    after = apply_plan(before, plan_file)
    result = diff_snapshots(before, after, run=diagnose)
    got_worse = {(c.pair.source, c.pair.destination, c.pair.port) for c in result.worse}
    got_better = {
        (c.pair.source, c.pair.destination, c.pair.port) for c in result.changes if not c.worse
    }
    worse, better = _expected()
    assert got_worse == worse
    assert got_better == better
    assert result.exit_code == 1
    web_db = next(
        c for c in result.worse if c.pair.source == "vm-app-01" and c.pair.destination == "vm-db-01"
    )
    assert [f.code for f in web_db.appeared] == ["NSG_DENY"]
    assert "deny-sql" in web_db.why()
    assert "priority 200" in web_db.why()
    pay = next(c for c in result.changes if c.pair.destination == "vm-pay-01")
    assert [f.code for f in pay.disappeared] == ["ROUTE_NONE"]


def test_default_pairs_miss_nothing(plan_file: Path) -> None:
    """Brute force over every ordered VM pair on the ports involved: the same set changes."""
    before = load_snapshot(snapshot_files())
    after = apply_plan(before, plan_file)
    names = sorted(vm.name for vm in before.virtual_machines.values())
    changed = set()
    for src, dst in itertools.permutations(names, 2):
        for port in (443, 5432):
            v0 = diagnose(before, src, dst, port).verdict
            v1 = diagnose(after, src, dst, port).verdict
            if v0 != v1:
                changed.add((src, dst, port))
    worse, better = _expected()
    assert changed == {p for p in worse | better if p[2] in (443, 5432)}


def test_cli_diff_json_and_exit_code(plan_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["diff", "--sample", "--after", str(plan_file), "-o", "json"])
    assert exc.value.code == 1
    out = json.loads(capsys.readouterr().out)
    assert out["schema"] == "vnetdoctor.diff/1"
    assert out["worse"] == 18
    assert out["changed"] == 42


def test_cli_diff_with_pairs_file(
    plan_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pairs = tmp_path / "pairs.txt"
    pairs.write_text(
        "# CI gate\nvm-app-01 -> vm-db-01:5432\nvm-web-02 vm-pay-01 443\nvm-jump-01 vm-dc-01 389\n",
        encoding="utf-8",
    )
    with pytest.raises(SystemExit) as exc:
        main(["diff", "--sample", "--after", str(plan_file), "--pairs", str(pairs)])
    assert exc.value.code == 1
    text = capsys.readouterr().out
    assert "this plan blocks vm-app-01 -> vm-db-01:5432" in text
    assert "rule 'deny-sql' (priority 200) of NSG nsg-snet-data" in text
    assert "this plan opens" not in text  # vm-pay-01 only becomes inconclusive (no guest evidence)
    assert "2 of 3 pair(s) change verdict, 1 worse" in text


def test_cli_diff_snapshot_to_same_snapshot_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(p) for p in snapshot_files()]
    args = ["diff", "--after", str(sample_path() / "network.json")]
    for f in files:
        args += ["--before", f]
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 0
    assert "no verdict changes" in capsys.readouterr().out


def test_intents_expectation(plan_file: Path) -> None:
    before = load_snapshot(snapshot_files())
    after = apply_plan(before, plan_file)
    pairs = [Pair("vm-app-01", "vm-db-01", 5432, name="app-db", expect="blocked")]
    result = diff_snapshots(before, after, pairs, run=diagnose)
    assert result.changes
    assert not result.changes[0].intent_broken


def test_cli_diff_with_verify_intents(
    plan_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    intents = tmp_path / "intents.yaml"
    intents.write_text(
        "intents:\n"
        "  - {name: app may reach db, from: vm-app-0*, to: vm-db-01, port: 5432,"
        " expect: may reach}\n"
        "  - {name: web must not reach pay, from: vm-web-02, to: vm-pay-01, port: 443,"
        " expect: must not reach}\n"
        "  - {name: jump may reach dc, from: vm-jump-01, to: vm-dc-01, port: 389,"
        " expect: may reach}\n",
        encoding="utf-8",
    )
    with pytest.raises(SystemExit) as exc:
        main(
            ["diff", "--sample", "--after", str(plan_file), "--intents", str(intents), "-o", "json"]
        )
    assert exc.value.code == 1
    out = json.loads(capsys.readouterr().out)
    worse = {(c["pair"]["name"], c["pair"]["source"]) for c in out["changes"] if c["worse"]}
    assert worse == {
        ("app may reach db", "vm-app-01"),
        ("app may reach db", "vm-app-02"),
        ("app may reach db", "vm-app-03"),
        ("web must not reach pay", "vm-web-02"),
    }
    assert out["changed"] == 4  # the jump -> dc intent is broken before and after


def test_plan_option_on_any_command_analyses_the_after_state(plan_file: Path) -> None:
    """`--plan` on a snapshot command: the plan's deny-sql rule blocks what the base allows."""
    from click.testing import CliRunner

    from vnetdoctor.cli import cli

    base = [
        "diagnose",
        "--sample",
        "--from",
        "vm-api-01",
        "--to",
        "vm-db-01",
        "--port",
        "5432",
        "-o",
        "json",
        "--query",
        "blockers[].code",
    ]
    before = CliRunner().invoke(cli, base)
    after = CliRunner().invoke(cli, [*base, "--plan", str(plan_file)])
    assert "NSG_DENY" not in before.stdout
    assert after.exit_code == 1, after.output
    assert "NSG_DENY" in after.stdout
    verify_help = CliRunner().invoke(cli, ["verify", "--help"])
    assert "--plan" in verify_help.stdout
