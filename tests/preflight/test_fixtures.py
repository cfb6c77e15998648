"""Every real Terraform plan and what-if result in ../shared/fixtures loads, with warnings only."""

from __future__ import annotations

from pathlib import Path

import pytest

from vnetdoctor.ingest.loader import load_snapshot
from vnetdoctor.ingest.preflight import apply_plan, read_plan

FIXTURES = (Path(__file__).resolve().parents[2].parent / "shared" / "fixtures").resolve()
PLANS = sorted((FIXTURES / "terraform").glob("*.json")) if FIXTURES.is_dir() else []
WHATIFS = sorted((FIXTURES / "whatif").glob("*.json")) if FIXTURES.is_dir() else []
NEEDS = pytest.mark.skipif(
    not FIXTURES.is_dir(), reason=f"recorded fixtures not found at {FIXTURES} (../shared/fixtures)"
)


def _real(paths: list[Path]) -> list[Path]:
    return [p for p in paths if p.name != "MANIFEST.json"]


@NEEDS
@pytest.mark.parametrize("path", _real(PLANS), ids=lambda p: p.name)
def test_terraform_fixture_loads_with_s(path: Path) -> None:
    snapshot = load_snapshot(path)
    assert snapshot.network_security_groups, "every plan fixture holds NSGs"
    for w in snapshot.warnings:
        assert w.path is None or str(path) in w.path


@NEEDS
def test_terraform_fixture_counts() -> None:
    if not PLANS:
        pytest.skip("no terraform fixtures")
    by_name = {p.name: load_snapshot(p) for p in _real(PLANS)}
    compliance = by_name["terraform-compliance_test_issue-294_plan.out.json"]
    assert len(compliance.virtual_machines) == 2
    for nic in compliance.network_interfaces.values():
        # the subnet id is unknown in the plan; resolved through module input vnet_subnet_id
        (ipc,) = nic.ip_configurations
        assert ipc.subnet is not None
        assert ipc.subnet.name == "internal"
        assert ipc.subnet in compliance.subnets
        # NIC-NSG association (both ids unknown) resolved from configuration references
        assert nic.network_security_group is not None
        assert nic.network_security_group in compliance.network_security_groups
        assert ipc.private_ip_address is None  # dynamic: known only after apply
    unknown = [w for w in compliance.warnings if "private_ip_address" in (w.field or "")]
    assert unknown
    assert all("azurerm_network_interface.vm[0]" in (w.resource or "") for w in unknown)
    checkov = by_name["checkov_plan_with_resource_reference_tfplan_extra_ref.json"]
    pass_nsg = checkov.network_security_groups.find("pass")
    assert [r.name for r in pass_nsg.security_rules] == ["pass"]
    (rule,) = pass_nsg.security_rules
    assert rule.priority == 100
    assert rule.access is not None
    assert rule.access.value == "Deny"
    regula = by_name["regula_security_group_no_inbound_22_infra.json"]
    assert len(regula.network_security_groups) == 4
    testnsg = regula.network_security_groups.find("testnsg")
    # five standalone rules, two with the same name: the later overwrites the earlier
    assert len(testnsg.security_rules) == 4


@NEEDS
@pytest.mark.parametrize("path", _real(WHATIFS), ids=lambda p: p.name)
def test_whatif_fixture_loads(path: Path) -> None:
    snapshot = load_snapshot(path)
    assert snapshot.other_resources
    changes = read_plan(path)
    assert changes.kind == "whatif"
    assert changes.upserts


@NEEDS
@pytest.mark.parametrize("path", _real(PLANS) + _real(WHATIFS), ids=lambda p: p.name)
def test_fixture_applies_on_the_sample(path: Path) -> None:
    from vnetdoctor.samples import load_sample

    base = load_sample()
    after = apply_plan(base, path)
    # the sample's own resources survive; the plan's are added
    assert len(after.virtual_machines) >= len(base.virtual_machines)
    assert len(after.classic_virtual_machines) == len(base.classic_virtual_machines)
