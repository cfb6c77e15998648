"""Every nextHop and effectiveRouteTable answer Azure recorded (../shared/fixtures/cases), replayed.

Each case is run with the route profile whose ``observed_in`` lists it (Azure's platform routes
and Network Watcher's names changed between 2016 and 2024; see ``RouteProfile``). Usable cases
must agree 100%; each unusable case is asserted to get the answer documented in ``UNUSABLE``.
Ids in these recordings compare case-insensitively and ignoring the subscription segment (the
recorders scrubbed it in some places only): that is handled here, not in the engine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from vnetdoctor.engine.routes import (
    DEFAULT_PROFILE,
    SYSTEM_ROUTE,
    RouteKind,
    RouteProfile,
    effective_routes,
    next_hop,
)
from vnetdoctor.errors import ResourceNotFound
from vnetdoctor.ingest.loader import load_snapshot
from vnetdoctor.model.compute import NetworkInterface
from vnetdoctor.model.snapshot import Snapshot

REPO = Path(__file__).resolve().parents[2]
CASES_DIR = (REPO.parent / "shared" / "fixtures" / "cases").resolve()
KINDS = ("nextHop", "effectiveRouteTable")

pytestmark = pytest.mark.fixtures


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    usable: bool
    body: dict[str, Any]

    @property
    def expected(self) -> Any:
        return self.body["expected"]

    @property
    def request(self) -> dict[str, Any]:
        req: dict[str, Any] = self.body.get("request_resolved") or self.body["request"]
        return req

    def snapshot(self) -> Snapshot:
        return load_snapshot(CASES_DIR / self.id / "snapshot.json")


def _all_cases() -> list[Case]:
    if not CASES_DIR.is_dir():
        return []
    out = []
    for path in sorted(CASES_DIR.glob("*/case.json")):
        body = json.loads(path.read_text())
        if body["kind"] in KINDS:
            out.append(Case(body["id"], body["kind"], bool(body["usable"]), body))
    return out


CASES = _all_cases()
CASE_IDS = [c.id for c in CASES] or ["(no fixtures)"]


def _case(case_id: str) -> Case:
    if not CASES:
        pytest.skip(f"recorded Azure fixtures not found at {CASES_DIR} (../shared/fixtures)")
    return next(c for c in CASES if c.id == case_id)


def profile_of(case_id: str) -> RouteProfile:
    found = [p for p in RouteProfile if case_id in p.spec.observed_in]
    assert len(found) == 1, f"{case_id} is listed by {len(found)} profiles"
    return found[0]


def same_id(a: str, b: str) -> bool:
    """Recording artefact: compare ids case-insensitively, ignoring the subscription segment."""
    def fold(text: str) -> str:
        return re.sub(r"^/subscriptions/[^/]*", "", text.strip(), flags=re.IGNORECASE).casefold()

    return fold(a) == fold(b)


def target_nic(case: Case, snap: Snapshot) -> NetworkInterface:
    target = case.body["target"]
    if target.get("nic_id"):
        return snap.network_interfaces.find(target["nic_id"])
    if target.get("vm_id"):
        vm = snap.virtual_machines.find(target["vm_id"])
        nic = snap.primary_nic(vm)
        if nic is None:
            raise ResourceNotFound("network interface", f"primary NIC of {vm.name}")
        return nic
    return snap.network_interfaces.find(target["nic"])


# -- answering a case --------------------------------------------------------------------------
def our_next_hop(case: Case, profile: RouteProfile) -> dict[str, Any]:
    snap = case.snapshot()
    req = case.request
    return next_hop(snap, target_nic(case, snap), req["sourceIPAddress"],
                    req["destinationIPAddress"], profile).to_azure()


def next_hop_agrees(ours: dict[str, Any], azure: dict[str, Any]) -> bool:
    if ours.get("nextHopType") != azure.get("nextHopType"):
        return False
    if ours.get("nextHopIpAddress") != azure.get("nextHopIpAddress"):
        return False
    mine, theirs = ours.get("routeTableId"), azure.get("routeTableId")
    if SYSTEM_ROUTE in (mine, theirs):
        return mine == theirs
    return mine is not None and theirs is not None and same_id(mine, theirs)


Row = tuple[str, str, tuple[str, ...], tuple[str, ...], str, str | None, bool | None]


def route_rows(value: list[dict[str, Any]], *, with_bgp_flag: bool) -> list[Row]:
    return [(r["source"], r["state"], tuple(r["addressPrefix"]), tuple(r["nextHopIpAddress"]),
             r["nextHopType"], r.get("name"),
             r.get("disableBgpRoutePropagation") if with_bgp_flag else None) for r in value]


def our_routes(case: Case, profile: RouteProfile) -> list[dict[str, Any]]:
    snap = case.snapshot()
    table = effective_routes(snap, target_nic(case, snap), profile)
    assert table.is_complete, table.all_problems()
    routes: list[dict[str, Any]] = table.to_azure()["value"]
    return routes


def routes_agree(ours: list[dict[str, Any]], azure: list[dict[str, Any]]) -> tuple[bool, bool]:
    """(same routes as a multiset, same order)."""
    flag = all("disableBgpRoutePropagation" in r for r in azure)  # older APIs omit it
    mine, theirs = route_rows(ours, with_bgp_flag=flag), route_rows(azure, with_bgp_flag=flag)
    return sorted(mine, key=repr) == sorted(theirs, key=repr), mine == theirs


def agrees(case: Case, profile: RouteProfile) -> bool:
    try:
        if case.kind == "nextHop":
            return next_hop_agrees(our_next_hop(case, profile), case.expected)
        return routes_agree(our_routes(case, profile), case.expected["value"])[0]
    except ResourceNotFound:
        return False


# -- unusable cases: what we answer, and why ---------------------------------------------------
UNUSABLE = {
    "effectiveroutetable-cli-nic-convenience-2016-09-16-1":
        "the target NIC was never returned by a GET in the recording: we answer 'no network "
        "interface' (exit 2); Azure's answer is still checked against profile azure-2016",
    "effectiveroutetable-cli-nic-convenience-2016-11-21-1":
        "as 2016-09-16: target NIC absent; Azure's 7 routes match profile azure-2016",
    "effectiveroutetable-cli-nic-convenience-2017-03-09-1":
        "target NIC absent; Azure's 6 routes match profile azure-2017 (the documented four)",
    "effectiveroutetable-restspec-2021-02-01-1":
        "REST specification example with no configuration: nothing to resolve (empty snapshot); "
        "its 6 routes match profile documented",
    "nexthop-restspec-2021-02-01-1":
        "REST specification example with no configuration (empty snapshot): the VM is not "
        "found; the example itself is inconsistent (a VnetLocal next hop with next hop IP "
        "10.0.0.1 decided by route table rt1)",
}


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_case(case_id: str) -> None:
    case = _case(case_id)
    if case.usable:
        profile = profile_of(case.id)
        if case.kind == "nextHop":
            ours = our_next_hop(case, profile)
            assert next_hop_agrees(ours, case.expected), (ours, case.expected)
        else:
            same, ordered = routes_agree(our_routes(case, profile), case.expected["value"])
            assert same
            assert ordered  # the profiles keep Azure's listing order too
        return
    assert case.id in UNUSABLE, f"unusable case {case.id} has no documented expectation"
    with pytest.raises(ResourceNotFound):
        target_nic(case, case.snapshot())


@pytest.mark.parametrize("case_id", [c.id for c in CASES if c.kind == "effectiveRouteTable"]
                         or ["(no fixtures)"])
def test_profile_holds_azures_platform_routes(case_id: str) -> None:
    """Also for the unusable cases: the platform routes do not depend on the missing NIC."""
    case = _case(case_id)
    azure = [(tuple(r["addressPrefix"]), r["nextHopType"]) for r in case.expected["value"]
             if r["nextHopType"] != "VnetLocal"]
    spec = profile_of(case.id).spec
    assert azure == [((p,), t.value) for p, t in spec.defaults]


def test_every_profile_observation_is_a_case() -> None:
    if not CASES:
        pytest.skip(f"recorded Azure fixtures not found at {CASES_DIR} (../shared/fixtures)")
    known = {c.id for c in CASES}
    for profile in RouteProfile:
        assert set(profile.spec.observed_in) <= known, profile
    for case in CASES:
        if case.usable or case.kind == "effectiveRouteTable":
            profile_of(case.id)  # the REST example of next hop is no observation of anything


def test_agreement_per_kind(capsys: pytest.CaptureFixture[str]) -> None:
    if not CASES:
        pytest.skip(f"recorded Azure fixtures not found at {CASES_DIR} (../shared/fixtures)")
    lines = []
    for kind in KINDS:
        usable = [c for c in CASES if c.kind == kind and c.usable]
        agree = [c.id for c in usable if agrees(c, profile_of(c.id))]
        default = [c.id for c in usable if agrees(c, DEFAULT_PROFILE)]
        total = sum(c.kind == kind for c in CASES)
        lines.append(f"{kind}: {len(agree)}/{len(usable)} usable cases agree with the profile of "
                     f"their date ({total - len(usable)} unusable, documented); "
                     f"{len(default)}/{len(usable)} with the default profile {DEFAULT_PROFILE}")
        assert len(agree) == len(usable), sorted({c.id for c in usable} - set(agree))
    with capsys.disabled():
        print("\n" + "\n".join(lines))


# -- anomalies ---------------------------------------------------------------------------------
def _cases(kind: str) -> Iterator[Case]:
    return (c for c in CASES if c.kind == kind and c.usable)


def test_anomaly_next_hop_naming_changed_in_2018() -> None:
    """Network Watcher said VnetLocal in 2017 and VirtualNetwork from 2018 on, while the effective
    route table says VnetLocal throughout: with today's profile the 2017 answers differ in that
    name only."""
    if not CASES:
        pytest.skip(f"recorded Azure fixtures not found at {CASES_DIR} (../shared/fixtures)")
    for case in _cases("nextHop"):
        if case.expected["nextHopType"] != "VnetLocal":
            continue
        ours = our_next_hop(case, DEFAULT_PROFILE)
        assert ours == {**case.expected, "nextHopType": "VirtualNetwork"}


def test_anomaly_source_ip_not_on_the_vm() -> None:
    """Older CLI runs asked with source 123.4.5.6, not an address of the VM; Azure answered, and
    so do we, saying so."""
    seen = 0
    for case in _cases("nextHop"):
        if case.request["sourceIPAddress"] != "123.4.5.6":
            continue
        snap = case.snapshot()
        hop = next_hop(snap, target_nic(case, snap), "123.4.5.6",
                       case.request["destinationIPAddress"], profile_of(case.id))
        assert not hop.is_unknown
        assert any("is not an address of NIC" in note for note in hop.notes)
        seen += 1
    if not CASES:
        pytest.skip(f"recorded Azure fixtures not found at {CASES_DIR} (../shared/fixtures)")
    assert seen == 5


def test_anomaly_appliance_outside_the_vnet_is_none_with_ip_and_table() -> None:
    """Decision 8, from the .NET NextHop tests: a UDR to 10.0.1.2 from VNet 10.17.3.0/24."""
    seen = 0
    for case in _cases("nextHop"):
        if case.expected["nextHopType"] != "None":
            continue
        snap = case.snapshot()
        req = case.request
        hop = next_hop(snap, target_nic(case, snap), req["sourceIPAddress"],
                       req["destinationIPAddress"], profile_of(case.id))
        assert hop.route is not None
        assert hop.route.kind is RouteKind.USER
        assert hop.route.appliance_reachable is False
        assert hop.pointer == "/properties/routes/0"
        seen += 1
    if not CASES:
        pytest.skip(f"recorded Azure fixtures not found at {CASES_DIR} (../shared/fixtures)")
    assert seen == 2


# -- --as-of: the date of each answer picks a profile that agrees with it -----------------------
# The day each answer was served (its HTTP Date header in the recording; the case ids carry the
# day the recording was committed, months or years later for the .NET session records).
SERVED = {
    "effectiveroutetable-netsdk-effective-route-acls-2016-08-02-1": "2016-08-03",
    "effectiveroutetable-cli-nic-convenience-2016-09-16-1": "2016-09-15",
    "effectiveroutetable-cli-nic-convenience-2016-11-21-1": "2016-11-16",
    "nexthop-netsdk-nexthop-2017-02-09-1": "2017-01-21",
    "nexthop-netsdk-nexthop-2017-02-09-2": "2017-01-21",
    "effectiveroutetable-cli-nic-convenience-2017-03-09-1": "2017-03-07",
    "nexthop-cli-watcher-2017-06-01-1": "2017-05-24",
    "nexthop-cli-watcher-2017-06-30-1": "2017-06-29",
    "nexthop-netsdk-nexthop-2019-08-24-1": "2017-06-23",
    "nexthop-netsdk-nexthop-2019-08-24-2": "2017-06-23",
    "nexthop-javafluent-watcher-functions-2017-09-22-1": "2017-08-30",
    "nexthop-cli-watcher-2018-03-13-1": "2018-03-12",
    "effectiveroutetable-netsdk-effective-route-acls-2018-03-24-1": "2018-03-21",
    "effectiveroutetable-cli-nic-convenience-2018-04-04-1": "2018-03-30",
    "nexthop-netfluent-manage-watcher-2020-11-27-1": "2018-04-13",
    "nexthop-netfluent-canwatchnetwork-2020-11-27-1": "2018-04-16",
    "effectiveroutetable-netsdk-effective-route-acls-2019-08-24-1": "2018-08-18",
    "nexthop-cli-watcher-vm-2018-09-11-1": "2018-09-10",
    "nexthop-cli-watcher-vm-2018-12-04-1": "2018-11-30",
    "nexthop-javafluent-watcher-functions-2020-07-21-1": "2020-01-02",
    "effectiveroutetable-cli-nic-convenience-2020-07-09-1": "2020-07-07",
    "nexthop-cli-watcher-vm-2020-09-11-1": "2020-09-03",
    "nexthop-cli-watcher-vm-2020-12-20-1": "2020-12-16",
    "effectiveroutetable-cli-nic-convenience-2021-05-19-1": "2021-05-14",
    "nexthop-cli-watcher-vm-2021-05-27-1": "2021-05-26",
    "nexthop-cli-watcher-vm-2023-02-24-1": "2023-02-24",
    "effectiveroutetable-cli-nic-convenience-2023-03-03-1": "2023-03-01",
    "effectiveroutetable-cli-nic-convenience-2024-08-27-1": "2024-08-26",
    "effectiveroutetable-cli-nic-convenience-2024-08-27-2": "2024-08-26",
    "nexthop-cli-watcher-vm-2024-08-27-1": "2024-08-26",
}
# REST specification examples are no answers of any day.
NOT_SERVED = {"effectiveroutetable-restspec-2021-02-01-1", "nexthop-restspec-2021-02-01-1"}


def test_every_case_has_its_served_day() -> None:
    if not CASES:
        pytest.skip(f"recorded Azure fixtures not found at {CASES_DIR} (../shared/fixtures)")
    assert {c.id for c in CASES} == set(SERVED) | NOT_SERVED


def test_as_of_the_served_day_agrees_with_azure(capsys: pytest.CaptureFixture[str]) -> None:
    """--as-of with the day of each answer picks a profile that gives Azure's answer: the same
    next hop, or the same platform routes in the same order (also for the unusable route
    tables, whose platform routes do not depend on the missing NIC)."""
    if not CASES:
        pytest.skip(f"recorded Azure fixtures not found at {CASES_DIR} (../shared/fixtures)")
    checked = 0
    for case in CASES:
        if case.id in NOT_SERVED:
            continue
        profile = RouteProfile.as_of(SERVED[case.id])
        if case.kind == "effectiveRouteTable":
            azure = [(tuple(r["addressPrefix"]), r["nextHopType"]) for r in case.expected["value"]
                     if r["nextHopType"] != "VnetLocal"]
            assert azure == [((p,), t.value) for p, t in profile.spec.defaults], (case.id,
                                                                                  profile)
        if case.usable:
            assert agrees(case, profile), (case.id, profile)
        checked += 1
    with capsys.disabled():
        print(f"\n--as-of the served day: {checked}/{len(CASES) - len(NOT_SERVED)} recorded "
              "answers agree")
    assert checked == len(SERVED)
