"""Every scenario: build it with real rules and sockets, run ``vnetdoctor probe`` inside both
namespaces, judge the flow with the guest evaluators against a matching snapshot, and compare with
a real TCP connect from the source namespace (the truth). They must agree in every scenario."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from builders import RG, nic, subnet, vm, vnet

import vnetdoctor
from netns.conftest import RESULTS, Lab
from vnetdoctor.guest.load import load_guest_evidence
from vnetdoctor.ingest.loader import load_snapshot
from vnetdoctor.model.net import Flow, Protocol
from vnetdoctor.resolve import resolve_vm
from vnetdoctor.runbook.guest_findings import GuestFinding, guest_findings

PORT = 8080
PROBE_BUDGET_S = 5.0


@dataclass(frozen=True)
class Scenario:
    name: str
    setup: Callable[[Lab], None]
    listen: tuple[str, int] | None = ("0.0.0.0", PORT)
    reachable: bool = False  # what the real connect must show
    codes: frozenset[str] = frozenset()  # failing finding codes expected (subset)
    dst_ip: str = "10.77.0.2"
    src_ip: str = "10.77.0.1"
    azure_dst_ip: str | None = None  # the Azure NIC IP, when the guest uses another
    extra: dict[str, str] = field(default_factory=dict)


def ipt(ns: str, *rules: str) -> Callable[[Lab], None]:
    def apply(lab: Lab) -> None:
        target = lab.src if ns == "src" else lab.dst
        for rule in rules:
            binary, *args = rule.split()
            lab.sh(target, binary, *args)

    return apply


def nft(ns: str, ruleset: str) -> Callable[[Lab], None]:
    def apply(lab: Lab) -> None:
        lab.nft(lab.src if ns == "src" else lab.dst, ruleset)

    return apply


def both(*steps: Callable[[Lab], None]) -> Callable[[Lab], None]:
    def apply(lab: Lab) -> None:
        for step in steps:
            step(lab)

    return apply


def nothing(lab: Lab) -> None:
    _ = lab


def other_address(lab: Lab) -> None:
    lab.sh(lab.dst, "ip", "addr", "add", "10.77.1.2/24", "dev", lab.dst_if)


NFT_POLICY_DROP_SET = """
table inet vndfilter {
  chain input {
    type filter hook input priority 0; policy drop;
    ct state established,related accept
    iif "lo" accept
    ip saddr 10.77.0.0/24 tcp dport { 22, 8080 } accept
  }
}
"""
NFT_DROP = """
table inet vndfilter {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport 8080 counter drop
  }
}
"""
NFT_VMAP = """
table ip vndfilter {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport vmap { 22 : accept, 8080 : drop }
  }
}
"""
NFT_NAMED_SET = """
table inet vndfilter {
  set allowed {
    type ipv4_addr
    elements = { 10.77.0.1, 10.77.0.9 }
  }
  chain input {
    type filter hook input priority 0; policy drop;
    ct state established,related accept
    ip saddr @allowed tcp dport 8080 accept
  }
}
"""
NFT_NAMED_SET_OTHERS = NFT_NAMED_SET.replace("10.77.0.1, 10.77.0.9", "10.77.0.7, 10.77.0.9")
NFT_OUTPUT_REJECT = """
table inet vndfilter {
  chain output {
    type filter hook output priority 0; policy accept;
    ip daddr 10.77.0.2 tcp dport 8080 reject with tcp reset
  }
}
"""

SCENARIOS = [
    Scenario("all-open", nothing, reachable=True),
    Scenario(
        "iptables-drop-port",
        ipt("dst", "iptables -A INPUT -p tcp --dport 8080 -j DROP"),
        codes=frozenset({"GUEST_FIREWALL_DENY"}),
    ),
    Scenario(
        "iptables-reject-tcp-reset",
        ipt("dst", "iptables -A INPUT -p tcp --dport 8080 -j REJECT --reject-with tcp-reset"),
        codes=frozenset({"GUEST_FIREWALL_DENY"}),
    ),
    Scenario(
        "iptables-allow-only-other-subnet",
        ipt(
            "dst",
            "iptables -P INPUT DROP",
            "iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
            "iptables -A INPUT -s 10.99.0.0/16 -p tcp --dport 8080 -j ACCEPT",
        ),
        codes=frozenset({"GUEST_FIREWALL_DENY"}),
    ),
    Scenario(
        "iptables-policy-drop-with-allow",
        ipt(
            "dst",
            "iptables -P INPUT DROP",
            "iptables -A INPUT -i lo -j ACCEPT",
            "iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
            "iptables -A INPUT -s 10.77.0.0/24 -p tcp -m multiport --dports 22,8080 -j ACCEPT",
        ),
        reachable=True,
    ),
    Scenario(
        "iptables-user-chain-return",
        ipt(
            "dst",
            "iptables -N VNDAPP",
            "iptables -A INPUT -p tcp -j VNDAPP",
            "iptables -A VNDAPP -m iprange --src-range 10.77.0.1-10.77.0.9 -j RETURN",
            "iptables -A VNDAPP -j DROP",
        ),
        reachable=True,
    ),
    Scenario(
        "iptables-iprange-drop",
        ipt(
            "dst",
            "iptables -A INPUT -m comment --comment blocklist -m iprange "
            "--src-range 10.77.0.1-10.77.0.5 -p tcp --dport 8080 -j DROP",
        ),
        codes=frozenset({"GUEST_FIREWALL_DENY"}),
    ),
    Scenario("nft-drop", nft("dst", NFT_DROP), codes=frozenset({"GUEST_FIREWALL_DENY"})),
    Scenario("nft-policy-drop-set-allow", nft("dst", NFT_POLICY_DROP_SET), reachable=True),
    Scenario(
        "nft-verdict-map-drop", nft("dst", NFT_VMAP), codes=frozenset({"GUEST_FIREWALL_DENY"})
    ),
    Scenario("nft-named-set-allow", nft("dst", NFT_NAMED_SET), reachable=True),
    Scenario(
        "nft-named-set-others-only",
        nft("dst", NFT_NAMED_SET_OTHERS),
        codes=frozenset({"GUEST_FIREWALL_DENY"}),
    ),
    Scenario(
        "listener-loopback-only",
        nothing,
        listen=("127.0.0.1", PORT),
        codes=frozenset({"LISTENER_LOOPBACK_ONLY"}),
    ),
    Scenario("nothing-listening", nothing, listen=None, codes=frozenset({"NO_LISTENER"})),
    Scenario(
        "listener-on-another-address",
        other_address,
        listen=("10.77.1.2", PORT),
        codes=frozenset({"NO_LISTENER"}),
    ),
    Scenario(
        "source-outbound-drop",
        ipt("src", "iptables -A OUTPUT -p tcp --dport 8080 -j DROP"),
        codes=frozenset({"GUEST_FIREWALL_DENY"}),
    ),
    Scenario(
        "source-outbound-nft-reject",
        nft("src", NFT_OUTPUT_REJECT),
        codes=frozenset({"GUEST_FIREWALL_DENY"}),
    ),
    Scenario(
        "source-input-drop-no-established",
        ipt("src", "iptables -P INPUT DROP"),
        codes=frozenset({"GUEST_FIREWALL_DENY"}),
    ),
    Scenario(
        "destination-output-drop-with-established",
        ipt(
            "dst",
            "iptables -P OUTPUT DROP",
            "iptables -A OUTPUT -m state --state ESTABLISHED -j ACCEPT",
        ),
        reachable=True,
    ),
    Scenario(
        "destination-output-drop-no-established",
        ipt("dst", "iptables -P OUTPUT DROP"),
        codes=frozenset({"GUEST_FIREWALL_DENY"}),
    ),
    Scenario(
        "iptables-accept-but-nft-drop",
        both(ipt("dst", "iptables -A INPUT -p tcp --dport 8080 -j ACCEPT"), nft("dst", NFT_DROP)),
        codes=frozenset({"GUEST_FIREWALL_DENY"}),
    ),
    Scenario(
        "legacy-iptables-drop",
        ipt("dst", "iptables-legacy -A INPUT -p tcp --dport 8080 -j DROP"),
        codes=frozenset({"GUEST_FIREWALL_DENY"}),
    ),
    Scenario(
        "ipv6-ip6tables-drop",
        ipt("dst", "ip6tables -A INPUT -p tcp --dport 8080 -j DROP"),
        listen=("::", PORT),
        src_ip="fd77::1",
        dst_ip="fd77::2",
        codes=frozenset({"GUEST_FIREWALL_DENY"}),
    ),
    Scenario(
        "ipv6-open",
        nothing,
        listen=("::", PORT),
        src_ip="fd77::1",
        dst_ip="fd77::2",
        reachable=True,
    ),
    Scenario(
        "guest-ip-differs-from-azure",
        nothing,
        azure_dst_ip="10.77.0.20",
        codes=frozenset({"NIC_GUEST_IP_MISMATCH"}),
    ),
]


def _snapshot(tmp: Path, src_ip: str, dst_ip: str) -> Path:
    """The Azure side of the lab: one VNet and subnet, two VMs, their NICs' IPs."""
    vid = f"{RG}/Microsoft.Network/virtualNetworks/vnet-lab"
    sid = f"{vid}/subnets/lab"
    v6 = ":" in src_ip
    prefix = "fd77::/64" if v6 else "10.77.0.0/24"
    resources = [
        vnet(
            "vnet-lab", "fd77::/48" if v6 else "10.77.0.0/16", subnets=[subnet(vid, "lab", prefix)]
        ),
        nic("nic-src", src_ip, sid),
        nic("nic-dst", dst_ip, sid),
        vm("vm-src", ["nic-src"]),
        vm("vm-dst", ["nic-dst"]),
    ]
    path = tmp / "snapshot.json"
    path.write_text(json.dumps(resources))
    return path


def judge(findings: tuple[GuestFinding, ...]) -> str:
    """The guest part of diagnose's verdict: blocked on any failure; reachable only when both
    firewalls and the listener pass and nothing guest-side is unknown."""
    if any(f.status == "fail" for f in findings):
        return "blocked"
    passed = {(f.role, f.step) for f in findings if f.status == "pass"}
    needed = {("source", 3), ("destination", 3), ("destination", 4)}
    unknown = any(f.status == "unknown" and f.step in (1, 3, 4) for f in findings)
    return "reachable" if needed <= passed and not unknown else "inconclusive"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_verdict_agrees_with_a_real_connection(lab: Lab, scenario: Scenario) -> None:
    scenario.setup(lab)
    if scenario.listen is not None:
        lab.listen(lab.dst, *scenario.listen)
    target = scenario.azure_dst_ip or scenario.dst_ip
    dst_evidence_path, dst_seconds = lab.probe(lab.dst, "dst", "--port", str(PORT))
    peer = f"[{target}]:{PORT}" if ":" in target else f"{target}:{PORT}"
    src_evidence_path, src_seconds = lab.probe(
        lab.src, "src", "--port", str(PORT), "--peer", peer, "--connect-timeout", "1.5"
    )
    assert dst_seconds < PROBE_BUDGET_S
    assert src_seconds < PROBE_BUDGET_S

    # the truth: a real TCP connect from the source namespace
    connected, detail = lab.connect(lab.src, target, PORT)
    assert connected is scenario.reachable, f"the lab is not what the scenario says: {detail}"

    snapshot = load_snapshot([_snapshot(lab.workdir, scenario.src_ip, target)])
    src_ips = list(snapshot.primary_nic(resolve_vm(snapshot, "vm-src")).private_ip_addresses)
    dst_ips = list(snapshot.primary_nic(resolve_vm(snapshot, "vm-dst")).private_ip_addresses)
    source = load_guest_evidence(src_evidence_path)
    destination = load_guest_evidence(dst_evidence_path)
    flow = Flow(
        ipaddress.ip_address(scenario.src_ip), ipaddress.ip_address(target), Protocol.TCP, PORT
    )
    findings = guest_findings(
        flow,
        source=source,
        destination=destination,
        source_nic_ips=src_ips,
        destination_nic_ips=dst_ips,
    )
    verdict = judge(findings)
    failing = [f for f in findings if f.status == "fail"]
    RESULTS.append(
        {
            "scenario": scenario.name,
            "real": "connected" if connected else detail.splitlines()[-1][:60],
            "verdict": verdict,
            "finding": ", ".join(sorted({f.code for f in failing})) or "-",
            "resource": failing[0].resource if failing else None,
            "probe_seconds": max(src_seconds, dst_seconds),
        }
    )
    summary = [(f.code, f.status, f.message) for f in findings]
    assert verdict == ("reachable" if connected else "blocked"), summary
    # and the whole diagnosis (all nine steps on the matching snapshot) says the same
    result = vnetdoctor.diagnose(
        snapshot, "vm-src", "vm-dst", PORT, "tcp", guest={"vm-src": source, "vm-dst": destination}
    )
    assert result.verdict.value == ("reachable" if connected else "blocked"), [
        (s.number, s.status.value, [f.code for f in s.findings]) for s in result.steps
    ]
    assert scenario.codes <= {f.code for f in failing}, summary
    for finding in failing:
        assert finding.resource, f"{finding.code} cites no evidence"
    # the probe's own connect test saw the same as the real connect
    tested = [c for c in source.connects if c.port == PORT]
    assert tested
    assert tested[0].succeeded is connected


def test_unknown_construct_is_unknown_not_a_guess(lab: Lab) -> None:
    """A rate-limited DROP (``-m recent``) depends on state the evidence cannot hold: the answer
    is inconclusive whatever the real connect shows."""
    lab.sh(
        lab.dst,
        "iptables",
        "-A",
        "INPUT",
        "-p",
        "tcp",
        "--dport",
        str(PORT),
        "-m",
        "recent",
        "--update",
        "--seconds",
        "60",
        "--hitcount",
        "1",
        "--name",
        "vnd",
        "-j",
        "DROP",
    )
    lab.listen(lab.dst, "0.0.0.0", PORT)
    dst_path, _ = lab.probe(lab.dst, "dst", "--port", str(PORT))
    src_path, _ = lab.probe(lab.src, "src")
    connected, _ = lab.connect(lab.src, "10.77.0.2", PORT)
    flow = Flow(
        ipaddress.ip_address("10.77.0.1"), ipaddress.ip_address("10.77.0.2"), Protocol.TCP, PORT
    )
    findings = guest_findings(
        flow, source=load_guest_evidence(src_path), destination=load_guest_evidence(dst_path)
    )
    firewall = next(f for f in findings if f.role == "destination" and f.step == 3)
    assert firewall.code == "GUEST_FIREWALL_UNKNOWN"
    assert "recent" in firewall.message
    assert judge(findings) == "inconclusive"
    RESULTS.append(
        {
            "scenario": "recent-module-drop (unknown by design)",
            "real": "connected" if connected else "failed",
            "verdict": "inconclusive",
            "finding": firewall.code,
            "resource": firewall.resource,
            "probe_seconds": 0.0,
        }
    )


ROUTED = [
    ("appliance-forwards", True, (), True),
    (
        "appliance-forward-chain-drop",
        True,
        ("iptables -A FORWARD -p tcp --dport 8080 -j DROP",),
        False,
    ),
    (
        "appliance-forward-policy-drop-with-allow",
        True,
        (
            "iptables -P FORWARD DROP",
            "iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
            "iptables -A FORWARD -s 10.78.1.0/24 -d 10.78.2.0/24 -p tcp --dport 8080 -j ACCEPT",
        ),
        True,
    ),
    ("appliance-ip-forward-off", False, (), False),
]


@pytest.mark.parametrize(
    ("name", "forwarding", "rules", "reachable"), ROUTED, ids=[r[0] for r in ROUTED]
)
def test_appliance_verdict_agrees_with_a_real_connection(
    bare_lab: Lab, name: str, forwarding: bool, rules: tuple[str, ...], reachable: bool
) -> None:
    """A Linux appliance between two subnets: `forward_verdict` on its probe evidence."""
    from vnetdoctor.engine.guest import forward_verdict

    lab = bare_lab
    lab.up_routed(forwarding)
    for rule in rules:
        lab.sh(lab.router, *rule.split())
    lab.listen(lab.dst, "0.0.0.0", PORT)
    router_path, seconds = lab.probe(lab.router, "router")
    assert seconds < PROBE_BUDGET_S
    connected, detail = lab.connect(lab.src, "10.78.2.1", PORT)
    assert connected is reachable, detail
    flow = Flow(
        ipaddress.ip_address("10.78.1.1"), ipaddress.ip_address("10.78.2.1"), Protocol.TCP, PORT
    )
    decision = forward_verdict(load_guest_evidence(router_path), flow)
    RESULTS.append(
        {
            "scenario": name,
            "real": "connected" if connected else detail.splitlines()[-1][:60],
            "verdict": "reachable"
            if decision.verdict.value == "allow"
            else "blocked"
            if decision.verdict.value == "deny"
            else "inconclusive",
            "finding": f"forward {decision.verdict.value}",
            "resource": str(decision.source) if decision.source else None,
            "probe_seconds": seconds,
        }
    )
    assert decision.verdict.value == ("allow" if connected else "deny"), decision
    if not connected:
        assert decision.source is not None
        assert decision.rule
