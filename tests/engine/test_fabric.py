"""The per-snapshot fabric: what it keeps goes with it, belongs to its snapshot alone, and a
matrix builds each route table and NSG engine once."""

from __future__ import annotations

import gc
import weakref
from collections import Counter
from typing import Any

import pytest

from vnetdoctor import diagnose
from vnetdoctor.analyses.compose import build_matrix
from vnetdoctor.engine import fabric as fabric_module
from vnetdoctor.engine.fabric import Fabric
from vnetdoctor.engine.nsg import NsgEngine, ip_flow_verify
from vnetdoctor.engine.path import Tracer
from vnetdoctor.engine.routes import RouteProfile, table_key
from vnetdoctor.model.snapshot import Snapshot
from vnetdoctor.samples import load_sample


def _nic(snapshot: Snapshot, vm: str) -> Any:
    nic = snapshot.primary_nic(snapshot.virtual_machines.find(vm))
    assert nic is not None
    return nic


def test_a_snapshot_dropped_with_its_fabric_is_collected() -> None:
    snapshot = load_sample("contoso")
    fabric = Fabric(snapshot)
    result = diagnose(snapshot, "vm-web-01", "vm-db-01", 5432, fabric=fabric)
    assert fabric.route_tables().built > 0
    assert fabric.nsgs().snapshot is snapshot
    ref, fabric_ref = weakref.ref(snapshot), weakref.ref(fabric)
    del snapshot, fabric, result
    gc.collect()
    assert ref() is None
    assert fabric_ref() is None


def test_nothing_outlives_a_diagnosis_without_a_fabric() -> None:
    snapshot = load_sample("contoso")
    diagnose(snapshot, "vm-web-01", "vm-db-01", 5432)
    nic = _nic(snapshot, "vm-db-01")
    ip_flow_verify(snapshot, nic, "Inbound", "Tcp", (nic.private_ip_addresses[0], 5432),
                   ("10.1.1.4", None))
    ref = weakref.ref(snapshot)
    del snapshot, nic
    gc.collect()
    assert ref() is None


def test_two_snapshots_do_not_share_engines_or_tables() -> None:
    one, two = load_sample("contoso"), load_sample("contoso")
    first, second = Fabric(one), Fabric(two)
    assert first.nsgs() is not second.nsgs()
    assert first.nsgs().snapshot is one
    assert second.nsgs().snapshot is two
    table_one = first.route_tables().table(_nic(one, "vm-web-01"), None)
    table_two = second.route_tables().table(_nic(two, "vm-web-01"), None)
    assert table_one is not table_two
    assert table_one.to_azure() == table_two.to_azure()  # equal snapshots, equal answers
    assert first.route_tables().built == second.route_tables().built == 1
    with pytest.raises(ValueError, match="another snapshot"):
        Tracer(one, second)
    with pytest.raises(ValueError, match="another snapshot"):
        diagnose(one, "vm-web-01", "vm-db-01", 5432, fabric=second)


def test_a_fabric_keeps_one_engine_per_service_tags_and_tables_per_profile() -> None:
    snapshot = load_sample("contoso")
    fabric = Fabric(snapshot)
    tags = object()
    assert fabric.nsgs() is fabric.nsgs(None)
    assert fabric.nsgs(tags) is fabric.nsgs(tags)  # type: ignore[arg-type]
    assert fabric.nsgs(tags) is not fabric.nsgs()  # type: ignore[arg-type]
    other = next(p for p in RouteProfile if p is not RouteProfile.AZURE_2024)
    assert fabric.route_tables(other) is not fabric.route_tables()
    assert fabric.route_tables(other) is fabric.route_tables(other)


def test_a_matrix_builds_each_table_and_engine_once(monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot = load_sample("contoso")
    builds: Counter[tuple[Any, ...]] = Counter()
    engines: list[NsgEngine] = []
    real_routes, real_engine = fabric_module.effective_routes, fabric_module.NsgEngine

    def counted_routes(snap: Snapshot, nic: Any, *args: Any, **kwargs: Any) -> Any:
        builds[table_key(nic, kwargs.get("ip_configuration"))] += 1
        return real_routes(snap, nic, *args, **kwargs)

    def counted_engine(*args: Any, **kwargs: Any) -> NsgEngine:
        engines.append(real_engine(*args, **kwargs))
        return engines[-1]

    monkeypatch.setattr(fabric_module, "effective_routes", counted_routes)
    monkeypatch.setattr(fabric_module, "NsgEngine", counted_engine)
    fabric = Fabric(snapshot)
    matrix = build_matrix(snapshot, 5432, fabric=fabric)
    assert matrix.diagnosed > 1  # several real diagnoses, one fabric
    assert len(engines) == 1
    assert builds, "the matrix asked for route tables"
    assert max(builds.values()) == 1  # once per subnet, however many pairs
    assert fabric.route_tables().built == len(builds)
    # Another question on the same fabric builds nothing new.
    diagnose(snapshot, "vm-web-01", "vm-db-01", 5432, fabric=fabric)
    assert max(builds.values()) == 1
    assert len(engines) == 1
