"""Effective security admin rules (Virtual Network Manager) in `vnetdoctor collect`.

No recording holds ``listNetworkManagerEffectiveSecurityAdminRules``, so its answers are built from
the REST spec example ``NetworkManagerEffectiveSecurityAdminRulesList.json`` (the literal body in
azure-semantics-2.md §2.4): the same rule object, split over two pages joined by a ``skipToken``,
and Azure's usual ``AuthorizationFailed`` / feature-not-registered error bodies. Everything else is
the real SDK client, azure-core's transport and the read-only guard, against recorded VNets.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from builders import admin_rule_example

from collect.conftest import (
    CLI_WATCHER,
    NET_EFFECTIVE,
    SUB_CLI,
    SUB_NET,
    FakeCredential,
    assert_only_reads,
    needs_sdk,
    transport,
)
from vnetdoctor.collect.scope import read_only_refusal
from vnetdoctor.ingest.loader import load_snapshot
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.network_manager import ENVELOPE_TYPE

ARM = "https://management.azure.com"
CLI_VNET = (
    f"/subscriptions/{SUB_CLI}/resourceGroups/cli_test_network_watcher000001/providers/"
    "Microsoft.Network/virtualNetworks/vm2VNET"
)
NM = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/myResourceGroup/providers"
    "/Microsoft.Network/networkManagers/testNetworkManager"
)
# The value item of the spec example, verbatim but for the rule's name.
SPEC_RULE: dict[str, Any] = admin_rule_example()


def spec_rule(name: str, port: str, priority: int) -> dict[str, Any]:
    rule = copy.deepcopy(SPEC_RULE)
    rule["id"] = rule["id"].rsplit("/", 1)[0] + "/" + name
    rule["properties"]["destinationPortRanges"] = [port]
    rule["properties"]["priority"] = priority
    return rule


def admin_url(vnet: str) -> str:
    return f"{ARM}{vnet}/listNetworkManagerEffectiveSecurityAdminRules?api-version=2024-05-01"


# -- the read-only rule (no SDK needed) -----------------------------------------------------------
def test_the_admin_rules_post_is_a_read_and_nothing_near_it_is() -> None:
    assert read_only_refusal("POST", admin_url(CLI_VNET)) is None
    assert read_only_refusal("post", admin_url(CLI_VNET).lower()) is None
    refused = [
        ("PUT", admin_url(CLI_VNET)),
        ("DELETE", admin_url(CLI_VNET)),
        ("POST", f"{ARM}{CLI_VNET}/listNetworkManagerEffectiveConnectivityConfigurations"),
        ("POST", f"{ARM}{CLI_VNET}/listNetworkManagerEffectiveSecurityAdminRules/x"),
        ("POST", f"{ARM}{CLI_VNET}/subnets/s/listNetworkManagerEffectiveSecurityAdminRules"),
        ("POST", f"{ARM}{NM}/commit?api-version=2024-05-01"),
        ("POST", f"{ARM}{NM}/listDeploymentStatus?api-version=2024-05-01"),
        ("POST", f"{ARM}{CLI_VNET.replace('virtualNetworks', 'networkInterfaces')}"
                 "/listNetworkManagerEffectiveSecurityAdminRules"),
        ("POST", admin_url(CLI_VNET).replace("https://", "http://")),
        ("POST", admin_url(CLI_VNET).replace("management.azure.com", "example.com")),
    ]
    for method, url in refused:
        assert read_only_refusal(method, url) is not None, (method, url)


# -- collection through the SDK -------------------------------------------------------------------
Make = Callable[..., Any]


def admin_requests(fake: Any) -> list[Any]:
    return [
        s for s in fake.requests
        if s.path.casefold().endswith("/listnetworkmanagereffectivesecurityadminrules")
    ]


@needs_sdk
def test_two_pages_are_followed_and_the_envelope_keeps_the_value(
    fake_arm: Make, tmp_path: Path
) -> None:
    from vnetdoctor.collect import collect

    fake = fake_arm(CLI_WATCHER)
    fake.admin_rules(CLI_VNET, [spec_rule("Deny-22", "22", 1)], [spec_rule("Deny-23", "23", 2)])
    result = collect([SUB_CLI], credential=FakeCredential(), transport=transport(fake))
    sent = admin_requests(fake)
    mine = [s for s in sent if "vm2vnet" in s.path.casefold()]
    assert [s.method for s in mine] == ["POST", "POST"]
    assert mine[0].json() == {}
    assert mine[1].json() == {"skipToken": "FakeSkipTokenCode-1"}
    assert len(sent) == len(mine) + 1  # one call for the other VNet (vnet1), one page
    envelopes = [r for r in result.document["value"] if r.get("type") == ENVELOPE_TYPE]
    assert [e["virtualNetworkId"].rsplit("/", 1)[1] for e in envelopes] == ["vm2VNET", "vnet1"]
    mine_env = envelopes[0]
    assert set(mine_env) == {"type", "virtualNetworkId", "value"}
    assert mine_env["value"] == [spec_rule("Deny-22", "22", 1), spec_rule("Deny-23", "23", 2)]
    assert envelopes[1]["value"] == []
    assert ENVELOPE_TYPE.casefold() not in result.counts  # envelopes are not resources
    assert "ADMIN" not in " ".join(w.code for w in result.warnings)
    assert_only_reads(fake)

    snap = load_snapshot(result.write(tmp_path / "estate.json"))
    rules = snap.admin_rules_for(ResourceId(CLI_VNET))
    assert [r.name for r in rules or ()] == ["Deny-22", "Deny-23"]
    assert [r.pointer for r in rules or ()] == ["/value/0", "/value/1"]


def _error(status: int, code: str, message: str) -> Any:
    from collect.replay import Reply

    return Reply.json(status, {"error": {"code": code, "message": message}})


def _is_admin(vnet_name: str) -> Callable[[Any], bool]:
    def matches(sent: Any) -> bool:
        path = sent.path.casefold()
        return sent.method == "POST" and path.endswith(
            f"/virtualnetworks/{vnet_name.casefold()}/listnetworkmanagereffectivesecurityadminrules"
        )

    return matches


FORBIDDEN = (
    403,
    "AuthorizationFailed",
    "The client 'reader@contoso.example' with object id '11111111-1111-1111-1111-111111111111' "
    "does not have authorization to perform action 'Microsoft.Network/virtualNetworks/"
    "listNetworkManagerEffectiveSecurityAdminRules/action' over scope "
    f"'{CLI_VNET}' or the scope is invalid.",
)


@needs_sdk
def test_a_403_is_a_warning_naming_the_vnet_and_its_rules_become_unknown(
    fake_arm: Make, tmp_path: Path
) -> None:
    from vnetdoctor.api import diagnose
    from vnetdoctor.collect import collect_pair

    fake = fake_arm(CLI_WATCHER)
    fake.inject(_is_admin("vm2VNET"), _error(*FORBIDDEN))
    pair = collect_pair([SUB_CLI], "vm1", "vm2", credential=FakeCredential(),
                        transport=transport(fake))
    (warning,) = [w for w in pair.warnings if w.code.startswith("ADMIN_RULES")]
    assert warning.code == "ADMIN_RULES_FORBIDDEN"
    assert warning.resource == CLI_VNET
    assert "'vm2VNET'" in warning.message
    assert "listNetworkManagerEffectiveSecurityAdminRules/action" in warning.message
    assert len(admin_requests(fake)) == 1  # a 403 is not retried
    (envelope,) = [r for r in pair.document["value"] if r.get("type") == ENVELOPE_TYPE]
    assert "value" not in envelope
    assert envelope["error"]["status"] == 403
    assert envelope["error"]["code"] == "AuthorizationFailed"

    path = pair.write(tmp_path / "pair.json")
    snap = load_snapshot(path)
    (rule,) = snap.admin_rules_for(ResourceId(CLI_VNET)) or ()
    assert rule.is_unknown
    assert any(
        w.resource == CLI_VNET and "listNetworkManagerEffectiveSecurityAdminRules" in w.message
        for w in snap.warnings
    )
    for source in (snap, pair.snapshot()):
        result = diagnose(source, "vm1", "vm2", 22)
        assert str(result.verdict) != "reachable"
        assert result.step(2).status.value == "unknown"
        assert any("are unknown" in f.message for f in result.step(2).findings)


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "FeatureNotRegistered"), (404, "SubscriptionNotRegistered"), (500, "InternalError")],
)
@needs_sdk
def test_other_errors_are_warnings_too(fake_arm: Make, status: int, code: str) -> None:
    from vnetdoctor.collect import collect

    fake = fake_arm(CLI_WATCHER)
    fake.inject(
        _is_admin("vm2VNET"),
        _error(status, code, "The feature is not registered for the subscription."),
        repeat=True,
    )
    result = collect([SUB_CLI], credential=FakeCredential(), transport=transport(fake))
    (warning,) = [w for w in result.warnings if w.code.startswith("ADMIN_RULES")]
    assert warning.code == "ADMIN_RULES_FAILED"
    assert warning.resource == CLI_VNET
    assert f"HTTP {status} {code}" in warning.message
    envelope = next(
        r for r in result.document["value"]
        if r.get("type") == ENVELOPE_TYPE and r["virtualNetworkId"] == CLI_VNET
    )
    assert envelope["error"]["status"] == status
    (rule,) = result.snapshot().admin_rules_for(ResourceId(CLI_VNET)) or ()
    assert rule.is_unknown


@needs_sdk
def test_a_repeated_skip_token_is_a_warning_not_a_loop(fake_arm: Make) -> None:
    from collect.replay import Reply
    from vnetdoctor.collect import collect

    fake = fake_arm(CLI_WATCHER)
    fake.inject(
        _is_admin("vm2VNET"),
        Reply.json(200, {"value": [SPEC_RULE], "skipToken": "again"}),
        repeat=True,
    )
    result = collect([SUB_CLI], credential=FakeCredential(), transport=transport(fake))
    (warning,) = [w for w in result.warnings if w.code.startswith("ADMIN_RULES")]
    assert "same skip token twice" in warning.message
    assert len([s for s in admin_requests(fake) if "vm2vnet" in s.path.casefold()]) == 2


@needs_sdk
def test_the_collected_admin_deny_is_applied_by_diagnose(fake_arm: Make, tmp_path: Path) -> None:
    from vnetdoctor.api import diagnose
    from vnetdoctor.collect import collect_pair

    fake = fake_arm(CLI_WATCHER)
    fake.admin_rules(CLI_VNET, [], [SPEC_RULE])  # an empty first page, then the spec's rule
    pair = collect_pair([SUB_CLI], "vm1", "vm2", credential=FakeCredential(),
                        transport=transport(fake))
    snap = load_snapshot(pair.write(tmp_path / "pair.json"))
    result = diagnose(snap, "vm1", "vm2", 22)
    assert str(result.verdict) == "blocked"
    (blocker,) = result.blockers
    assert blocker.code == "ADMIN_RULE_DENY"
    assert str(blocker.resource).endswith("/rules/SampleAdminRule")
    assert blocker.pointer == "/value/0"
    assert_only_reads(fake)


@needs_sdk
def test_other_posts_stay_refused_through_the_sdk(fake_arm: Make) -> None:
    from vnetdoctor.collect import ReadOnlyViolation
    from vnetdoctor.collect import transport as sdk

    fake = fake_arm(NET_EFFECTIVE)
    guard = sdk.ReadOnlyTransport(transport(fake))
    client = sdk.make_network_client(FakeCredential(), guard, SUB_NET)
    with pytest.raises(ReadOnlyViolation, match="refused to send POST"):
        client.list_network_manager_effective_connectivity_configurations(
            "crptestar3544", "vn9083", {}
        )
    with pytest.raises(ReadOnlyViolation, match="refused to send POST"):
        client.network_manager_commits.begin_post(
            "rg", "nm", {"targetLocations": ["westeurope"], "commitType": "SecurityAdmin"}
        )
    assert fake.requests == []
    answer = client.list_network_manager_effective_security_admin_rules(
        "crptestar3544", "vn9083", {}
    )
    assert list(answer.value or []) == []
    assert_only_reads(fake)
