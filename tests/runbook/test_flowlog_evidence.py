"""diagnose --flowlogs: denied flows as evidence at step 2, observed concurrency at step 5."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vnetdoctor import diagnose, load_sample

pytest.importorskip("duckdb", reason="flow-log evidence needs the flowlogs extra (duckdb)")

T0 = 1_763_000_000_000  # ms


def _blob(path: Path, tuples: list[str], rule: str) -> Path:
    record = {
        "time": "2026-11-20T10:00:00.0000000Z", "flowLogVersion": 4,
        "flowLogGUID": "00000000-0000-0000-0000-000000000001", "macAddress": "000D3A053224",
        "category": "FlowLogFlowEvent", "operationName": "FlowLogFlowEvent",
        "flowLogResourceID": "/SUBSCRIPTIONS/X/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/"
                             "MICROSOFT.NETWORK/NETWORKWATCHERS/NW/FLOWLOGS/FL",
        "targetResourceID": "/subscriptions/x/resourceGroups/rg/providers/"
                            "Microsoft.Network/virtualNetworks/vnet-spoke-data",
        "flowRecords": {"flows": [{
            "aclID": "/subscriptions/3f2b9c1e-7d4a-4e8b-9a61-5c0d2e8f7a14/resourceGroups/"
                     "rg-spoke-data/providers/Microsoft.Network/networkSecurityGroups/nsg-snet-data",
            "flowGroups": [{"rule": rule, "flowTuples": tuples}]}]},
    }
    path.write_text(json.dumps({"records": [record]}))
    return path


def test_denied_flows_are_cited_with_their_rule_and_blob(tmp_path: Path) -> None:
    tuples = [f"{T0 + i * 1000},10.1.1.4,10.2.1.4,{40000 + i},5432,6,I,D,NX,0,0,0,0"
              for i in range(3)]
    blob = _blob(tmp_path / "PT1H.json", tuples, "UserRule_Deny-Web-Tier-To-Data")
    result = diagnose(load_sample(), "vm-web-01", "vm-db-01", 5432, flow_logs=[str(blob)])
    (logged,) = [f for f in result.step(2).findings if f.code == "FLOW_LOG_DENIED"]
    assert "3 " in logged.message
    assert "Deny-Web-Tier-To-Data" in logged.message
    assert logged.resource is not None
    assert logged.resource.endswith("PT1H.json")
    assert "NSG_DENY" in result.codes()  # the configuration and the history agree


def test_observed_concurrency_feeds_the_snat_step(tmp_path: Path) -> None:
    # 1,500 flows from vm-web-01 to one IP:port, all opened before any of them closes.
    tuples = [f"{T0 + i},10.1.1.4,52.178.190.12,{20000 + i},443,6,O,B,NX,0,0,0,0"
              for i in range(1500)]
    tuples += [f"{T0 + 60_000 + i},10.1.1.4,52.178.190.12,{20000 + i},443,6,O,E,NX,9,900,9,900"
               for i in range(1500)]
    blob = _blob(tmp_path / "PT1H.json", tuples, "DefaultRule_AllowInternetOutBound")
    result = diagnose(load_sample(), "vm-web-01", "52.178.190.12", 443, flow_logs=[str(blob)])
    step5 = result.step(5)
    assert [f.code for f in step5.findings] == ["SNAT_EXHAUSTION"]
    assert "observed in the flow logs" in step5.findings[0].message
    assert "1500" in step5.findings[0].message
