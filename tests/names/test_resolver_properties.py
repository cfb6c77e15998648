"""The resolver against a brute-force reference over random layouts: zones among a few names,
links to some of three VNets (Default or NxDomainRedirect), forwarding rulesets with rules to
inbound endpoints or to outside servers, A and CNAME records (loops included), a private
endpoint or not, and VNets whose DNS server is an inbound endpoint."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from builders import RG, nic, subnet, vm, vnet
from dns_builders import (
    a,
    cname,
    link,
    private_endpoint,
    resolver,
    rule,
    ruleset,
    storage_id,
    vnet_id,
    zone,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vnetdoctor.engine.dns import resolve
from vnetdoctor.ingest.loader import snapshot_from_json

VNETS = ("v0", "v1", "v2")
ZONES = ("contoso.com", "app.contoso.com", "corp.local", "privatelink.blob.core.windows.net")
HOSTS = ("a.contoso.com", "b.contoso.com", "app.contoso.com", "x.app.contoso.com",
         "db.corp.local", "st1.blob.core.windows.net", "st1.privatelink.blob.core.windows.net",
         "vm-v1.contoso.com", "vm-v0.corp.local")
RULE_DOMAINS = ("contoso.com", "app.contoso.com", "corp.local", "blob.core.windows.net",
                "privatelink.blob.core.windows.net", "")
ADDRESSES = ("10.9.0.1", "10.9.0.2", "10.9.0.3")
OUTSIDE = "192.0.2.53"


def inbound_ip(v: str) -> str:
    return f"10.{VNETS.index(v)}.2.4"


@dataclass
class Layout:
    zones: dict[str, dict[str, tuple[str, str]]]  # zone -> relative name -> (A|CNAME, value)
    links: dict[str, dict[str, tuple[str, bool]]]  # zone -> vnet -> (policy, registration)
    resolvers: set[str]  # VNets holding an inbound endpoint
    rulesets: list[tuple[dict[str, tuple[str, bool]], set[str]]]  # (domain -> (target, on), vnets)
    servers: dict[str, str | None]  # VNet -> its DNS server (an inbound endpoint VNet) or Azure
    endpoint: bool
    source: str
    name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def relative_names(zone_name: str) -> list[str]:
    return ["@" if h == zone_name else h[: -len(zone_name) - 1]
            for h in HOSTS if h == zone_name or h.endswith("." + zone_name)]


@st.composite
def layouts(draw: st.DrawFn) -> Layout:
    zones: dict[str, dict[str, tuple[str, str]]] = {}
    links: dict[str, dict[str, tuple[str, bool]]] = {}
    for zname in draw(st.sets(st.sampled_from(ZONES))):
        records = {}
        for rel in relative_names(zname):
            kind = draw(st.sampled_from(("none", "A", "CNAME")))
            if kind == "A":
                records[rel] = ("A", draw(st.sampled_from(ADDRESSES)))
            elif kind == "CNAME":
                records[rel] = ("CNAME", draw(st.sampled_from(HOSTS)))
        zones[zname] = records
        links[zname] = {v: (draw(st.sampled_from(("Default", "NxDomainRedirect"))),
                            draw(st.booleans()))
                        for v in draw(st.sets(st.sampled_from(VNETS)))}
    resolvers = draw(st.sets(st.sampled_from(VNETS)))
    targets = [inbound_ip(v) for v in sorted(resolvers)] + [OUTSIDE]
    domains = draw(st.lists(st.sampled_from(RULE_DOMAINS), unique=True, max_size=4))
    rulesets: list[tuple[dict[str, tuple[str, bool]], set[str]]] = []
    if domains:
        split = draw(st.integers(0, len(domains)))
        for part in (domains[:split], domains[split:]):
            rules = {d: (draw(st.sampled_from(targets)), draw(st.booleans())) for d in part}
            rulesets.append((rules, draw(st.sets(st.sampled_from(VNETS)))))
    servers = {v: (draw(st.sampled_from((None, *sorted(resolvers)))) if resolvers else None)
               for v in VNETS}
    return Layout(zones, links, resolvers, rulesets, servers, draw(st.booleans()),
                  draw(st.sampled_from(VNETS)), draw(st.sampled_from(HOSTS)))


def estate(layout: Layout) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, v in enumerate(VNETS):
        vid = vnet_id(v)
        props: dict[str, Any] = {}
        server = layout.servers[v]
        if server is not None:
            props["dhcpOptions"] = {"dnsServers": [inbound_ip(server)]}
        out.append(vnet(v, f"10.{i}.0.0/16", [subnet(vid, "default", f"10.{i}.0.0/24"),
                                              subnet(vid, "snet-inbound", f"10.{i}.2.0/28")],
                        **props))
        out.append(nic(f"nic-{v}", f"10.{i}.0.4", f"{vid}/subnets/default"))
        out.append(vm(f"vm-{v}", [f"nic-{v}"]))
    for v in sorted(layout.resolvers):
        out.append(resolver(f"dnspr-{v}", v, {"in": inbound_ip(v)}))
    for zname, records in layout.zones.items():
        sets = [a(rel, value) if kind == "A" else cname(rel, value)
                for rel, (kind, value) in records.items()]
        links = [link(f"l-{v}", v, policy=policy, registration=registration)
                 for v, (policy, registration) in layout.links[zname].items()]
        out.append(zone(zname, sets, links))
    for n, (rules, vnets) in enumerate(layout.rulesets):
        out.append(ruleset(f"rs{n}", [
            rule(f"r{i}", d + "." if d else ".", target, state="Enabled" if on else "Disabled")
            for i, (d, (target, on)) in enumerate(rules.items())], sorted(vnets)))
    if layout.endpoint:
        out.append(nic("pe.nic", "10.0.0.50", f"{vnet_id('v0')}/subnets/default"))
        out.append(private_endpoint("pe-st1", storage_id("st1"), "blob",
                                    subnet_id=f"{vnet_id('v0')}/subnets/default",
                                    nic_name="pe.nic"))
    return out


def suffixes(name: str) -> list[str]:
    labels = name.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))] + [""]


Answer = tuple[str, frozenset[str]]


class Reference:
    """Name resolution written the slow, obvious way (every suffix, longest first)."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.asked = layout.name
        self.seen = [layout.name]

    def answer(self) -> Answer:
        server = self.layout.servers[self.layout.source]
        if server is not None:
            return self.azure(server, self.asked, 1)
        return self.azure(self.layout.source, self.asked, 0)

    def azure(self, v: str, name: str, forwards: int) -> Answer:
        for suffix in suffixes(name):
            for rules, vnets in self.layout.rulesets:
                if v in vnets and suffix in rules and rules[suffix][1]:
                    target = rules[suffix][0]
                    if target == OUTSIDE:
                        return ("unknown", frozenset())
                    if forwards + 1 > 4:
                        return ("unknown", frozenset())
                    owner = next(w for w in VNETS if inbound_ip(w) == target)
                    return self.azure(owner, name, forwards + 1)
        for suffix in suffixes(name):
            if suffix in self.layout.zones and v in self.layout.links[suffix]:
                return self.in_zone(v, name, suffix, forwards)
        return self.public(v, name, forwards, redirected=False)

    def follow(self, v: str, target: str, forwards: int) -> Answer:
        if target in self.seen or len(self.seen) - 1 >= 8:
            return ("unknown", frozenset())
        self.seen.append(target)
        return self.azure(v, target, forwards)

    def in_zone(self, v: str, name: str, zname: str, forwards: int) -> Answer:
        rel = "@" if name == zname else name[: -len(zname) - 1]
        record = self.layout.zones[zname].get(rel)
        if record is not None and record[0] == "CNAME":
            return self.follow(v, record[1], forwards)
        if record is not None:
            return ("address", frozenset([record[1]]))
        for w, (_policy, registration) in self.layout.links[zname].items():
            if registration and rel == f"vm-{w}":  # the platform's record for the VNet's VM
                return ("address", frozenset([f"10.{VNETS.index(w)}.0.4"]))
        if (self.layout.links[zname][v][0] == "NxDomainRedirect"
                and zname.startswith("privatelink.")):
            return self.public(v, self.asked, forwards, redirected=True)
        return ("nxdomain", frozenset())

    def public(self, v: str, name: str, forwards: int, redirected: bool) -> Answer:
        if name == "st1.blob.core.windows.net" and self.layout.endpoint and not redirected:
            return self.follow(v, "st1.privatelink.blob.core.windows.net", forwards)
        if name in ("st1.blob.core.windows.net", "st1.privatelink.blob.core.windows.net"):
            return ("public-endpoint", frozenset())
        if any(name == z or name.endswith("." + z) for z in self.layout.zones):
            return ("nxdomain", frozenset())
        return ("unknown", frozenset())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layouts())
def test_resolver_agrees_with_the_reference(layout: Layout) -> None:
    snap = snapshot_from_json(estate(layout))
    assert list(snap.warnings) == []
    got = resolve(snap, snap.virtual_machines.find(f"vm-{layout.source}"), layout.name)
    kind = got.answer.kind.value
    expected = Reference(layout).answer()
    assert (kind, frozenset(str(x) for x in got.answer.addresses)) == expected, (
        [s.detail for s in got.chain], [i.message for i in got.issues])


def test_reference_sanity() -> None:
    """The reference itself, on a layout whose answer is known."""
    layout = Layout(zones={"privatelink.blob.core.windows.net": {"st1": ("A", "10.9.0.1")}},
                    links={"privatelink.blob.core.windows.net": {"v1": ("Default", False)}},
                    resolvers={"v1"}, rulesets=[({"blob.core.windows.net": ("10.1.2.4", True)},
                                                 {"v0"})],
                    servers=dict.fromkeys(VNETS), endpoint=True, source="v0",
                    name="st1.blob.core.windows.net")
    assert Reference(layout).answer() == ("address", frozenset({"10.9.0.1"}))
    snap = snapshot_from_json(estate(layout))
    got = resolve(snap, snap.virtual_machines.find("vm-v0"), layout.name)
    assert [str(x) for x in got.answer.addresses] == ["10.9.0.1"]
    assert RG in str(got.chain[-1].resource)
