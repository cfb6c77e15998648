"""An instance is named wherever a VM is: its name, ``vmss/3``, its computer name, its id."""

from __future__ import annotations

import pytest
from builders import nic, vm

from vmss.estate import estate, instance_id
from vnetdoctor.engine.endpoints import resolve_endpoint
from vnetdoctor.errors import ResourceNotFound, UsageError
from vnetdoctor.ingest.loader import snapshot_from_json
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.resolve import resolve_vm


@pytest.mark.parametrize(
    "text",
    [
        "vmss-web_3",
        "VMSS-WEB_3",
        "vmss-web/3",
        "web000003",
        "WEB000003",
        instance_id(3),
        instance_id(3).lower(),
    ],
)
def test_each_form_names_the_instance(text: str) -> None:
    snap = snapshot_from_json(estate())
    assert resolve_vm(snap, text).id == ResourceId(instance_id(3))
    end = resolve_endpoint(snap, text)
    assert end.vm is not None
    assert end.vm.id == ResourceId(instance_id(3))
    assert end.nic is not None
    assert str(end.ip) == "10.0.1.7"


def test_a_bare_set_name_with_several_instances_lists_them() -> None:
    snap = snapshot_from_json(estate())
    with pytest.raises(UsageError) as err:
        resolve_endpoint(snap, "vmss-web")
    message = str(err.value)
    assert "4 instances" in message
    assert all(f"vmss-web_{n}" in message for n in range(4))


def test_a_bare_set_name_with_one_instance_is_that_instance() -> None:
    others = ("/virtualMachines/1", "/virtualMachines/2", "/virtualMachines/3")
    only = [r for r in estate() if not any(o in r["id"] for o in others)]
    snap = snapshot_from_json(only)
    assert resolve_vm(snap, "vmss-web").id == ResourceId(instance_id(0))


def test_a_vm_name_wins_over_a_computer_name() -> None:
    # A VM literally named like another instance's computer name is that VM (V5's order).
    snap = snapshot_from_json([*estate(), nic("nic-x", "10.0.2.9"), vm("web000001", ["nic-x"])])
    assert resolve_vm(snap, "web000001").name == "web000001"


def test_a_computer_name_shared_by_two_vms_is_ambiguous() -> None:
    a, b = vm("vm-a", ["nic-a"]), vm("vm-b", ["nic-b"])
    for body in (a, b):
        body["properties"]["osProfile"] = {"computerName": "shared"}
    snap = snapshot_from_json([a, b, nic("nic-a", "10.0.0.4"), nic("nic-b", "10.0.0.5")])
    with pytest.raises(ResourceNotFound) as err:
        resolve_vm(snap, "shared")
    assert len(err.value.candidates) == 2


def test_an_unknown_instance_is_not_found() -> None:
    snap = snapshot_from_json(estate())
    with pytest.raises(ResourceNotFound) as err:
        resolve_vm(snap, "vmss-web/9")
    assert not err.value.candidates
