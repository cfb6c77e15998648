"""Random JSON thrown at the loader: it loads, or raises the tool's own error. Nothing else."""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vnetdoctor import SnapshotParseError, load_snapshot
from vnetdoctor.ingest.loader import snapshot_from_json

TYPES = [
    "Microsoft.Network/virtualNetworks",
    "Microsoft.Network/networkSecurityGroups",
    "Microsoft.Network/networkInterfaces",
    "Microsoft.Compute/virtualMachines",
    "Microsoft.Network/routeTables",
    "Microsoft.Network/loadBalancers",
    "Microsoft.Network/connections",
    "Microsoft.Network/virtualNetworkGateways",
    "Microsoft.Network/localNetworkGateways",
    "Microsoft.Network/natGateways",
    "Microsoft.Network/publicIPAddresses",
    "Microsoft.Network/applicationSecurityGroups",
    "Microsoft.Network/virtualNetworks/subnets",
    "Microsoft.ClassicCompute/virtualMachines",
    "Microsoft.Network/networkSecurityGroups/securityRules",
    "Something/else",
]
KEYS = [
    "properties",
    "addressSpace",
    "addressPrefixes",
    "addressPrefix",
    "subnets",
    "securityRules",
    "defaultSecurityRules",
    "ipConfigurations",
    "privateIPAddress",
    "subnet",
    "id",
    "name",
    "priority",
    "protocol",
    "access",
    "direction",
    "sourceAddressPrefix",
    "destinationPortRange",
    "destinationPortRanges",
    "networkInterfaces",
    "networkProfile",
    "routes",
    "nextHopType",
    "nextHopIpAddress",
    "virtualNetworkPeerings",
    "remoteVirtualNetwork",
    "peeringState",
    "instanceView",
    "statuses",
    "code",
    "inputEndpoints",
    "endpointAcl",
    "rules",
    "frontendIPConfigurations",
    "loadBalancingRules",
    "outboundRules",
    "enableIPForwarding",
    "value",
    "data",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 70000),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(
        [
            "10.0.0.0/16",
            "10.300.0.0/16",
            "80-70",
            "99999",
            "*",
            "Tcp",
            "Allow",
            "Inbound",
            "VirtualAppliance",
            "10.0.0.4",
            "VirtualNetwork",
            "Connected",
        ]
    ),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), children, max_size=6),
    ),
    max_leaves=30,
)
resources = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(
            st.sampled_from(
                [
                    "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/v",
                    "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/v/subnets/a",
                    "/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/virtualMachines/m",
                    "/subscriptions/s/resourceGroups/r/providers/Microsoft.ClassicCompute/virtualMachines/c",
                ]
            ),
            st.text(max_size=10),
            json_values,
        ),
        "type": st.one_of(st.sampled_from(TYPES), json_values),
        "name": json_values,
        "location": json_values,
        "properties": json_values,
        "sku": json_values,
    },
)
documents = st.one_of(
    st.lists(resources, max_size=5),
    st.builds(lambda rs: {"value": rs}, st.lists(resources, max_size=5)),
    st.builds(lambda rs: {"data": rs}, st.lists(resources, max_size=5)),
    resources,
    json_values,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_random_documents_load_or_raise_the_tools_error(document: Any) -> None:
    try:
        snapshot_from_json(document)
    except SnapshotParseError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_random_bytes_load_or_raise_the_tools_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.json"
        path.write_bytes(data)
        try:
            load_snapshot(path)
        except SnapshotParseError as exc:
            assert str(path) in str(exc)


@settings(max_examples=100, deadline=None)
@given(documents, st.integers(1, 50))
def test_truncated_documents_never_escape(document: Any, cut: int) -> None:
    text = json.dumps(document)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.json"
        path.write_text(text[: max(1, len(text) - cut)])
        with contextlib.suppress(SnapshotParseError):
            load_snapshot(path)
