"""apply_plan builds a new snapshot: the base one stays as it was, and the after-state's own
indexes and warnings describe the after-state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from preflight.plans import sample_change_plan
from vnetdoctor.ingest import arm
from vnetdoctor.ingest.loader import load_snapshot
from vnetdoctor.ingest.preflight import apply_plan, base_resources, read_plan
from vnetdoctor.model.snapshot import Snapshot
from vnetdoctor.samples import snapshot_files

TABLES = sorted({attr for attr, _ in arm.CONVERTERS.values()} | {"classic_virtual_machines"})


def _state(snapshot: Snapshot) -> dict[str, Any]:
    state: dict[str, Any] = {name: dict(getattr(snapshot, name)) for name in TABLES}
    state["other_resources"] = dict(snapshot.other_resources)
    state["warnings"] = snapshot.warnings
    state["sources"] = snapshot.sources
    state["subnets"] = dict(snapshot.subnets)
    return state


def _plan(tmp_path: Path) -> Path:
    """The sample change plan plus a resource type the plan reader does not map (a warning)."""
    doc = sample_change_plan()
    change = {**doc["resource_changes"][0], "address": "azurerm_dns_zone.contoso"}
    doc["resource_changes"].append({**change, "type": "azurerm_dns_zone", "name": "contoso"})
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_the_base_snapshot_is_unchanged_after_apply_plan(tmp_path: Path) -> None:
    before = load_snapshot(snapshot_files())
    state = _state(before)  # the derived indexes are built before, so a stale one would show
    after = apply_plan(before, _plan(tmp_path))
    assert after is not before
    assert _state(before) == state
    nsg = before.network_security_groups.find("nsg-snet-data")
    assert "deny-sql" not in {r.name for r in nsg.security_rules}
    assert "deny-sql" in {
        r.name for r in after.network_security_groups.find("nsg-snet-data").security_rules
    }


def test_the_after_state_leads_with_the_plan_warnings(tmp_path: Path) -> None:
    before = load_snapshot(snapshot_files())
    plan = _plan(tmp_path)
    raw, _ = base_resources(before)
    expected = read_plan(plan, raw).warnings
    assert any("azurerm_dns_zone" in str(w) for w in expected)
    after = apply_plan(before, plan)
    assert after.warnings[: len(expected)] == tuple(expected)
    assert after.subnets == {s.id: s for v in after.virtual_networks.values() for s in v.subnets}
