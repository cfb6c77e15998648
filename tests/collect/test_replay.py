"""Collection driven through the real SDK clients and azure-core's transport, against a replay of
real recorded Azure answers, with throttling, server errors and 403s injected. No live calls."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from collect.conftest import (
    CLI_NIC,
    CLI_WATCHER,
    NET_EFFECTIVE,
    NET_PEERING,
    NET_VPN,
    SHARED_KEY,
    SUB_CLI,
    SUB_DENIED,
    SUB_FLUENT,
    SUB_NET,
    TOKEN,
    FakeCredential,
    assert_only_reads,
    needs_sdk,
    transport,
)
from vnetdoctor.errors import CollectionError
from vnetdoctor.ingest.loader import load_snapshot
from vnetdoctor.model.ids import fold

pytestmark = needs_sdk

if True:  # the SDK is present whenever these tests run (needs_sdk)
    from collect.replay import FakeArm, Reply, Sent, recorded_reply, throttled_reply
    from vnetdoctor.collect import (
        AuthenticationFailed,
        AzureApiError,
        ReadOnlyViolation,
        collect,
        collect_for_pair,
        collect_pair,
    )
    from vnetdoctor.collect import transport as sdk

Make = Callable[..., FakeArm]
CLI_RG = f"/subscriptions/{SUB_CLI}/resourceGroups/cli_test_network_watcher000001/providers"
NET_RG = f"/subscriptions/{SUB_NET}/resourceGroups/crptestar3544/providers"
NIC_CONV = (
    f"/subscriptions/{SUB_CLI}/resourceGroups/cli_nic_convenience_test000001/providers/"
    "Microsoft.Network/networkInterfaces/conveniencevm1VMNic"
)
NIC_NET = f"{NET_RG}/Microsoft.Network/networkInterfaces/nic8738"


def is_graph(sent: Sent) -> bool:
    path = sent.path.casefold()
    return sent.method == "POST" and path.endswith("microsoft.resourcegraph/resources")


def keys(ids: Any) -> set[str]:
    return {fold(str(i)) for i in ids}


# -- a whole-scope collection ---------------------------------------------------------------------
@pytest.fixture
def estate(fake_arm: Make) -> FakeArm:
    # Two subscriptions of real recordings; Resource Graph pages of 3 rows to exercise skip tokens.
    return fake_arm(NET_EFFECTIVE, CLI_WATCHER, CLI_NIC, page_size=3)


def test_collection_writes_a_snapshot_that_loads(
    estate: FakeArm, credential: FakeCredential, tmp_path: Path
) -> None:
    result = collect([SUB_NET, SUB_CLI], credential=credential, transport=transport(estate))
    path = result.write(tmp_path / "estate.json")
    snap = load_snapshot(path)

    assert keys(snap.virtual_machines) == keys(
        [
            f"{NET_RG}/Microsoft.Compute/virtualMachines/vm2596",
            f"{CLI_RG}/Microsoft.Compute/virtualMachines/vm1",
            f"{CLI_RG}/Microsoft.Compute/virtualMachines/vm2",
            f"{CLI_RG}/Microsoft.Compute/virtualMachines/vm3",
            NIC_CONV.replace("Microsoft.Network/networkInterfaces/conveniencevm1VMNic",
                             "Microsoft.Compute/virtualMachines/conveniencevm1"),
        ]
    )
    assert fold(NIC_NET) in keys(snap.network_interfaces)
    assert fold(f"{CLI_RG}/Microsoft.Network/networkSecurityGroups/nsg1") in keys(
        snap.network_security_groups
    )
    vnet = f"{CLI_RG}/Microsoft.Network/virtualNetworks/vm2VNET"
    assert fold(vnet) in keys(snap.virtual_networks)
    assert fold(f"{CLI_RG}/Microsoft.Network/virtualNetworkGateways/vgw1") in keys(
        snap.virtual_network_gateways
    )
    # Storage accounts and network watchers of the recordings are not collected.
    assert snap.other_resources == {}
    # Power states come from Resource Graph (recorded instance views); one VM has none recorded.
    states = {vm.name: vm.power_state for vm in snap.virtual_machines.values()}
    assert states["vm1"] == states["conveniencevm1"] == "running"
    assert states["vm2596"] is None
    codes = [w.code for w in result.warnings]
    assert codes == ["POWER_STATE_UNKNOWN"]
    # The subnet of the vm's NIC lives in a VNet the recording never read: a dangling reference.
    assert result.stats["subscriptionsRead"] == sorted([SUB_NET, SUB_CLI])
    assert_only_reads(estate)


def test_resource_graph_is_paged_with_skip_tokens_ordered_by_id(
    estate: FakeArm, credential: FakeCredential
) -> None:
    collect([SUB_CLI], credential=credential, transport=transport(estate))
    queries = estate.graph_queries()
    first = queries[0]
    assert first["subscriptions"] == [SUB_CLI]
    assert first["options"]["$top"] == 1000
    assert first["options"]["resultFormat"] == "objectArray"
    assert first["query"].splitlines()[-1] == "| order by id asc"
    tokens = [q["options"].get("$skipToken") for q in queries if q["query"] == first["query"]]
    assert tokens[0] is None
    assert len(tokens) >= 3  # 12 rows in pages of 3
    assert all(tokens[1:])


def test_a_subscription_without_access_becomes_a_warning(
    estate: FakeArm, credential: FakeCredential, tmp_path: Path
) -> None:
    estate.forbid(SUB_DENIED)
    result = collect([SUB_DENIED, SUB_NET], credential=credential, transport=transport(estate))
    (warning,) = [w for w in result.warnings if w.code == "SUBSCRIPTION_UNREADABLE"]
    assert warning.subscription == SUB_DENIED
    assert "AuthorizationFailed" in warning.message
    assert result.stats["subscriptionsUnreadable"] == [SUB_DENIED]
    path = result.write(tmp_path / "estate.json")
    document = json.loads(path.read_text())
    assert document["vnetdoctor"]["warnings"][0]["subscription"] == SUB_DENIED or any(
        w["subscription"] == SUB_DENIED for w in document["vnetdoctor"]["warnings"]
    )
    snap = load_snapshot(path)  # the readable subscription is all there
    assert fold(NIC_NET) in keys(snap.network_interfaces)
    # Built in memory, the snapshot carries the warning as an ingest warning.
    assert any(
        w.resource == f"/subscriptions/{SUB_DENIED}" for w in result.snapshot().warnings
    )


def test_only_subscriptions_nobody_can_read_is_still_a_snapshot(
    estate: FakeArm, credential: FakeCredential
) -> None:
    estate.forbid(SUB_DENIED)
    result = collect([SUB_DENIED], credential=credential, transport=transport(estate))
    assert result.document["value"] == []
    assert [w.code for w in result.warnings] == ["SUBSCRIPTION_UNREADABLE"]


def test_resource_groups_narrow_the_scope_and_references_are_followed(
    fake_arm: Make, credential: FakeCredential
) -> None:
    fake = fake_arm(NET_PEERING)
    rg = "rg838114587a"  # the peered VNets and VMs of the recording are all in one group
    result = collect([SUB_FLUENT], [rg], credential=credential, transport=transport(fake))
    assert sum(result.counts.values()) == 6
    queries = [q["query"] for q in fake.graph_queries()]
    assert f"| where resourceGroup in~ ('{rg}')" in queries[0]
    empty = collect([SUB_FLUENT], ["rg-nothing"], credential=credential,
                    transport=transport(fake_arm(NET_PEERING)))
    assert empty.document["value"] == []


# -- throttling and server errors -----------------------------------------------------------------
def test_throttling_honours_retry_after(estate: FakeArm, credential: FakeCredential) -> None:
    estate.inject(is_graph, throttled_reply(7), throttled_reply(None, resets_after="00:00:03"))
    result = collect([SUB_NET], credential=credential, transport=transport(estate))
    assert estate.sleeps[:2] == [7, 3]  # Retry-After, then Resource Graph's quota reset
    assert result.stats["throttled"] == 2
    assert sum(result.counts.values()) == 4
    assert_only_reads(estate)


def test_retry_after_is_bounded(estate: FakeArm, credential: FakeCredential) -> None:
    estate.inject(is_graph, throttled_reply(86400))
    collect([SUB_NET], credential=credential, transport=transport(estate))
    assert estate.sleeps[0] == sdk.MAX_RETRY_AFTER


def test_transient_server_errors_are_retried_with_backoff(
    estate: FakeArm, credential: FakeCredential, fixtures: Path
) -> None:
    gateway_timeout, internal = recorded_reply(fixtures, 504), recorded_reply(fixtures, 500)
    assert json.loads(gateway_timeout.body)["error"]["code"] == "GatewayTimeout"
    estate.inject(is_graph, gateway_timeout, internal, gateway_timeout)
    result = collect([SUB_NET], credential=credential, transport=transport(estate))
    assert result.stats["serverErrors"] == 3
    assert sum(result.counts.values()) == 4
    backoff = [s for s in estate.sleeps if s]
    assert backoff == sorted(backoff)
    assert max(backoff) <= sdk.BACKOFF_MAX


def test_persistent_failure_gives_up_after_bounded_retries(
    estate: FakeArm, credential: FakeCredential, fixtures: Path
) -> None:
    estate.inject(is_graph, recorded_reply(fixtures, 504), repeat=True)
    with pytest.raises(AzureApiError) as info:
        collect([SUB_NET], credential=credential, transport=transport(estate))
    assert info.value.exit_code == 4
    assert info.value.status == 504
    assert "GatewayTimeout" in str(info.value)
    assert "retries" in str(info.value)
    assert len([s for s in estate.requests if is_graph(s)]) == 1 + sdk.MAX_RETRIES
    assert sum(estate.sleeps) <= sdk.MAX_RETRIES * sdk.BACKOFF_MAX


# -- effective routes and NSGs --------------------------------------------------------------------
def _final_answer(fake: FakeArm, nic: str, kind: str) -> Any:
    chain = fake.effective[fold(f"{nic}/{kind}")]
    return chain[-1].json()


def test_effective_routes_and_nsgs_replayed_with_polling(
    estate: FakeArm, credential: FakeCredential, tmp_path: Path
) -> None:
    result = collect([SUB_NET, SUB_CLI], ["crptestar3544", "cli_nic_convenience_test000001"],
                     effective=True, credential=credential, transport=transport(estate))
    effective = {fold(k): v for k, v in result.effective.items()}
    for nic in (NIC_NET, NIC_CONV):
        for kind in ("effectiveRouteTable", "effectiveNetworkSecurityGroups"):
            assert effective[fold(nic)][kind] == _final_answer(estate, nic, kind), (nic, kind)
    # The CLI recording answered 202 and was polled at its Location until 200.
    polls = [s for s in estate.requests if "/operationResults/" in s.path]
    assert len(polls) >= 4
    assert [w.code for w in result.warnings] == ["POWER_STATE_UNKNOWN"]
    document = json.loads(result.write(tmp_path / "e.json").read_text())
    routes = document["vnetdoctor"]["effective"][NIC_CONV]["effectiveRouteTable"]["value"]
    assert {"source", "state", "addressPrefix", "nextHopType"} <= set(routes[0])
    assert_only_reads(estate)


def test_effective_without_the_action_permission_is_a_warning(
    estate: FakeArm, credential: FakeCredential
) -> None:
    forbidden = Reply.json(403, {"error": {"code": "AuthorizationFailed", "message": "The client "
        "does not have authorization to perform action 'Microsoft.Network/networkInterfaces/"
        "effectiveRouteTable/action'."}})
    estate.inject(lambda s: s.path.endswith("/effectiveRouteTable"), forbidden, repeat=True)
    result = collect([SUB_NET], effective=True, credential=credential, transport=transport(estate))
    codes = sorted(w.code for w in result.warnings)
    assert codes == ["EFFECTIVE_FORBIDDEN", "POWER_STATE_UNKNOWN"]
    (warning,) = [w for w in result.warnings if w.code == "EFFECTIVE_FORBIDDEN"]
    assert "effectiveRouteTable/action" in warning.message
    answers = {fold(k): v for k, v in result.effective.items()}
    assert set(answers[fold(NIC_NET)]) == {"effectiveNetworkSecurityGroups"}


def test_effective_server_error_is_retried(
    estate: FakeArm, credential: FakeCredential, fixtures: Path
) -> None:
    estate.inject(lambda s: s.path.endswith("/effectiveNetworkSecurityGroups"),
                  recorded_reply(fixtures, 500))
    result = collect([SUB_NET], effective=True, credential=credential, transport=transport(estate))
    answers = {fold(k): v for k, v in result.effective.items()}
    assert set(answers[fold(NIC_NET)]) == {"effectiveRouteTable", "effectiveNetworkSecurityGroups"}


def test_effective_skips_nics_of_stopped_vms(fake_arm: Make, credential: FakeCredential) -> None:
    fake = fake_arm(CLI_WATCHER)
    row_vm = f"{CLI_RG}/Microsoft.Compute/virtualMachines/vm3"
    view = fake.instance_views[fold(row_vm)]
    body = view.json()
    for status in body["properties"]["instanceView"]["statuses"]:
        if status["code"].startswith("PowerState/"):
            status["code"] = "PowerState/deallocated"
    fake.instance_views[fold(row_vm)] = type(view)(**{**view.__dict__,
                                                      "body": json.dumps(body).encode()})
    result = collect([SUB_CLI], ["cli_test_network_watcher000001"], effective=True,
                     credential=credential, transport=transport(fake))
    skipped = [w for w in result.warnings if w.code == "EFFECTIVE_SKIPPED"]
    assert [fold(w.resource or "") for w in skipped] == [
        fold(f"{CLI_RG}/Microsoft.Network/networkInterfaces/vm3VMNic")
    ]
    assert not any(s.path.endswith("vm3VMNic/effectiveRouteTable") for s in fake.requests)


# -- power state ----------------------------------------------------------------------------------
def test_power_state_from_the_instance_view_when_resource_graph_lacks_it(
    fake_arm: Make, credential: FakeCredential
) -> None:
    fake = fake_arm(CLI_WATCHER, arg_power_state=False)
    result = collect([SUB_CLI], credential=credential, transport=transport(fake))
    snap = result.snapshot()
    assert {vm.name: vm.power_state for vm in snap.virtual_machines.values()} == {
        "vm1": "running", "vm2": "running", "vm3": "running"
    }
    views = [s for s in fake.requests if s.method == "GET" and "expand=instanceView" in s.url]
    assert len(views) == 3
    assert_only_reads(fake)


# -- the read-only guard --------------------------------------------------------------------------
def test_the_guard_refuses_writes_before_they_leave(fake_arm: Make) -> None:
    fake = fake_arm(NET_EFFECTIVE)
    guard = sdk.ReadOnlyTransport(transport(fake))
    client = sdk.make_network_client(FakeCredential(), guard, SUB_NET)
    with pytest.raises(ReadOnlyViolation, match="refused to send DELETE"):
        client.network_security_groups.begin_delete("crptestar3544", "nsg2627")
    with pytest.raises(ReadOnlyViolation, match="refused to send PUT"):
        client.network_security_groups.begin_create_or_update(
            "crptestar3544", "nsg2627", {"location": "southeastasia"}
        )
    with pytest.raises(ReadOnlyViolation, match="refused to send POST"):
        client.network_watchers.begin_verify_ip_flow("rg", "nw", {
            "targetResourceId": "x", "direction": "Inbound", "protocol": "TCP",
            "localPort": "22", "remotePort": "22", "localIPAddress": "10.0.0.4",
            "remoteIPAddress": "10.0.0.5"})
    assert fake.requests == []  # nothing reached the wire
    assert guard.stats.refused == 3
    # Reads pass.
    nsg = client.network_security_groups.get("crptestar3544", "nsg2627")
    assert nsg.name == "nsg2627"
    assert_only_reads(fake)


def test_the_sdk_auto_registration_post_is_refused(
    fake_arm: Make, credential: FakeCredential
) -> None:
    # ARM answers 409 MissingSubscriptionRegistration to a GET; azure-mgmt-core's policy would
    # then POST .../providers/Microsoft.Compute/register on its own. The guard stops it.
    fake = fake_arm(CLI_WATCHER, arg_power_state=False)
    unregistered = Reply.json(409, {"error": {"code": "MissingSubscriptionRegistration",
        "message": "The subscription is not registered to use namespace 'Microsoft.Compute'."}})
    fake.inject(lambda s: "expand=instanceView" in s.url, unregistered)
    with pytest.raises(ReadOnlyViolation, match="/register") as info:
        collect([SUB_CLI], credential=credential, transport=transport(fake))
    assert info.value.exit_code == 4
    assert not any("register" in s.path for s in fake.requests)
    assert_only_reads(fake)


# -- authentication and secrets -------------------------------------------------------------------
class BrokenCredential:
    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.exceptions import ClientAuthenticationError

        raise ClientAuthenticationError(
            f"DefaultAzureCredential failed to retrieve a token.\n"
            f"AzureCliCredential: refresh token {TOKEN} expired"
        )


def test_no_credential_is_a_one_line_authentication_error(estate: FakeArm) -> None:
    with pytest.raises(AuthenticationFailed) as info:
        collect([SUB_NET], credential=BrokenCredential(), transport=transport(estate))
    message = str(info.value)
    assert info.value.exit_code == 4
    assert "\n" not in message
    assert "az login" in message
    assert estate.requests == []


def test_tokens_and_secrets_never_appear(
    fake_arm: Make, credential: FakeCredential, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = fake_arm(NET_VPN, NET_EFFECTIVE)
    fake.forbid(SUB_DENIED)
    fake.inject(is_graph, throttled_reply(2))
    result = collect([SUB_FLUENT, SUB_NET, SUB_DENIED], effective=True, credential=credential,
                     transport=transport(fake))
    text = result.write(tmp_path / "estate.json").read_text()
    assert credential.calls >= 1
    assert TOKEN not in text
    assert SHARED_KEY not in text
    assert "sharedKey" not in text
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(result.stats) + repr(result.warnings)
    # The connections are there, without their key.
    snap = load_snapshot(tmp_path / "estate.json")
    assert len(snap.connections) == 2
    assert json.loads(text)["vnetdoctor"]["redactedFields"] >= 1
    assert_only_reads(fake)


# -- diagnose --live: what one pair needs ---------------------------------------------------------
def test_pair_collects_what_the_pair_needs(fake_arm: Make, credential: FakeCredential) -> None:
    fake = fake_arm(CLI_WATCHER, CLI_NIC)
    snap = collect_for_pair([SUB_CLI], "vm2", "vm1", credential=credential,
                            transport=transport(fake))
    assert {vm.name for vm in snap.virtual_machines.values()} == {"vm1", "vm2"}
    assert {n.name for n in snap.network_interfaces.values()} == {"vm1VMNic", "vm2VMNic"}
    assert {v.name for v in snap.virtual_networks.values()} == {"vm2VNET"}
    assert {n.name for n in snap.network_security_groups.values()} == {"nsg1"}
    assert {p.name for p in snap.public_ip_addresses.values()} == {"vm1PublicIP", "vm2PublicIP"}
    assert {vm.power_state for vm in snap.virtual_machines.values()} == {"running"}
    # vm2's own NSG "vm2" was never read by the recording: a dangling reference, not a crash.
    assert any(w.kind == "dangling_reference" and "vm2" in (w.value or "")
               for w in snap.warnings)
    assert_only_reads(fake)


def test_pair_by_address_and_by_id(fake_arm: Make, credential: FakeCredential) -> None:
    fake = fake_arm(CLI_WATCHER)
    vm3 = f"{CLI_RG}/Microsoft.Compute/virtualMachines/vm3"
    snap = collect_for_pair([SUB_CLI], "10.0.0.9", vm3, credential=credential,
                            transport=transport(fake))
    assert {vm.name for vm in snap.virtual_machines.values()} == {"vm1", "vm3"}


def test_pair_follows_one_peering_hop(fake_arm: Make, credential: FakeCredential) -> None:
    fake = fake_arm(NET_PEERING)
    snap = collect_for_pair([SUB_FLUENT], "vm4cb5834245", "vm4cb249478c", credential=credential,
                            transport=transport(fake))
    assert {v.name for v in snap.virtual_networks.values()} == {"net2f23108962", "net76b27221aa"}
    peerings = [p for v in snap.virtual_networks.values() for p in v.virtual_network_peerings]
    assert len(peerings) == 2


def test_pair_across_vpn_gateways(fake_arm: Make, credential: FakeCredential) -> None:
    fake = fake_arm(NET_VPN)
    pair = collect_pair([SUB_FLUENT], "vm143b0147005a7", "vm259223795e499", effective=True,
                        credential=credential, transport=transport(fake))
    snap = pair.snapshot()
    assert len(snap.virtual_network_gateways) == 2
    assert len(snap.connections) == 2
    assert SHARED_KEY not in json.dumps(pair.document)


def test_pair_endpoint_not_found_is_a_warning(fake_arm: Make, credential: FakeCredential) -> None:
    fake = fake_arm(CLI_WATCHER)
    pair = collect_pair([SUB_CLI], "vm1", "no-such-vm", credential=credential,
                        transport=transport(fake))
    assert [w.code for w in pair.warnings] == ["ENDPOINT_NOT_FOUND"]
    assert any("no-such-vm" in w.message for w in pair.snapshot().warnings)


def test_a_written_pair_snapshot_loads_and_diagnoses(
    fake_arm: Make, credential: FakeCredential, tmp_path: Path
) -> None:
    api = pytest.importorskip("vnetdoctor.api")
    fake = fake_arm(CLI_WATCHER)
    pair = collect_pair([SUB_CLI], "vm1", "vm2", credential=credential, transport=transport(fake))
    snap = load_snapshot(pair.write(tmp_path / "pair.json"))
    for diagnosis in (api.diagnose(snap, "vm1", "vm2", 22),
                      api.diagnose(pair.snapshot(), "vm1", "vm2", 22)):
        assert str(diagnosis.verdict) in {"blocked", "reachable", "inconclusive"}
        assert len(diagnosis.steps) == 9


def test_collection_error_family(estate: FakeArm, credential: FakeCredential) -> None:
    with pytest.raises(CollectionError):
        collect([SUB_NET], credential=BrokenCredential(), transport=transport(estate))


def test_no_valid_subscriptions_answer_is_a_warning_too(
    estate: FakeArm, credential: FakeCredential
) -> None:
    # What Resource Graph answers when none of the subscriptions asked for can be read.
    invalid = Reply.json(400, {"error": {"code": "BadRequest", "message": "Please provide below "
        "info when asking for support", "details": [{"code": "NoValidSubscriptionsInQueryRequest",
        "message": "There must be at least one subscription eligible to contain resources"}]}})
    estate.inject(lambda s: is_graph(s) and s.json()["subscriptions"] == [SUB_DENIED], invalid)
    result = collect([SUB_DENIED, SUB_NET], credential=credential, transport=transport(estate))
    (warning,) = result.warnings[-1:]
    assert warning.code == "SUBSCRIPTION_UNREADABLE"
    assert warning.subscription == SUB_DENIED
    assert result.stats["subscriptionsUnreadable"] == [SUB_DENIED]


def test_truncated_results_are_a_warning(estate: FakeArm, credential: FakeCredential) -> None:
    truncated = Reply.json(200, {"totalRecords": 5000, "count": 0, "data": [], "facets": [],
                                 "resultTruncated": "true"})
    estate.inject(is_graph, truncated)
    result = collect([SUB_NET], credential=credential, transport=transport(estate))
    assert "RESULT_TRUNCATED" in [w.code for w in result.warnings]


def test_a_refused_token_is_an_authentication_error(
    estate: FakeArm, credential: FakeCredential
) -> None:
    expired = Reply.json(401, {"error": {"code": "ExpiredAuthenticationToken",
                                         "message": "The access token expiry UTC time is ..."}})
    estate.inject(is_graph, expired)
    with pytest.raises(AuthenticationFailed, match="could not authenticate"):
        collect([SUB_NET], credential=credential, transport=transport(estate))


def test_an_unreadable_referenced_subscription_is_named(
    fake_arm: Make, credential: FakeCredential
) -> None:
    fake = fake_arm(NET_PEERING)
    key = next(k for k in fake.resources if k.endswith("/virtualnetworks/net2f23108962"))
    vnet = fake.body(key)
    hub = f"/subscriptions/{SUB_DENIED}/resourceGroups/hub/providers/Microsoft.Network"
    hub += "/virtualNetworks/hub"
    peering = vnet["properties"]["virtualNetworkPeerings"][0]["properties"]
    peering["remoteVirtualNetwork"]["id"] = hub
    fake.resources[key] = vnet
    fake.forbid(SUB_DENIED)
    result = collect([SUB_FLUENT], credential=credential, transport=transport(fake))
    assert [(w.code, w.subscription, w.resource) for w in result.warnings
            if w.code != "POWER_STATE_UNKNOWN"] == [("REFERENCE_UNREADABLE", SUB_DENIED, hub)]
    assert result.stats["subscriptionsUnreadable"] == [SUB_DENIED]
