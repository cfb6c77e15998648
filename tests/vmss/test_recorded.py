"""Azure's recorded answers: load-balancer pools whose members are scale-set instance ipconfigs
(``az network lb list`` in the az CLI test recordings; AKS node pools among them)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from vnetdoctor.ingest.loader import snapshot_from_json
from vnetdoctor.model.scaleset import is_instance_ip_configuration

RECORDING = "azure-cli/config/test_network_lb.yaml"


def _load_balancers(path: Path) -> Iterator[dict[str, Any]]:
    for interaction in yaml.safe_load(path.read_text())["interactions"]:
        text = (interaction["response"].get("body") or {}).get("string")
        if not text or "virtualMachineScaleSets" not in text:
            continue
        try:
            body = json.loads(text)
        except ValueError:
            continue
        items = body.get("value", [body]) if isinstance(body, dict) else []
        for item in items:
            if isinstance(item, dict) and str(item.get("type", "")).casefold() == (
                "microsoft.network/loadbalancers"
            ):
                yield item


def test_recorded_pools_name_instance_ipconfigs(fixtures: Path) -> None:
    lbs = list(_load_balancers(fixtures / RECORDING))
    assert lbs, "the recording holds load balancers with scale-set members"
    snap = snapshot_from_json(lbs)
    members = [
        ipc
        for lb in snap.load_balancers.values()
        for pool in lb.backend_address_pools
        for ipc in pool.backend_ip_configurations
    ]
    instance = [m for m in members if is_instance_ip_configuration(m)]
    assert instance, members[:3]
    for ipc in instance:
        nic = ipc.parent
        assert nic is not None
        assert nic.parent is not None
        assert "/virtualMachines/" in str(nic.parent)
        assert nic.parent.parent is not None
        assert nic.parent.parent.type == "Microsoft.Compute/virtualMachineScaleSets"
