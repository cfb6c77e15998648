"""Shared helpers for the flow-log tests: the real samples, a plain-Python reference, builders."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from vnetdoctor.flowlogs.formats import Tuple, iter_tuples
from vnetdoctor.flowlogs.model import FlowAggregate, FlowFilter

SHARED = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "flowlogs"
SAMPLES = {
    # file -> flow tuples in it (the catalogue's counts; the Elastic ones counted by hand)
    "sumologic-azure-function/blob_fixtures.json": 153,
    "sumologic-azure-function/blob_fixtures_networkinterfaceflowlogs.json": 61,
    "sumologic-azure-function/blob_fixtures_subnetflowlogs.json": 68,
    "sumologic-azure-function/blob_fixtures_vnetflowlogs.json": 166,
    "elastic-integrations/azure_network_watcher_nsg__test-nsg.log": 1,
    "elastic-integrations/azure_network_watcher_nsg__testdata.log": 11,
    "elastic-integrations/azure_network_watcher_vnet__test-vnet.log": 2,
    "elastic-integrations/azure_network_watcher_vnet__testdata.log": 19,
}

FlowKey = tuple[str, str, int, int, str, str, str, str | None]


def json_values(path: str | os.PathLike[str]) -> Iterator[Any]:
    """Every top-level JSON value of a file: one document, or one per line."""
    text = Path(path).read_text()
    try:
        yield json.loads(text)
    except ValueError:
        for line in text.splitlines():
            if line.strip():
                yield json.loads(line)


def reference_tuples(paths: Iterable[str | os.PathLike[str]]) -> list[Tuple]:
    out: list[Tuple] = []
    for path in paths:
        for value in json_values(path):
            out.extend(iter_tuples(os.path.abspath(path), value))
    return out


def reference_flows(paths: Iterable[str | os.PathLike[str]],
                    flt: FlowFilter | None = None) -> dict[FlowKey, tuple[int, ...]]:
    """The flows aggregate computed with plain Python: key -> (count, packets, bytes, first,
    last). The oracle the engines are checked against."""
    flt = flt or FlowFilter()
    agg: dict[FlowKey, list[int]] = defaultdict(lambda: [0, 0, 0, 2**63, -(2**63)])
    for t in reference_tuples(paths):
        if t.status != "ok" or not _keep(t, flt):
            continue
        assert t.src is not None
        assert t.dst is not None
        assert t.src_port is not None
        assert t.dst_port is not None
        assert t.protocol is not None
        assert t.direction is not None
        assert t.decision is not None
        assert t.ts_ms is not None
        key = (t.src, t.dst, t.src_port, t.dst_port, t.protocol, t.direction, t.decision, t.rule)
        entry = agg[key]
        entry[0] += 1
        entry[1] += t.packets
        entry[2] += t.bytes
        entry[3] = min(entry[3], t.ts_ms)
        entry[4] = max(entry[4], t.ts_ms)
    return {key: tuple(value) for key, value in agg.items()}


def _keep(t: Tuple, flt: FlowFilter) -> bool:
    assert t.src is not None
    assert t.dst is not None
    assert t.ts_ms is not None
    return (flt.matches_addresses(t.src, t.dst)
            and (flt.port is None or t.dst_port == flt.port)
            and (flt.protocol is None or t.protocol == flt.protocol)
            and (flt.decision is None or t.decision == flt.decision.value)
            and (flt.since is None or t.ts_ms >= flt.since)
            and (flt.until is None or t.ts_ms <= flt.until))


def as_dict(flows: Iterable[FlowAggregate]) -> dict[FlowKey, tuple[int, ...]]:
    return {
        (f.src, f.dst, f.src_port, f.dst_port, f.protocol, f.direction, f.decision, f.rule):
        (f.count, f.packets, f.bytes, f.first_seen, f.last_seen)
        for f in flows
    }


def v4_record(tuples: list[str], *, rule: str = "UserRule_DenyRdp",
              acl: str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/"
                         "networkSecurityGroups/nsg1",
              mac: str = "00224871C205", version: Any = 4) -> dict[str, Any]:
    return {
        "time": "2025-03-14T09:00:52.5625085Z", "flowLogVersion": version,
        "macAddress": mac, "category": "FlowLogFlowEvent",
        "targetResourceID": "/subscriptions/s/resourceGroups/rg/providers/"
                            "Microsoft.Network/virtualNetworks/vnet1",
        "operationName": "FlowLogFlowEvent",
        "flowRecords": {"flows": [{"aclID": acl, "flowGroups": [
            {"rule": rule, "flowTuples": tuples}]}]},
    }


def v2_record(tuples: list[str], *, rule: str = "DefaultRule_DenyAllInBound",
              mac: str = "000D3AF87856", version: Any = 2) -> dict[str, Any]:
    return {
        "time": "2025-03-14T09:00:35.3899262Z", "category": "NetworkSecurityGroupFlowEvent",
        "resourceId": "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/"
                      "NETWORKSECURITYGROUPS/NSG1",
        "operationName": "NetworkSecurityGroupFlowEvents",
        "properties": {"Version": version, "flows": [
            {"rule": rule, "flows": [{"mac": mac, "flowTuples": tuples}]}]},
    }


def blob(*records: dict[str, Any]) -> str:
    return json.dumps({"records": list(records)})


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
