"""Effective security admin rules in snapshots: vnetdoctor's envelope, the older form, bad input.

Azure's ``listNetworkManagerEffectiveSecurityAdminRules`` answer does not name the VNet, so a
snapshot wraps it (model/network_manager.py). The rule bodies below are the literal response of
the REST spec example ``NetworkManagerEffectiveSecurityAdminRulesList.json``
(azure-semantics-2.md §2.4).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from builders import admin_rule_example

from vnetdoctor import load_sample
from vnetdoctor.errors import SnapshotParseError
from vnetdoctor.ingest.loader import load_snapshot, snapshot_from_json
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.network_manager import ENVELOPE_TYPE, AdminAccess
from vnetdoctor.model.security import Direction

SUB = "/subscriptions/00000000-0000-0000-0000-000000000000"
VNET = f"{SUB}/resourceGroups/myResourceGroup/providers/Microsoft.Network/virtualNetworks/vnet1"
RULE: dict[str, Any] = admin_rule_example()
VNET_BODY: dict[str, Any] = {
    "id": VNET,
    "name": "vnet1",
    "type": "Microsoft.Network/virtualNetworks",
    "location": "westeurope",
    "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}, "subnets": []},
}


def envelope(vnet: str = VNET, value: Any = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": ENVELOPE_TYPE, "virtualNetworkId": vnet}
    out["value"] = [copy.deepcopy(RULE)] if value is None else value
    out.update(extra)
    return out


def legacy(vnet: str = VNET) -> dict[str, Any]:
    return {
        "id": f"{vnet}/networkManagerEffectiveSecurityAdminRules",
        "type": "Microsoft.Network/virtualNetworks/networkManagerEffectiveSecurityAdminRules",
        "properties": {"virtualNetwork": {"id": vnet}, "value": [copy.deepcopy(RULE)]},
    }


def write(tmp_path: Path, name: str, doc: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def test_vnetdoctor_envelope_alone_in_a_file(tmp_path: Path) -> None:
    files = [write(tmp_path, "vnet.json", VNET_BODY), write(tmp_path, "adm.json", envelope())]
    snap = load_snapshot(files)
    (rule,) = snap.admin_rules_for(ResourceId(VNET)) or ()
    assert rule.name == "SampleAdminRule"
    assert rule.admin_access is AdminAccess.DENY
    assert rule.direction is Direction.INBOUND
    assert rule.kind == "Default"
    assert rule.pointer == "/value/0"  # the response's value sits at the envelope's top level
    assert snap.warnings == ()
    assert snap.other_resources == {}  # the rules are not taken for resources


def test_vnetdoctor_envelope_in_a_list_and_a_value_response() -> None:
    for doc in ([VNET_BODY, envelope()], {"value": [VNET_BODY, envelope()]}):
        snap = snapshot_from_json(copy.deepcopy(doc))
        rules = snap.admin_rules_for(ResourceId(VNET))
        assert rules is not None
        assert [r.name for r in rules] == ["SampleAdminRule"]
        assert snap.warnings == ()


def test_the_older_envelope_is_still_read(tmp_path: Path) -> None:
    files = [write(tmp_path, "vnet.json", VNET_BODY), write(tmp_path, "adm.json", legacy())]
    snap = load_snapshot(files)
    (rule,) = snap.admin_rules_for(ResourceId(VNET)) or ()
    assert rule.name == "SampleAdminRule"
    assert rule.pointer == "/properties/value/0"
    assert snap.warnings == ()


def test_an_empty_value_means_no_admin_rules() -> None:
    snap = snapshot_from_json([VNET_BODY, envelope(value=[])])
    assert snap.admin_rules_for(ResourceId(VNET)) == ()


def test_the_sample_uses_the_vnetdoctor_envelope() -> None:
    raw = json.loads(
        (
            Path(__file__).resolve().parents[2]
            / "src/vnetdoctor/samples/contoso/admin-rules.json"
        ).read_text()
    )
    assert raw["type"] == ENVELOPE_TYPE
    assert "id" not in raw
    hub = next(v for v in load_sample().virtual_networks.values() if v.name == "vnet-hub")
    rules = load_sample().admin_rules_for(hub.id)
    assert rules is not None
    assert [r.pointer for r in rules] == ["/value/0", "/value/1"]


def test_envelope_without_a_vnet_is_a_one_line_error(tmp_path: Path) -> None:
    bad = envelope()
    del bad["virtualNetworkId"]
    path = write(tmp_path, "adm.json", [VNET_BODY, bad])
    with pytest.raises(SnapshotParseError) as info:
        load_snapshot(path)
    text = str(info.value)
    assert "\n" not in text
    assert "adm.json" in text
    assert "virtualNetworkId" in text


def test_envelope_of_a_vnet_not_in_the_snapshot_is_warned(tmp_path: Path) -> None:
    other = VNET.replace("vnet1", "vnet-elsewhere")
    path = write(tmp_path, "adm.json", [VNET_BODY, envelope(other)])
    snap = load_snapshot(path)
    (warning,) = snap.warnings
    assert warning.code == "W003"
    assert warning.field == "virtualNetworkId"
    assert warning.path == str(path)
    assert "vnet-elsewhere" in str(warning)
    assert "\n" not in str(warning)


def test_legacy_envelope_of_a_vnet_not_in_the_snapshot_is_warned(tmp_path: Path) -> None:
    path = write(tmp_path, "adm.json", [legacy(VNET.replace("vnet1", "gone"))])
    (warning,) = load_snapshot(path).warnings
    assert (warning.code, warning.field, warning.path) == (
        "W003",
        "properties.virtualNetwork",
        str(path),
    )


@pytest.mark.parametrize("value", [{"not": "a list"}, "rules", 7])
def test_a_malformed_value_is_warned_and_makes_the_rules_unknown(
    tmp_path: Path, value: Any
) -> None:
    path = write(tmp_path, "adm.json", [VNET_BODY, envelope(value=value)])
    snap = load_snapshot(path)
    (warning,) = snap.warnings
    assert (warning.code, warning.field, warning.path) == ("W002", "value", str(path))
    (rule,) = snap.admin_rules_for(ResourceId(VNET)) or ()
    assert rule.is_unknown  # unknown, not "no admin rules"
    (eff,) = snap.effective_admin_rules.values()
    assert eff.unknown is not None


def test_a_missing_value_is_warned_and_makes_the_rules_unknown(tmp_path: Path) -> None:
    bad = envelope()
    del bad["value"]
    path = write(tmp_path, "adm.json", [VNET_BODY, bad])
    snap = load_snapshot(path)
    (warning,) = snap.warnings
    assert (warning.code, warning.field, warning.path) == ("W006", "value", str(path))
    (rule,) = snap.admin_rules_for(ResourceId(VNET)) or ()
    assert rule.is_unknown


def test_a_rule_that_is_not_an_object_is_warned(tmp_path: Path) -> None:
    path = write(tmp_path, "adm.json", [VNET_BODY, envelope(value=[RULE, "x"])])
    snap = load_snapshot(path)
    (warning,) = snap.warnings
    assert (warning.code, warning.field) == ("W002", "value[1]")
    assert [r.name for r in snap.admin_rules_for(ResourceId(VNET)) or ()] == ["SampleAdminRule"]


def test_an_error_answer_records_unknown_rules_without_a_second_warning() -> None:
    error = {"status": 403, "code": "AuthorizationFailed", "message": "no permission"}
    bad = envelope()
    del bad["value"]
    bad["error"] = error
    snap = snapshot_from_json([VNET_BODY, bad])
    assert snap.warnings == ()  # the collection's own warning says it (ingest/collected.py)
    (rule,) = snap.admin_rules_for(ResourceId(VNET)) or ()
    assert rule.is_unknown
    assert "HTTP 403 AuthorizationFailed" in rule.problems[0]


def test_the_same_vnet_twice_is_a_duplicate(tmp_path: Path) -> None:
    first = write(tmp_path, "a.json", [VNET_BODY, envelope()])
    second = write(tmp_path, "b.json", envelope(value=[]))
    snap = load_snapshot([first, second])
    (warning,) = snap.warnings
    assert warning.code == "W004"
    assert snap.admin_rules_for(ResourceId(VNET)) == ()  # the later copy is used
