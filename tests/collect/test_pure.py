"""The parts of collection that need no Azure SDK: arguments, queries, the read-only rule, the
reference graph, the snapshot document and its atomic write, and secret scrubbing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from vnetdoctor.collect import document, graph, scope
from vnetdoctor.collect.redact import remember_secret, scrub
from vnetdoctor.errors import InputError, OutputError, UsageError
from vnetdoctor.ingest.loader import load_snapshot
from vnetdoctor.model.warnings import WarningKind

SUB = "00000000-0000-0000-0000-000000000000"
RG = f"/subscriptions/{SUB}/resourceGroups/rg"
NET = f"{RG}/providers/Microsoft.Network"


# -- arguments ------------------------------------------------------------------------------------
def test_subscription_ids_are_guids() -> None:
    assert scope.parse_subscription(f"/subscriptions/{SUB.upper()}/") == SUB
    for bad in ("prod", "", "00000000-0000-0000-0000-00000000000", f"{SUB}' or 1==1"):
        with pytest.raises(UsageError, match="not a subscription id"):
            scope.parse_subscription(bad)


def test_resource_group_names_follow_arm() -> None:
    assert scope.parse_resource_group(" rg-app_01.(x) ") == "rg-app_01.(x)"
    for bad in ("rg.", "a" * 91, "rg'); Resources | take 1 //", "rg\nx", ""):
        with pytest.raises(UsageError):
            scope.parse_resource_group(bad)


def test_kql_strings_cannot_break_out() -> None:
    assert scope.kql_string("it's") == "'it\\'s'"
    assert scope.kql_string("a\\'") == "'a\\\\\\''"
    with pytest.raises(UsageError):
        scope.kql_string("vm\x00")
    query = scope.vm_name_query("x' or name =~ 'y")
    assert "where name =~ 'x\\' or name =~ \\'y'" in query


def test_queries_are_paged_by_id_and_project_a_string_column() -> None:
    for query in (
        scope.scope_query(["rg1"]),
        scope.ids_query([f"{NET}/virtualNetworks/v"]),
        scope.type_query("microsoft.network/connections"),
        scope.vm_name_query("vm1"),
        scope.nic_ip_query(["10.0.0.4"]),
    ):
        lines = query.splitlines()
        assert lines[0] == "Resources"
        assert lines[-1] == "| order by id asc"
        assert lines[-2].startswith("| project id, ")
    assert "where resourceGroup in~ ('rg1')" in scope.scope_query(["rg1"])
    assert "resourceGroup" not in scope.scope_query().split("project")[0]


# -- the read-only rule ---------------------------------------------------------------------------
ARM = "https://management.azure.com"
NIC = f"{NET}/networkInterfaces/nic1"


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("GET", f"{ARM}{NIC}?api-version=2024-05-01", True),
        ("HEAD", f"{ARM}{NIC}", True),
        ("POST", f"{ARM}/providers/Microsoft.ResourceGraph/resources?api-version=2021-03-01", True),
        ("POST", f"{ARM}{NIC}/effectiveRouteTable?api-version=2026-03-01", True),
        ("POST", f"{ARM}{NIC}/effectiveNetworkSecurityGroups?api-version=2026-03-01", True),
        ("PUT", f"{ARM}{NIC}", False),
        ("PATCH", f"{ARM}{NIC}", False),
        ("DELETE", f"{ARM}{NIC}", False),
        ("POST", f"{ARM}/subscriptions/{SUB}/providers/Microsoft.Network/register", False),
        ("POST", f"{ARM}{NET}/networkWatchers/nw/ipFlowVerify", False),
        ("POST", f"{ARM}{NIC}/effectiveRouteTable/../../../delete", False),
        ("POST", f"{ARM}/providers/Microsoft.ResourceGraph/resources/x", False),
        ("GET", f"http://management.azure.com{NIC}", False),
        ("GET", f"https://evil.example{NIC}", False),
        ("GET", f"https://management.azure.com.evil.example{NIC}", False),
    ],
)
def test_read_only_rule(method: str, url: str, allowed: bool) -> None:
    assert (scope.read_only_refusal(method, url) is None) is allowed


def test_method_override_headers_are_refused() -> None:
    refusal = scope.read_only_refusal("GET", f"{ARM}{NIC}", ["X-HTTP-Method-Override"])
    assert refusal is not None


def test_display_url_drops_signed_query_strings() -> None:
    url = f"{ARM}/subscriptions/{SUB}/providers/Microsoft.Network/locations/x/operationResults/1"
    assert scope.display_url(f"{url}?api-version=1&c=SIGNED&s=SIG&h=H") == url.removeprefix(ARM)


# -- references -----------------------------------------------------------------------------------
def test_references_follow_the_path_and_one_peering_hop() -> None:
    vnet = {
        "id": f"{NET}/virtualNetworks/spoke",
        "type": "microsoft.network/virtualnetworks",
        "properties": {
            "subnets": [
                {
                    "id": f"{NET}/virtualNetworks/spoke/subnets/app",
                    "properties": {
                        "networkSecurityGroup": {"id": f"{NET}/networkSecurityGroups/nsg-app"},
                        "routeTable": {"id": f"{NET}/routeTables/rt-app"},
                        "ipConfigurations": [
                            {"id": f"{NET}/networkInterfaces/other/ipConfigurations/ipconfig1"},
                            {"id": f"{NET}/virtualNetworkGateways/gw/ipConfigurations/default"},
                        ],
                    },
                }
            ],
            "virtualNetworkPeerings": [
                {
                    "id": f"{NET}/virtualNetworks/spoke/virtualNetworkPeerings/to-hub",
                    "properties": {"remoteVirtualNetwork": {"id": f"{NET}/virtualNetworks/hub"}},
                }
            ],
        },
    }
    refs = dict(graph.references(vnet))
    assert refs == {
        f"{NET}/networkSecurityGroups/nsg-app": False,
        f"{NET}/routeTables/rt-app": False,
        f"{NET}/virtualNetworkGateways/gw": False,
        f"{NET}/virtualNetworks/hub": True,
    }  # the NICs of the subnet are not followed


def test_nic_references() -> None:
    nic = {
        "id": NIC,
        "type": "microsoft.network/networkinterfaces",
        "properties": {
            "networkSecurityGroup": {"id": f"{NET}/networkSecurityGroups/nsg"},
            "virtualMachine": {"id": f"{RG}/providers/Microsoft.Compute/virtualMachines/vm1"},
            "ipConfigurations": [
                {
                    "properties": {
                        "privateIPAddress": "10.0.0.4",
                        "subnet": {"id": f"{NET}/virtualNetworks/v/subnets/s"},
                        "loadBalancerBackendAddressPools": [
                            {"id": f"{NET}/loadBalancers/lb/backendAddressPools/p"}
                        ],
                        "applicationSecurityGroups": [
                            {"id": f"{NET}/applicationSecurityGroups/asg"}
                        ],
                    }
                }
            ],
        },
    }
    assert {ref for ref, _ in graph.references(nic)} == {
        f"{NET}/networkSecurityGroups/nsg",
        f"{RG}/providers/Microsoft.Compute/virtualMachines/vm1",
        f"{NET}/virtualNetworks/v",
        f"{NET}/loadBalancers/lb",
        f"{NET}/applicationSecurityGroups/asg",
    }
    assert graph.private_addresses(nic) == ["10.0.0.4"]
    assert graph.attached_vm(nic) == f"{RG}/providers/Microsoft.Compute/virtualMachines/vm1"


def test_power_state_from_resource_graph_or_instance_view() -> None:
    running = {"powerState": {"code": "PowerState/running"}}
    arg = {"properties": {"extended": {"instanceView": running}}}
    view = {"properties": {"instanceView": {"statuses": [
        {"code": "ProvisioningState/succeeded"}, {"code": "PowerState/deallocated"}]}}}
    assert graph.power_state(arg) == "PowerState/running"
    assert graph.power_state(view) == "PowerState/deallocated"
    assert graph.power_state({"properties": {}}) is None


def test_appliance_addresses() -> None:
    table = {"properties": {"routes": [
        {"properties": {"nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.0.2.4"}},
        {"properties": {"nextHopType": "Internet"}},
    ]}}
    assert graph.appliance_addresses(table) == ["10.0.2.4"]


# -- the document ---------------------------------------------------------------------------------
def _rows() -> list[dict[str, object]]:
    return [
        {
            "id": f"{NET}/connections/c1",
            "type": "microsoft.network/connections",
            "name": "c1",
            "properties": {"sharedKey": "hunter2", "connectionType": "Vnet2Vnet"},
        },
        {
            "id": f"{NET}/virtualNetworks/v",
            "type": "microsoft.network/virtualnetworks",
            "name": "v",
            "location": "westus",
            "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}, "subnets": []},
        },
    ]


def _document() -> dict[str, object]:
    warnings = [
        document.CollectionWarning(
            code="SUBSCRIPTION_UNREADABLE", message="subscription x skipped", subscription=SUB
        ),
        document.CollectionWarning(
            code="POWER_STATE_UNKNOWN", message="no power state", resource=f"{RG}/vm"
        ),
    ]
    return document.build_document(_rows(), scope={"mode": "scope"}, warnings=warnings)


def test_document_shape_sorted_and_without_secrets() -> None:
    doc = _document()
    ids = [row["id"] for row in doc["value"]]  # type: ignore[index]
    assert ids == sorted(ids, key=str.casefold)
    meta = document.collection_meta(doc)
    assert meta is not None
    assert meta["redactedFields"] == 1
    assert meta["counts"] == {"microsoft.network/connections": 1,
                              "microsoft.network/virtualnetworks": 1}
    assert "hunter2" not in document.encode_document(doc).decode()


def test_the_loader_reads_the_document(tmp_path: Path) -> None:
    path = document.write_document(_document(), tmp_path / "estate.json")
    snap = load_snapshot(path)
    assert [str(v) for v in snap.virtual_networks] == [f"{NET}/virtualNetworks/v"]
    assert len(snap.connections) == 1
    # The loader ignores the "vnetdoctor" member; ingest_warnings() turns it into warnings.
    raw = json.loads(path.read_text())
    converted = document.ingest_warnings(raw, path=str(path))
    assert [w.kind for w in converted] == [WarningKind.MISSING_FIELD, WarningKind.SKIPPED_INPUT]
    assert converted[1].resource == f"/subscriptions/{SUB}"
    assert all(w.message.startswith("live collection: ") for w in converted)


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "estate.json"
    target.write_text('{"value": []}')

    def crash(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(document.os, "replace", crash)
    with pytest.raises(OutputError, match="No space left on device"):
        document.write_document(_document(), target)
    assert target.read_text() == '{"value": []}'  # the old file, untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["estate.json"]  # no temporary file


def test_write_interrupted_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(document.os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        document.write_document(_document(), tmp_path / "estate.json")
    assert list(tmp_path.iterdir()) == []


def test_written_file_is_private(tmp_path: Path) -> None:
    path = document.write_document(_document(), tmp_path / "estate.json")
    if os.name == "posix":
        assert path.stat().st_mode & 0o077 == 0


def test_unwritable_targets_fail_before_collecting(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="folder does not exist"):
        document.check_writable(tmp_path / "missing" / "estate.json")
    with pytest.raises(InputError, match="is a folder"):
        document.check_writable(tmp_path)


# -- scrubbing ------------------------------------------------------------------------------------
def test_scrub_removes_tokens_signatures_and_secrets() -> None:
    remember_secret("opaque-token-value-1234")
    jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL20ifQ.c2lnbmF0dXJl"
    text = (
        f"failed: opaque-token-value-1234 Authorization: Bearer abc.def {jwt} "
        "https://management.azure.com/x/operationResults/1?api-version=1&c=CERT&s=SIG "
        "client_secret=s3cr3t password: 'p@ss'\nsecond line"
    )
    out = scrub(text)
    for secret in ("opaque-token-value-1234", "abc.def", jwt, "CERT", "SIG", "s3cr3t", "p@ss"):
        assert secret not in out
    assert "\n" not in out
    assert "https://management.azure.com/x/operationResults/1" in out


def test_rewritten_file_stays_private(tmp_path: Path) -> None:
    """An existing snapshot file readable by others is made private again by a rewrite."""
    target = tmp_path / "estate.json"
    target.write_text("{}")
    target.chmod(0o644)
    document.write_document(_document(), target)
    if os.name == "posix":
        assert target.stat().st_mode & 0o777 == 0o600
