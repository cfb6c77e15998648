"""The loader: every accepted input form, child merging, warnings, and one-line errors."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest
from builders import RG, nic, nsg, rule, subnet, vm, vnet

from vnetdoctor import SnapshotParseError, load_snapshot
from vnetdoctor.model.warnings import WarningKind


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def estate() -> list[dict[str, Any]]:
    return [vnet(), nsg(rules=[rule("ssh")]), nic(), vm()]


@pytest.mark.parametrize(
    "wrap",
    [
        lambda rs: rs,
        lambda rs: {"value": rs, "nextLink": None},
        lambda rs: {"data": rs, "count": len(rs), "skip_token": None, "total_records": len(rs)},
    ],
    ids=["array", "arm-list", "resource-graph"],
)
def test_top_level_forms(tmp_path: Path, wrap: Any) -> None:
    snap = load_snapshot(write(tmp_path / "e.json", wrap(estate())))
    assert len(snap.virtual_machines) == 1
    assert len(snap.network_interfaces) == 1
    assert len(snap.virtual_networks) == 1
    assert len(snap.network_security_groups) == 1
    assert snap.warnings == ()


def test_resource_graph_table_form(tmp_path: Path) -> None:
    resources = estate()
    columns = ["id", "name", "type", "location", "properties"]
    table = {
        "data": {
            "columns": [{"name": c, "type": "string"} for c in columns],
            "rows": [[r[c] for c in columns] for r in resources],
        }
    }
    snap = load_snapshot(write(tmp_path / "t.json", table))
    assert len(snap.virtual_machines) == 1


def test_resource_graph_lower_cases_types(tmp_path: Path) -> None:
    resources = estate()
    for r in resources:
        r["type"] = r["type"].lower()
        r["id"] = r["id"].lower()
    snap = load_snapshot(write(tmp_path / "g.json", {"data": resources}))
    vm_ = snap.virtual_machines.find("VM1")
    assert snap.primary_nic(vm_) is not None


def test_single_object_and_folder(tmp_path: Path) -> None:
    for i, r in enumerate(estate()):
        write(tmp_path / f"{i}.json", r)
    (tmp_path / "notes.txt").write_text("ignored")
    snap = load_snapshot(tmp_path)
    assert len(snap.virtual_machines) == 1
    assert len(snap.sources) == 4


def test_flattened_az_cli_form(tmp_path: Path) -> None:
    flat = []
    for r in estate():
        body = {k: v for k, v in r.items() if k != "properties"}
        body.update(r["properties"])
        flat.append(body)
    snap = load_snapshot(write(tmp_path / "flat.json", flat))
    nic_ = snap.network_interfaces.find("nic1")
    assert nic_.private_ip_addresses == (ipaddress.ip_address("10.0.0.4"),)
    assert snap.network_security_groups.find("nsg1").security_rules[0].name == "ssh"


def test_child_resources_given_alone_are_merged(tmp_path: Path) -> None:
    v = vnet()
    vid = v["id"]
    lone_subnet = subnet(vid, "default", "10.0.5.0/24")
    lone_subnet["type"] = "Microsoft.Network/virtualNetworks/subnets"
    peering = {
        "id": f"{vid}/virtualNetworkPeerings/to-hub",
        "name": "to-hub",
        "properties": {
            "peeringState": "Connected",
            "remoteVirtualNetwork": {"id": f"{RG}/x/virtualNetworks/hub"},
        },
    }
    n = nsg()
    lone_rule = rule("rdp", 200, destinationPortRange="3389")
    lone_rule["id"] = f"{n['id']}/securityRules/rdp"
    lone_rule["type"] = "Microsoft.Network/networkSecurityGroups/securityRules"
    snap = load_snapshot(write(tmp_path / "c.json", [v, lone_subnet, peering, n, lone_rule]))
    vnet_ = snap.virtual_networks.find("vnet1")
    assert [s.address_prefixes for s in vnet_.subnets] == [(ipaddress.ip_network("10.0.5.0/24"),)]
    assert [p.name for p in vnet_.virtual_network_peerings] == ["to-hub"]
    assert [r.name for r in snap.network_security_groups.find("nsg1").security_rules] == ["rdp"]
    # the peering without `type` had it inferred from its id
    assert any(w.kind is WarningKind.DANGLING_REFERENCE for w in snap.warnings)


def test_orphan_child_is_a_warning(tmp_path: Path) -> None:
    lone = subnet(f"{RG}/Microsoft.Network/virtualNetworks/absent", "s", "10.0.0.0/24")
    lone["type"] = "Microsoft.Network/virtualNetworks/subnets"
    snap = load_snapshot(write(tmp_path / "o.json", [lone]))
    assert [w.kind for w in snap.warnings] == [WarningKind.ORPHAN_CHILD]


def test_nsg_without_default_rules_gets_azures_six(tmp_path: Path) -> None:
    snap = load_snapshot(write(tmp_path / "n.json", [nsg(defaults=False)]))
    group = snap.network_security_groups.find("nsg1")
    assert group.defaults_assumed
    assert [(r.name, r.priority) for r in group.default_security_rules] == [
        ("AllowVnetInBound", 65000),
        ("AllowAzureLoadBalancerInBound", 65001),
        ("DenyAllInBound", 65500),
        ("AllowVnetOutBound", 65000),
        ("AllowInternetOutBound", 65001),
        ("DenyAllOutBound", 65500),
    ]
    assert [w.code for w in snap.warnings] == ["W007"]


def test_partial_default_rules_are_completed_by_name(tmp_path: Path) -> None:
    body = nsg()
    given = body["properties"]["defaultSecurityRules"]
    kept = [r for r in given if r["name"] not in ("AllowVnetInBound", "DenyAllOutBound")]
    kept[0]["properties"]["description"] = "as exported"
    body["properties"]["defaultSecurityRules"] = kept
    snap = load_snapshot(write(tmp_path / "n.json", [body]))
    group = snap.network_security_groups.find("nsg1")
    assert not group.defaults_assumed
    assert [r.name for r in group.default_security_rules] == [
        "AllowAzureLoadBalancerInBound",
        "DenyAllInBound",
        "AllowVnetOutBound",
        "AllowInternetOutBound",
        "AllowVnetInBound",
        "DenyAllOutBound",
    ]
    by_name = {r.name: r for r in group.default_security_rules}
    assert by_name["AllowAzureLoadBalancerInBound"].description == "as exported"
    assert (by_name["AllowVnetInBound"].priority, by_name["AllowVnetInBound"].access.value) == (
        65000,
        "Allow",
    )
    assert len({r.index for r in group.default_security_rules}) == 6
    [warning] = snap.warnings
    assert (warning.code, warning.field) == ("W007", "defaultSecurityRules")
    assert warning.resource is not None
    assert warning.resource.endswith("/nsg1")
    assert "AllowVnetInBound, DenyAllOutBound" in warning.message


def test_complete_default_rules_are_taken_as_given(tmp_path: Path) -> None:
    snap = load_snapshot(write(tmp_path / "n.json", [nsg()]))
    assert snap.warnings == ()
    assert len(snap.network_security_groups.find("nsg1").default_security_rules) == 6


def test_duplicate_keys_warn_and_the_last_value_is_used(tmp_path: Path) -> None:
    text = json.dumps([vnet(), nsg(rules=[rule("ssh", access="Deny", description="M")]), nic()])
    path = tmp_path / "dup.json"
    path.write_text(text.replace('"description": "M"', '"description": "M", "access": "Allow"'))
    snap = load_snapshot(path)
    [warning] = [w for w in snap.warnings if "more than once" in w.message]
    assert warning.path == str(path)
    assert warning.resource is not None
    assert warning.resource.endswith("/networkSecurityGroups/nsg1")
    assert warning.field == "properties/securityRules/0/properties/access"
    assert "'access'" in str(warning)
    [ssh] = snap.network_security_groups.find("nsg1").security_rules
    assert ssh.access is not None
    assert ssh.access.value == "Allow"


def test_escaped_colons_and_no_duplicates_stay_silent(tmp_path: Path) -> None:
    text = json.dumps([nsg(rules=[rule("ssh", description="M")])])
    path = tmp_path / "n.json"
    path.write_text(text.replace('"M"', r'"a\u003ab: c"'))
    snap = load_snapshot(path)
    assert snap.warnings == ()
    [ssh] = snap.network_security_groups.find("nsg1").security_rules
    assert ssh.description == "a:b: c"


def test_power_state_shapes(tmp_path: Path) -> None:
    running = vm("a")
    graph = vm("b", power=None)
    graph["properties"]["extended"] = {
        "instanceView": {"powerState": {"code": "PowerState/deallocated"}}
    }
    listed = vm("c", power=None)
    listed["powerState"] = "VM stopped"
    unknown = vm("d", power=None)
    snap = load_snapshot(write(tmp_path / "v.json", [running, graph, listed, unknown]))
    states = {v.name: v.power_state for v in snap.virtual_machines.values()}
    assert states == {"a": "running", "b": "deallocated", "c": "stopped", "d": None}
    assert snap.virtual_machines.find("d").is_running is None


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("sourceAddressPrefix", "10.300.0.0/16", "sourceAddressPrefix"),
        ("destinationPortRange", "80-70", "destinationPortRange"),
        ("destinationPortRange", "99999", "destinationPortRange"),
        ("priority", 5, "priority"),
        ("protocol", "Gre", "protocol"),
        ("access", None, "access"),
    ],
)
def test_bad_rule_values_become_warnings_and_problems(
    tmp_path: Path, field: str, value: Any, problem: str
) -> None:
    bad = rule("bad")
    if value is None:
        del bad["properties"][field]
    else:
        bad["properties"][field] = value
    snap = load_snapshot(write(tmp_path / "b.json", [nsg(rules=[bad, rule("ok", 200)])]))
    group = snap.network_security_groups.find("nsg1")
    assert group.security_rules[0].problems == (problem,)
    assert group.security_rules[1].problems == ()
    named = [w for w in snap.warnings if w.field == problem]
    assert len(named) == 1
    assert named[0].resource is not None
    assert named[0].resource.endswith("/securityRules/bad")
    if value is not None:
        assert named[0].value == str(value)


def test_bad_cidr_in_address_space_is_a_warning(tmp_path: Path) -> None:
    snap = load_snapshot(write(tmp_path / "v.json", [vnet(prefix="10.300.0.0/16")]))
    v = snap.virtual_networks.find("vnet1")
    assert v.address_prefixes == ()
    assert v.problems == ("addressSpace.addressPrefixes[0]",)
    (w,) = [w for w in snap.warnings if w.kind is WarningKind.UNPARSED_VALUE]
    assert w.value == "10.300.0.0/16"


def test_wrong_types_inside_a_resource_never_crash(tmp_path: Path) -> None:
    weird = nic()
    weird["properties"]["ipConfigurations"][0]["properties"]["privateIPAddress"] = ["10.0.0.4"]
    weird["properties"]["enableIPForwarding"] = "maybe"
    weird["properties"]["networkSecurityGroup"] = 42
    snap = load_snapshot(write(tmp_path / "w.json", [weird]))
    n = snap.network_interfaces.find("nic1")
    assert n.private_ip_addresses == ()
    assert n.enable_ip_forwarding is False
    assert n.network_security_group is None
    assert {w.field for w in snap.warnings if w.kind is WarningKind.UNPARSED_VALUE} == {
        "privateIPAddress",
        "enableIPForwarding",
        "networkSecurityGroup",
    }


def test_unknown_types_are_kept_and_counted(tmp_path: Path) -> None:
    disk = {
        "id": f"{RG}/Microsoft.Compute/disks/d1",
        "type": "Microsoft.Compute/disks",
        "name": "d1",
    }
    snap = load_snapshot(write(tmp_path / "u.json", [disk, dict(disk, id=disk["id"] + "x")]))
    assert snap.other_resources == {"Microsoft.Compute/disks": 2}
    assert [w.kind for w in snap.warnings] == [WarningKind.UNSUPPORTED_TYPE]


def test_dangling_references_are_warnings(tmp_path: Path) -> None:
    snap = load_snapshot(write(tmp_path / "d.json", [vm(nics=["nic1", "ghost"]), nic()]))
    fields = sorted(
        (w.field or "") for w in snap.warnings if w.kind is WarningKind.DANGLING_REFERENCE
    )
    assert fields == [
        "properties.ipConfigurations[0].properties.subnet",
        "properties.networkProfile.networkInterfaces[1]",
    ]


def test_duplicates_last_wins_with_warning(tmp_path: Path) -> None:
    a = vnet(prefix="10.0.0.0/16")
    b = vnet(prefix="10.9.0.0/16")
    snap = load_snapshot([write(tmp_path / "a.json", [a]), write(tmp_path / "b.json", [b])])
    assert snap.virtual_networks.find("vnet1").address_prefixes == (
        ipaddress.ip_network("10.9.0.0/16"),
    )
    assert [w.kind for w in snap.warnings] == [WarningKind.DUPLICATE_RESOURCE]


def test_utf8_bom_and_utf16_exports(tmp_path: Path) -> None:
    text = json.dumps(estate())
    (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf" + text.encode())
    (tmp_path / "u16.json").write_bytes(text.encode("utf-16"))
    for name in ("bom.json", "u16.json"):
        assert len(load_snapshot(tmp_path / name).virtual_machines) == 1


def test_empty_array_loads_with_a_warning(tmp_path: Path) -> None:
    snap = load_snapshot(write(tmp_path / "e.json", []))
    assert len(snap.virtual_machines) == 0
    assert [w.code for w in snap.warnings] == ["W008"]


def test_name_lookup_is_case_insensitive_and_ambiguity_lists_candidates(tmp_path: Path) -> None:
    other = vm("VM1")
    other["id"] = other["id"].replace("rg-test", "rg-other")
    snap = load_snapshot(write(tmp_path / "a.json", [vm("vm2"), vm("vm1"), other]))
    assert snap.virtual_machines.find("VM2").name == "vm2"
    with pytest.raises(LookupError, match="ambiguous") as info:
        snap.virtual_machines.find("vm1")
    assert "rg-other" in str(info.value)
    with pytest.raises(LookupError, match="no virtual machine named 'nope'"):
        snap.virtual_machines.find("nope")


# -- errors -------------------------------------------------------------------------------------
def _error(path: Path | list[Path]) -> str:
    with pytest.raises(SnapshotParseError) as info:
        load_snapshot(path)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_malformed_json_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('[\n  {"id": "/x", "type": "t"},\n  {"id": oops}\n]')
    message = _error(path)
    assert message.startswith(f"{path}:3: malformed JSON")


def test_truncated_json(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text(json.dumps(estate())[:200])
    assert "truncated" in _error(path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("42", "not JSON or XML"),
        ('"text"', "not JSON or XML"),
        ('{"foo": 1}', "expected an array of ARM resources"),
        ("[1, 2]", "element 0 is not a JSON object"),
        (
            '[{"name": "x", "type": "Microsoft.Network/virtualNetworks"}]',
            "element 0 (name 'x') has no 'id'",
        ),
        ('[{"id": "nontype"}]', "has no 'type'"),
        (
            '{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/'
            'deploymentTemplate.json#", "resources": []}',
            "ARM template",
        ),
        ("", "file is empty"),
        ("   \n", "file is empty"),
        ("hello", "not JSON or XML"),
    ],
)
def test_wrong_shapes(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(content)
    message = _error(path)
    assert expected in message
    assert str(path) in message


def test_missing_file_and_empty_folder(tmp_path: Path) -> None:
    assert "no such file or folder" in _error(tmp_path / "absent.json")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "folder holds no .json or .xml files" in _error(empty)


def test_in_a_folder_foreign_json_is_skipped_with_a_warning(tmp_path: Path) -> None:
    write(tmp_path / "estate.json", estate())
    write(tmp_path / "nft.json", {"nftables": [{"metainfo": {}}]})
    snap = load_snapshot(tmp_path)
    assert len(snap.virtual_machines) == 1
    (w,) = snap.warnings
    assert w.kind is WarningKind.SKIPPED_INPUT
    assert w.path is not None
    assert w.path.endswith("nft.json")


def test_hostile_strings_are_kept_as_data(tmp_path: Path) -> None:
    hostile = "<img src=x onerror=alert(1)>\x1b[31m\n'; DROP TABLE"
    n = nsg(rules=[rule("r", description=hostile)])
    n["name"] = "nsg\x1b]0;pwn\x07"
    snap = load_snapshot(write(tmp_path / "h.json", [n]))
    group = next(iter(snap.network_security_groups.values()))
    assert group.security_rules[0].description == hostile


def test_folder_loading_skips_guest_evidence(tmp_path: Path) -> None:
    write(tmp_path / "estate.json", estate())
    (tmp_path / "guest" / "vm1").mkdir(parents=True)
    write(tmp_path / "guest" / "vm1" / "nft.json", {"nftables": []})
    snap = load_snapshot(tmp_path)
    assert snap.warnings == ()
    assert len(snap.sources) == 1


def test_instance_view_statuses_not_a_list_is_a_warning() -> None:
    """Regression: ``instanceView.statuses: true`` raised TypeError (exit 70) while loading."""
    from vnetdoctor.ingest.loader import snapshot_from_json

    vm = ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1")
    snap = snapshot_from_json([{
        "id": vm, "name": "vm1", "type": "Microsoft.Compute/virtualMachines",
        "properties": {"networkProfile": {"networkInterfaces": []},
                       "instanceView": {"statuses": True}},
    }])
    assert snap.virtual_machines.find("vm1").power_state is None
    assert any("instanceView.statuses" in str(w) for w in snap.warnings)
