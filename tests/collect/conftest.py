"""Fixtures for live-collection tests: recorded Azure answers, a fake credential, the replay."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from vnetdoctor.collect.scope import read_only_refusal

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken

    from collect.replay import FakeArm, ReplayTransport, Sent

HAVE_SDK = importlib.util.find_spec("azure.mgmt.network") is not None
needs_sdk = pytest.mark.skipif(
    not HAVE_SDK, reason="the Azure SDK (extra 'azure') is not installed"
)

# A token nobody could mistake: any appearance in output, logs or files is a leak.
TOKEN = "vnd-FAKE-TOKEN-7f3c9e1b2a4d6f80-must-never-appear"

# Real recordings (../shared/fixtures/recordings), by what they hold.
CLI_WATCHER = "azure-cli/verdicts/2018-03-13_a581edfb44_test_network_watcher.yaml"  # vm1-3, nsg1
CLI_NIC = (  # a VM with its instance view; effective routes/NSGs as 202 + polling
    "azure-cli/verdicts/2024-08-27_490908aba4_test_network_nic_convenience_commands.yaml"
)
NET_EFFECTIVE = (  # VNet, NSG, NIC, VM; effective routes/NSGs answered 200
    "azure-sdk-for-net/verdicts/2019-08-24_3c92879d86_TestEffectiveRouteAndAcls.json"
)
NET_PEERING = (  # two peered VNets with one VM each
    "azure-libraries-for-net/verdicts/2020-11-27_32412cd4f6_VerifyNetworkPeeringWithNetworkWatcherTest.json"
)
NET_VPN = (  # two VNets joined by VPN gateways; a connection with its sharedKey
    "azure-libraries-for-net/verdicts/2020-11-27_32412cd4f6_ManageVpnGatewayVNet2VNetConnectionTest.json"
)
SUB_CLI = "00000000-0000-0000-0000-000000000000"
SUB_NET = "24fb23e3-6ba3-41f0-9b6e-e41131d5d61e"
SUB_FLUENT = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
SUB_DENIED = "99999999-9999-4999-8999-999999999999"
SHARED_KEY = "MySecretKey"  # the recorded VPN connection's pre-shared key


class FakeCredential:
    """A TokenCredential that hands out :data:`TOKEN`."""

    def __init__(self) -> None:
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        from azure.core.credentials import AccessToken

        self.calls += 1
        assert scopes == ("https://management.azure.com/.default",), scopes
        return AccessToken(TOKEN, int(time.time()) + 3600)


@pytest.fixture
def recordings(fixtures: Path) -> Path:
    path = fixtures / "recordings"
    if not path.is_dir():
        pytest.skip(f"recorded Azure answers not found at {path}")
    return path


@pytest.fixture
def fake_arm(recordings: Path) -> Callable[..., FakeArm]:
    def make(*names: str, **options: Any) -> FakeArm:
        from collect.replay import FakeArm

        return FakeArm([recordings / name for name in names], **options)

    return make


@pytest.fixture
def credential() -> FakeCredential:
    return FakeCredential()


def transport(fake: FakeArm) -> ReplayTransport:
    from collect.replay import ReplayTransport

    return ReplayTransport(fake)


def is_read(sent: Sent) -> bool:
    return read_only_refusal(sent.method, sent.url, sent.headers) is None


def assert_only_reads(fake: FakeArm) -> None:
    """Every request that reached the wire was a read, authenticated with the fake token."""
    assert fake.requests, "nothing was sent"
    for sent in fake.requests:
        assert sent.method in {"GET", "POST"}, (sent.method, sent.path)
        assert is_read(sent), (sent.method, sent.path)
        assert sent.headers.get("Authorization") == f"Bearer {TOKEN}", sent.path
        if sent.method == "POST":
            lowered = sent.path.casefold()
            assert lowered == "/providers/microsoft.resourcegraph/resources" or lowered.endswith(
                (
                    "/effectiveroutetable",
                    "/effectivenetworksecuritygroups",
                    "/listnetworkmanagereffectivesecurityadminrules",
                )
            ), sent.path
