"""Scale sets, Uniform instances and their NICs load, from ARM bodies and Resource Graph rows."""

from __future__ import annotations

import copy

from builders import RG, nic, vm, vnet

from vmss.estate import (
    IPS,
    NSG_DENY,
    NSG_OPEN,
    VMSS,
    estate,
    graph_rows,
    instance,
    instance_id,
    instance_nic,
    instance_nic_id,
    scale_set,
)
from vnetdoctor.ingest.loader import snapshot_from_json
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.warnings import WarningKind


def test_instances_are_vms_with_their_set_and_instance_id() -> None:
    snap = snapshot_from_json(estate())
    inst = snap.virtual_machines[instance_id(2)]
    assert inst.name == "vmss-web_2"
    assert inst.scale_set == ResourceId(VMSS)
    assert inst.instance_id == "2"
    assert inst.computer_name == "web000002"
    assert inst.latest_model_applied is False
    assert inst.is_running is True
    assert snap.virtual_machines[instance_id(3)].power_state == "deallocated"
    assert [v.name for v in snap.instances_of(ResourceId(VMSS))] == [
        "vmss-web_0",
        "vmss-web_1",
        "vmss-web_2",
        "vmss-web_3",
    ]
    vmss = snap.virtual_machine_scale_sets[VMSS]
    assert vmss.is_uniform
    assert vmss.capacity == 4
    assert vmss.computer_name_prefix == "web"
    (config,) = vmss.network_interface_configurations
    assert config.network_security_group == ResourceId(NSG_OPEN)
    assert not [w for w in snap.warnings if w.kind is WarningKind.UNSUPPORTED_TYPE]


def test_the_instance_nic_row_decides_not_the_model() -> None:
    snap = snapshot_from_json(estate())
    inst = snap.virtual_machines[instance_id(2)]
    nic_ = snap.primary_nic(inst)
    assert nic_ is not None
    assert nic_.id == ResourceId(instance_nic_id(2))
    assert nic_.network_security_group == ResourceId(NSG_DENY)
    assert snap.vm_of_nic(nic_) == inst
    assert [str(a) for a in nic_.private_ip_addresses] == [IPS[2]]


def test_resource_graph_computeresources_rows_load_the_same() -> None:
    arm = snapshot_from_json(estate())
    graph = snapshot_from_json(graph_rows(estate()))
    assert set(graph.virtual_machines) == set(arm.virtual_machines)
    assert set(graph.network_interfaces) == set(arm.network_interfaces)
    for rid, inst in arm.virtual_machines.items():
        other = graph.virtual_machines[rid]
        assert (other.name, other.instance_id, other.computer_name, other.power_state) == (
            inst.name,
            inst.instance_id,
            inst.computer_name,
            inst.power_state,
        )
    assert not [w for w in graph.warnings if w.kind is WarningKind.UNSUPPORTED_TYPE]


def test_graph_power_state_in_extended_instance_view() -> None:
    row = instance(1, None)
    row["properties"]["extended"] = {"instanceView": {"powerState": {"code": "PowerState/stopped"}}}
    snap = snapshot_from_json(graph_rows([row]))
    assert snap.virtual_machines[instance_id(1)].power_state == "stopped"


def test_an_instance_row_without_network_profile_finds_its_nic_by_id() -> None:
    snap = snapshot_from_json([instance(0, nic_refs=False), instance_nic(0, IPS[0])])
    (ref,) = snap.virtual_machines[instance_id(0)].network_interfaces
    assert ref.id == ResourceId(instance_nic_id(0))


def test_a_missing_instance_nic_is_a_warning_and_the_instance_unknown() -> None:
    snap = snapshot_from_json([scale_set(), instance(0, nic_refs=False)])
    (ref,) = snap.virtual_machines[instance_id(0)].network_interfaces
    assert ref.id == ResourceId(instance_nic_id(0))  # from the set's model, by config name
    dangling = [w for w in snap.warnings if w.kind is WarningKind.DANGLING_REFERENCE]
    assert [w.value for w in dangling] == [instance_nic_id(0)]
    assert snap.primary_nic(snap.virtual_machines[instance_id(0)]) is None


def test_a_uniform_set_without_instance_rows_says_where_they_are() -> None:
    snap = snapshot_from_json([scale_set(capacity=2)])
    (warning,) = [w for w in snap.warnings if w.resource == VMSS]
    assert warning.kind is WarningKind.MISSING_FIELD
    assert "computeresources" in warning.message


def test_flexible_members_are_vms_with_their_set() -> None:
    flex = f"{RG}/Microsoft.Compute/virtualMachineScaleSets/vmss-api"
    member = vm("vmss-api_6f1c2a9b", ["nic-api"])
    member["properties"]["virtualMachineScaleSet"] = {"id": flex}
    body = scale_set(mode="Flexible")
    body["id"], body["name"] = flex, "vmss-api"
    snap = snapshot_from_json([vnet(), body, member, nic("nic-api")])
    loaded = snap.virtual_machines.find("vmss-api_6f1c2a9b")
    assert loaded.scale_set == ResourceId(flex)
    assert loaded.instance_id is None
    assert not loaded.is_scale_set_instance
    assert not snap.virtual_machine_scale_sets[flex].is_uniform
    assert snap.virtual_machines.find("vmss-api/6f1c2a9b") == loaded
    assert snap.virtual_machines.find("vmss-api") == loaded  # its only member


def test_an_instance_nic_under_the_compute_type_loads_as_a_nic() -> None:
    row = copy.deepcopy(instance_nic(0, IPS[0]))
    row["type"] = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/networkInterfaces"
    snap = snapshot_from_json([row])
    assert ResourceId(instance_nic_id(0)) in snap.network_interfaces


def test_an_instance_public_ip_row_loads_as_a_public_ip() -> None:
    pip_id = f"{instance_nic_id(0)}/ipConfigurations/ipconfig1/publicIPAddresses/pub"
    row = {
        "id": pip_id,
        "name": "pub",
        "type": "microsoft.compute/virtualmachinescalesets/virtualmachines/networkinterfaces"
        "/ipconfigurations/publicipaddresses",
        "properties": {"ipAddress": "20.1.2.3", "publicIPAllocationMethod": "Static"},
    }
    snap = snapshot_from_json(graph_rows([row]))
    assert str(snap.public_ip_addresses[pip_id].ip_address) == "20.1.2.3"
