"""Bad preflight input: warnings that name the address, never a crash."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from preflight.plans import PROVIDER, sample_change_plan
from vnetdoctor.ingest.loader import load_snapshot, snapshot_from_json
from vnetdoctor.ingest.preflight import apply_plan
from vnetdoctor.ingest.terraform import changes_from_plan
from vnetdoctor.ingest.whatif import changes_from_whatif
from vnetdoctor.samples import load_sample

NIC_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/nic-new"


def _write(tmp_path: Path, doc: Any, name: str = "plan.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_unsupported_major_version_is_a_warning(tmp_path: Path) -> None:
    doc = sample_change_plan()
    doc["format_version"] = "2.0"
    snapshot = load_snapshot(_write(tmp_path, doc))
    (w,) = [w for w in snapshot.warnings if w.resource == "format_version"]
    assert "2.0" in w.message
    assert "not supported" in w.message
    after = apply_plan(load_sample(), _write(tmp_path, doc))
    assert "deny-sql" not in {
        r.name for r in after.network_security_groups.find("nsg-snet-data").security_rules
    }


def test_other_provider_is_a_warning_naming_the_address() -> None:
    doc = sample_change_plan()
    rc = copy.deepcopy(doc["resource_changes"][0])
    rc["address"] = "aws_security_group.web"
    rc["type"] = "aws_security_group"
    rc["provider_name"] = "registry.terraform.io/hashicorp/aws"
    doc["resource_changes"].append(rc)
    doc["resource_changes"].append({"address": "broken", "change": "nope", "type": 3})
    doc["resource_changes"].append("not an object")
    changes = changes_from_plan(doc)
    by_resource = {w.resource: w for w in changes.warnings}
    assert "aws" in by_resource["aws_security_group.web"].message
    assert "broken" in by_resource
    assert "resource_changes[5]" in by_resource
    assert len(changes.upserts) == 3  # the azurerm changes still apply


def test_unmapped_azurerm_type_is_a_warning() -> None:
    doc = {
        "format_version": "1.1",
        "resource_changes": [
            {
                "address": "azurerm_firewall.hub",
                "mode": "managed",
                "type": "azurerm_firewall",
                "name": "hub",
                "provider_name": PROVIDER,
                "change": {"actions": ["create"], "before": None, "after": {}, "after_unknown": {}},
            }
        ],
    }
    (w,) = changes_from_plan(doc).warnings
    assert w.resource == "azurerm_firewall.hub"
    assert "not mapped" in w.message


def test_unresolvable_references_are_unknown_with_the_address() -> None:
    doc = {
        "format_version": "1.2",
        "resource_changes": [
            {
                "address": "azurerm_network_interface.new",
                "mode": "managed",
                "type": "azurerm_network_interface",
                "name": "new",
                "provider_name": PROVIDER,
                "change": {
                    "actions": ["create"],
                    "before": None,
                    "after": {
                        "name": "nic-new",
                        "resource_group_name": "rg",
                        "location": "West Europe",
                        "ip_configuration": [
                            {"name": "ipconfig1", "private_ip_address_allocation": "Dynamic"}
                        ],
                    },
                    "after_unknown": {
                        "id": True,
                        "ip_configuration": [{"subnet_id": True, "private_ip_address": True}],
                    },
                },
            },
            {
                "address": "azurerm_subnet_network_security_group_association.a",
                "mode": "managed",
                "type": "azurerm_subnet_network_security_group_association",
                "name": "a",
                "provider_name": PROVIDER,
                "change": {
                    "actions": ["create"],
                    "before": None,
                    "after": {},
                    "after_unknown": {"subnet_id": True, "network_security_group_id": True},
                },
            },
            {
                "address": "azurerm_route.orphan",
                "mode": "managed",
                "type": "azurerm_route",
                "name": "orphan",
                "provider_name": PROVIDER,
                "change": {
                    "actions": ["create"],
                    "before": None,
                    "after": {"name": "r", "address_prefix": "10.0.0.0/8"},
                    "after_unknown": {"id": True, "route_table_name": True},
                },
            },
        ],
    }
    snapshot = snapshot_from_json(doc, source="plan.json")
    fields = {(w.resource, w.field) for w in snapshot.warnings}
    assert ("azurerm_network_interface.new", "ip_configuration[0].subnet_id") in fields
    assert ("azurerm_subnet_network_security_group_association.a", "subnet_id") in fields
    assert ("azurerm_route.orphan", "id") in fields
    nic = snapshot.network_interfaces.find("nic-new")
    assert nic.location == "westeurope"
    (ipc,) = nic.ip_configurations
    assert ipc.private_ip_address is None
    assert ipc.subnet is not None
    assert "known after apply" in str(ipc.subnet)
    # the converters name the Terraform address in what they could not read
    assert any(
        "azurerm_network_interface.new.ip_configuration[0].private_ip_address" in (w.value or "")
        for w in snapshot.warnings
    )


def test_whatif_unsupported_deploy_and_expressions() -> None:
    rid = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/n"
    doc = {
        "status": "Succeeded",
        "changes": [
            {"resourceId": rid + "1", "changeType": "Unsupported", "unsupportedReason": "nested"},
            {"resourceId": rid + "2", "changeType": "Deploy"},
            {"resourceId": rid + "3", "changeType": "Sideways"},
            "junk",
            {
                "resourceId": rid + "4",
                "changeType": "Create",
                "after": {
                    "apiVersion": "2024-05-01",
                    "id": rid + "4",
                    "name": "n4",
                    "type": "Microsoft.Network/networkSecurityGroups",
                    "properties": {
                        "securityRules": [
                            {
                                "name": "r",
                                "properties": {
                                    "priority": 100,
                                    "direction": "Inbound",
                                    "access": "Allow",
                                    "protocol": "Tcp",
                                    "sourceAddressPrefix": "[reference('pip').ipAddress]",
                                    "destinationAddressPrefix": "*",
                                    "sourcePortRange": "*",
                                    "destinationPortRange": "443",
                                },
                            }
                        ]
                    },
                },
            },
        ],
    }
    changes = changes_from_whatif(doc)
    by_resource = {w.resource: w for w in changes.warnings}
    assert "nested" in by_resource[rid + "1"].message
    assert "Deploy" in by_resource[rid + "2"].message
    assert rid + "3" in by_resource
    assert "changes[3]" in by_resource
    snapshot = snapshot_from_json(doc)
    (rule,) = snapshot.network_security_groups.find("n4").security_rules
    assert rule.problems  # the unresolved reference() is unknown, not a value
    assert any(rid + "4" in (w.value or "") for w in snapshot.warnings)


def test_whatif_delete_and_modify_on_the_sample(tmp_path: Path) -> None:
    base = load_sample()
    nsg = base.network_security_groups.find("nsg-snet-data")
    rt = base.route_tables.find("rt-spoke-web")
    doc = {
        "status": "Succeeded",
        "properties": {
            "changes": [
                {"resourceId": str(rt.id), "changeType": "Delete"},
                {
                    "resourceId": str(nsg.id),
                    "changeType": "Modify",
                    "after": {
                        "apiVersion": "2024-05-01",
                        "id": str(nsg.id),
                        "name": nsg.name,
                        "type": "Microsoft.Network/networkSecurityGroups",
                        "location": "westeurope",
                        "properties": {"securityRules": []},
                    },
                },
            ]
        },
    }
    after = apply_plan(base, _write(tmp_path, doc, "whatif.json"))
    assert rt.id not in after.route_tables
    assert after.network_security_groups.find("nsg-snet-data").security_rules == ()


def test_configuration_whose_resources_is_not_a_list_is_ignored() -> None:
    """Regression: ``configuration.root_module.resources`` that is a number raised TypeError."""
    doc = sample_change_plan()
    doc["configuration"] = {"root_module": {"resources": 5, "module_calls": {"m": 1}}}
    plain = changes_from_plan(sample_change_plan())
    changes = changes_from_plan(doc)
    assert changes.upserts == plain.upserts
    assert changes.warnings == plain.warnings


def _nsg_name_from_configuration(expressions: Any) -> dict[str, Any]:
    """The sample plan with deny_sql's NSG name known only from its configuration."""
    doc = sample_change_plan()
    rc = doc["resource_changes"][0]
    assert rc["address"] == "azurerm_network_security_rule.deny_sql"
    del rc["change"]["after"]["network_security_group_name"]
    rc["change"]["after_unknown"]["network_security_group_name"] = True
    doc["configuration"] = {
        "root_module": {"resources": [{"address": rc["address"], "expressions": expressions}]}
    }
    return doc


def test_a_resource_whose_configuration_has_an_odd_shape_is_a_warning() -> None:
    """A list where the expressions object belongs: that resource is left out, with a warning."""
    changes = changes_from_plan(_nsg_name_from_configuration([1]))
    (w,) = [w for w in changes.warnings if w.resource == "azurerm_network_security_rule.deny_sql"]
    assert "could not map this resource (AttributeError" in w.message
    assert not any("deny-sql" in json.dumps(body) for body in changes.upserts)
    assert len(changes.upserts) == len(changes_from_plan(sample_change_plan()).upserts) - 1


def test_a_bug_in_a_mapper_is_not_turned_into_a_warning(monkeypatch: Any) -> None:
    from vnetdoctor.ingest import terraform

    def broken(*_: Any) -> list[Any]:
        raise ZeroDivisionError("a bug, not bad input")

    monkeypatch.setitem(terraform._MAPPERS, "azurerm_route", broken)
    with pytest.raises(ZeroDivisionError):
        changes_from_plan(sample_change_plan())


def test_a_bug_in_a_merge_is_not_turned_into_a_warning(monkeypatch: Any) -> None:
    from vnetdoctor.ingest import terraform

    def broken(*_: Any) -> None:
        raise NameError("a bug, not bad input")

    monkeypatch.setattr(terraform, "_merge_pool_addresses", broken)
    with pytest.raises(NameError):
        changes_from_plan(sample_change_plan())


def test_a_key_given_twice_in_a_plan_is_a_warning(tmp_path: Path) -> None:
    text = json.dumps(sample_change_plan())
    assert text.startswith("{")
    path = tmp_path / "plan.json"
    path.write_text('{"format_version": "0.1", ' + text[1:], encoding="utf-8")
    after = apply_plan(load_sample(), path)
    [w] = [w for w in after.warnings if "more than once" in w.message]
    assert (w.path, w.field) == (str(path), "format_version")
    assert not [w for w in after.warnings if w.resource == "format_version"]  # the last is used


def test_a_key_given_twice_in_the_base_survives_the_plan(tmp_path: Path) -> None:
    """The base snapshot's duplicate-key warning is on the after-state too (regression: --plan
    re-read the base files without the check, so the warning vanished with the plan applied)."""
    import shutil

    from vnetdoctor.ingest.loader import load_snapshot
    from vnetdoctor.samples import sample_path

    base = tmp_path / "base"
    shutil.copytree(sample_path(), base)
    graph = base / "graph.json"
    text = graph.read_text(encoding="utf-8")
    at = text.index('"name"')
    graph.write_text(text[:at] + '"name": "first", ' + text[at:], encoding="utf-8")
    snapshot = load_snapshot([base])
    assert [w for w in snapshot.warnings if "more than once" in w.message]
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(sample_change_plan()), encoding="utf-8")
    after = apply_plan(snapshot, plan)
    assert [w for w in after.warnings if "more than once" in w.message and "graph.json" in w.path]
