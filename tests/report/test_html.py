"""The HTML report: self-contained, complete, and every estate string escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import msgspec
import pytest

from vnetdoctor.api import diagnose
from vnetdoctor.model.snapshot import Snapshot
from vnetdoctor.report.html import path_svg, render_html, render_matrix_html, rule_description
from vnetdoctor.runbook.runner import Diagnosis
from vnetdoctor.samples import load_sample

PAYLOAD = "<img src=x onerror=alert(1)>"
WINRM = "Allow-WinRM-From-Mgmt"


class _Tags(HTMLParser):
    """Every start tag and attribute the browser would build."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser


@pytest.fixture(scope="module")
def sample() -> Snapshot:
    return load_sample("contoso")


@pytest.fixture(scope="module")
def blocked(sample: Snapshot) -> Diagnosis:
    return diagnose(sample, "vm-web-01", "vm-db-01", 5432)


def _winrm_pointer(sample: Snapshot) -> tuple[str, str]:
    nsg = sample.network_security_groups.find("nsg-snet-mgmt")
    rule = next(r for r in nsg.security_rules if r.name == WINRM)
    return str(nsg.id), f"/properties/securityRules/{rule.index}"


def test_sample_rule_description_is_the_payload(sample: Snapshot) -> None:
    resource, pointer = _winrm_pointer(sample)
    assert rule_description(sample, resource, pointer) == PAYLOAD


def test_hostile_description_and_names_render_as_text(sample: Snapshot, blocked: Diagnosis) -> None:
    resource, pointer = _winrm_pointer(sample)
    hops = list(blocked.path)
    # Point an NSG hop at the rule whose description is the payload, and make every other
    # estate-written string hostile too: names, decisions, details, finding messages.
    hops[2] = msgspec.structs.replace(
        hops[2], name=PAYLOAD, resource=resource, pointer=pointer, detail=f"\"{PAYLOAD}'&"
    )
    steps = list(blocked.steps)
    findings = list(steps[1].findings)
    findings[0] = msgspec.structs.replace(
        findings[0], message=PAYLOAD, remediation=PAYLOAD, command=PAYLOAD, resource=PAYLOAD
    )
    steps[1] = msgspec.structs.replace(steps[1], findings=tuple(findings), title=PAYLOAD)
    hostile = msgspec.structs.replace(blocked, path=tuple(hops), steps=tuple(steps))
    page = render_html(hostile, snapshot=sample)

    parsed = _parse(page)
    tags = {t for t, _ in parsed.tags}
    assert "img" not in tags
    assert "script" not in tags
    assert not any(k.startswith("on") for _, attrs in parsed.tags for k in attrs)
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert PAYLOAD not in page
    # ... and the reader sees the payload as text (the rule description included).
    text = "".join(parsed.text)
    assert f"Rule description: {PAYLOAD}" in text
    assert text.count(PAYLOAD) >= 5


def test_self_contained(blocked: Diagnosis) -> None:
    page = render_html(blocked)
    parsed = _parse(page)
    for tag, attrs in parsed.tags:
        for key in ("src", "href"):
            value = attrs.get(key) or ""
            assert not value or value.startswith("#"), (tag, key, value)
        assert tag not in ("script", "link", "iframe", "img")
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page
    assert "default-src 'none'" in page  # CSP: the browser may fetch nothing at all


def test_verdict_steps_blockers_and_marked_hop(blocked: Diagnosis) -> None:
    page = render_html(blocked)
    parsed = _parse(page)
    verdict = [a for t, a in parsed.tags if a.get("id") == "verdict"]
    assert verdict
    assert verdict[0]["data-verdict"] == "blocked"
    steps = [a for t, a in parsed.tags if t == "tr" and "step" in (a.get("class") or "")]
    assert [int(a["data-step"] or 0) for a in steps] == list(range(1, 10))
    assert steps[1]["data-status"] == "fail"
    blockers = [a for t, a in parsed.tags if "blocker" in (a.get("class") or "").split()]
    assert [a["data-code"] for a in blockers] == ["NSG_DENY"]
    text = "".join(parsed.text)
    assert "Fix: Add an allow rule" in text
    assert "Evidence: " in text
    assert "nsg-snet-data" in text
    hops = [a for t, a in parsed.tags if t == "g" and "hop" in (a.get("class") or "").split()]
    assert len(hops) == len(blocked.path)
    failing = [a for a in hops if "failing" in (a.get("class") or "").split()]
    assert len(failing) == 1
    assert failing[0]["id"] == "failing-hop"
    assert failing[0]["data-kind"] == "nsg-inbound"


def test_svg_is_well_formed_xml(blocked: Diagnosis) -> None:
    svg = ET.fromstring(path_svg(blocked.path))
    ns = "{http://www.w3.org/2000/svg}"
    assert svg.tag == f"{ns}svg"
    groups = [g for g in svg.iter(f"{ns}g") if "hop" in g.get("class", "").split()]
    assert len(groups) == len(blocked.path)
    assert len(list(svg.iter(f"{ns}line"))) == len(blocked.path) - 1


def test_reachable_and_empty_paths(sample: Snapshot) -> None:
    result = diagnose(sample, "vm-web-01", "vm-db-01", 5432)
    empty = msgspec.structs.replace(result, path=())
    page = render_html(empty)
    assert "No path was traced" in page
    assert "failing-hop" not in path_svg(tuple(h for h in result.path if h.status != "fail"))


def test_matrix_heat_map_escapes_and_lists_cells(sample: Snapshot) -> None:
    from vnetdoctor.analyses.matrix import reference_matrix

    m = reference_matrix(sample, 5432, vms="vm-db-*")
    page = render_matrix_html(m)
    parsed = _parse(page)
    cells = [a for t, a in parsed.tags if t == "td" and a.get("data-verdict")]
    n = len(m.vms)
    assert len(cells) == n * (n - 1)
    assert "script" not in {t for t, _ in parsed.tags}


def test_matrix_with_too_many_groups_is_drawn_by_vnet_pair(sample: Snapshot) -> None:
    """Beyond the group limit, one square per (source VNet, destination VNet): the counts in
    the squares' tooltips add up to every VM pair, each square coloured by its main verdict."""
    import re

    from vnetdoctor.analyses.compose import build_matrix

    m = build_matrix(sample, 5432)
    page = render_matrix_html(m, max_vms=5, max_groups=5)
    squares = [a for t, a in _parse(page).tags if t == "td" and a.get("data-verdict")]
    vnets = {g.vnet for g in m.groups}
    assert 0 < len(squares) <= len(vnets) ** 2
    totals = dict.fromkeys(("reachable", "blocked", "inconclusive"), 0)
    for square in squares:
        title = square.get("title") or ""
        head = title.split(". ")[0]
        pattern = r"(reachable|blocked|inconclusive) ([\d,]+)"
        found = {k: int(n.replace(",", "")) for k, n in re.findall(pattern, head)}
        assert square["data-verdict"] == max(found, key=lambda k: found[k])
        for k, n in found.items():
            totals[k] += n
    assert {k: n for k, n in totals.items() if n} == m.counts()
    assert "vnet-hub" in page


# ---------------------------------------------------------------------------------------------
# Azure Firewall and load balancer hops: their own node kinds, their facts, all escaped
# ---------------------------------------------------------------------------------------------
def _hop_groups(page: str) -> list[dict[str, str | None]]:
    return [a for t, a in _parse(page).tags if t == "g" and "hop" in (a.get("class") or "")]


def test_firewall_hop_is_drawn_with_collection_and_rule(sample: Snapshot) -> None:
    result = diagnose(sample, "vm-fwclient-01", "vm-svc-01", 22)  # pair 36: FIREWALL_DENY
    page = render_html(result)
    groups = _hop_groups(page)
    firewall = [a for a in groups if "node-firewall" in (a.get("class") or "")]
    assert len(firewall) == 1
    assert firewall[0]["data-kind"] == "firewall"
    assert "failing" in (firewall[0].get("class") or "")
    assert firewall[0].get("id") == "failing-hop"
    text = "".join(_parse(page).text)
    assert "collection: deny-admin-ports" in text
    hop = next(h for h in result.path if h.kind == "firewall")
    facts = dict(hop.facts)
    assert facts["firewall"].startswith("azfw-hub")
    assert facts["rule"] == "deny-ssh-rdp-east-west"
    assert f"rule: {facts['rule']}"[:29] in text
    assert "icon-firewall" in page


def test_load_balancer_hop_is_drawn_with_frontend_rule_backends_and_health(
    sample: Snapshot,
) -> None:
    result = diagnose(sample, "vm-jump-01", "20.23.62.20", 443)  # pair 46: closed by L1
    page = render_html(result)
    groups = _hop_groups(page)
    lb = [a for a in groups if "node-lb" in (a.get("class") or "")]
    assert len(lb) == 1
    assert lb[0]["data-kind"] == "load-balancer"
    facts = [a.get("data-fact") for t, a in _parse(page).tags if t == "text" and a.get("data-fact")]
    assert facts == ["frontend", "rule", "backends", "health"]
    text = "".join(_parse(page).text)
    assert "frontend: fe-svc-public" in text
    assert "backends: nic-vm-svc-01 up" in text
    # the failing hop is the backend's missing NSG (L1), marked, and the first failure
    failing = [a for a in groups if "failing" in (a.get("class") or "")]
    assert failing[0].get("id") == "failing-hop"
    assert failing[0]["data-kind"] == "nsg-inbound"
    assert "node-lb" not in (failing[0].get("class") or "")
    assert "icon-lb" in page


def test_nat_and_firewall_facts_are_escaped(sample: Snapshot) -> None:
    nat = diagnose(sample, "vm-jump-01", "20.23.62.10", 50001)  # pair 48: inbound NAT
    fw = diagnose(sample, "vm-fwclient-01", "vm-svc-01", 22)
    hops = []
    for h in (*nat.path, *fw.path):
        hops.append(
            msgspec.structs.replace(
                h, facts=tuple((k, f"{PAYLOAD}\"'&") for k, _ in h.facts), name=PAYLOAD
            )
            if h.facts
            else h
        )
    kinds = {h.kind for h in hops if h.facts}
    assert kinds == {"firewall", "load-balancer"}
    hostile = msgspec.structs.replace(nat, path=tuple(hops))
    page = render_html(hostile, snapshot=sample)
    parsed = _parse(page)
    assert {t for t, _ in parsed.tags}.isdisjoint({"img", "script"})
    assert not any(k.startswith("on") for _, attrs in parsed.tags for k in attrs)
    assert PAYLOAD not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    text = "".join(parsed.text)
    # the hops table carries every fact in full; the diagram carries them clipped
    assert text.count(f"{PAYLOAD}\"'&") >= 2 * len([h for h in hops if h.facts])
    svg = path_svg(hops)
    assert PAYLOAD not in svg
    ET.fromstring(svg)  # well-formed: nothing broke out of an attribute or element


def test_hop_json_carries_facts_only_where_drawn(sample: Snapshot) -> None:
    result = diagnose(sample, "vm-jump-01", "20.23.62.10", 50001)
    path = result.to_json()["path"]
    with_facts = [h for h in path if "facts" in h]
    assert [h["kind"] for h in with_facts] == ["load-balancer"]
    assert with_facts[0]["facts"]["NAT rule"].startswith("nat-ssh-vm-web-01")
    assert with_facts[0]["facts"]["backend"].startswith("nic-vm-web-01")
