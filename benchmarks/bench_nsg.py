"""Benchmark NSG verdicts: the compiled engine against the brute-force reference, same run.

Run: ``python benchmarks/bench_nsg.py [--rules 1000] [--flows 20000] [--seed 0]``.

The estate is one VNet (with a peer, so ``VirtualNetwork`` has several prefixes) and one NIC whose
subnet NSG and NIC NSG each hold ``--rules`` custom rules (plus the six defaults): single IPs,
CIDRs, plural prefixes, service tags (``VirtualNetwork``, ``Internet``, ``AzureLoadBalancer``),
ASGs, single ports, ranges and lists, ``Tcp``/``Udp``/``*``, ``Allow``/``Deny``. Packets are
random TCP/UDP flows, inbound and outbound, to and from addresses the rules name.

Measured, after the snapshot is loaded (load time is ``bench_load.py``'s business):

- **engine, first verdict**: compiling both NSGs (once per NSG, direction and subnet);
- **engine, first pass**: ``ip_flow_verify`` on every flow (both layers, as the CLI asks it);
  each flow has a new remote address, whose ASG membership is looked up once and cached;
- **engine, warm**: the same flows again (best of ``--repeat``): the steady state;
- **reference**: :func:`vnetdoctor.engine.nsg.reference_decision` on both layers, on a sample;
- the two agree on every sampled flow (the script fails if they do not).

Target: >= 100,000 verdicts/s for the warm engine on one core. Wall times depend on the machine
and its load; compare the ratio to the reference, measured in the same run. Exit 0 when
measured, 1 on a disagreement.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from vnetdoctor import load_snapshot  # noqa: E402
from vnetdoctor.engine.fabric import Fabric  # noqa: E402
from vnetdoctor.engine.nsg import (  # noqa: E402
    FlowAccess,
    FlowContext,
    ip_flow_verify,
    reference_decision,
)
from vnetdoctor.model.net import Protocol, parse_ip  # noqa: E402
from vnetdoctor.model.security import Direction  # noqa: E402

TARGET = 100_000
SUB = "/subscriptions/00000000-0000-0000-0000-0000000000bb/resourceGroups/rg/providers"
NET = f"{SUB}/Microsoft.Network"
VNET = f"{NET}/virtualNetworks/hub"
PEER = f"{NET}/virtualNetworks/spoke"
SUBNET = f"{VNET}/subnets/app"
ASGS = [f"{NET}/applicationSecurityGroups/asg{i}" for i in range(8)]
_TAGS = ("VirtualNetwork", "Internet", "AzureLoadBalancer")


def _address(rng: random.Random) -> str:
    pick = rng.random()
    if pick < 0.35:
        return f"10.0.{rng.randrange(256)}.{rng.randrange(256)}"
    if pick < 0.5:
        return f"10.1.{rng.randrange(256)}.{rng.randrange(256)}"
    return f"{rng.choice([20, 40, 52, 104, 13, 8, 100])}.{rng.randrange(256)}." \
           f"{rng.randrange(256)}.{rng.randrange(256)}"


def _endpoint(rng: random.Random) -> dict[str, Any]:
    pick = rng.random()
    if pick < 0.15:
        return {"prefix": "*"}
    if pick < 0.35:
        return {"prefix": rng.choice(_TAGS)}
    if pick < 0.45:
        return {"asgs": rng.sample(ASGS, rng.randint(1, 2))}
    if pick < 0.6:
        return {"prefixes": [f"{_address(rng)}/{rng.choice([24, 28, 32])}"
                             for _ in range(rng.randint(2, 6))]}
    return {"prefix": f"{_address(rng)}/{rng.choice([16, 20, 24, 27, 32])}"}


def _ports(rng: random.Random) -> dict[str, Any]:
    pick = rng.random()
    if pick < 0.2:
        return {"single": "*"}
    if pick < 0.6:
        return {"single": str(rng.choice([22, 80, 443, 1433, 3389, 5432, 8080]))}
    if pick < 0.8:
        lo = rng.randrange(1024, 60000)
        return {"single": f"{lo}-{lo + rng.randrange(1, 2000)}"}
    return {"plural": [str(rng.choice([22, 80, 443, 8443, 9000])) for _ in range(3)]}


def _side(props: dict[str, Any], side: str, end: dict[str, Any]) -> None:
    if "asgs" in end:
        props[f"{side}ApplicationSecurityGroups"] = [{"id": a} for a in end["asgs"]]
    elif "prefixes" in end:
        props[f"{side}AddressPrefixes"] = end["prefixes"]
    else:
        props[f"{side}AddressPrefix"] = end["prefix"]


def _rules(rng: random.Random, count: int) -> list[dict[str, Any]]:
    out = []
    for i in range(count):
        direction = "Inbound" if i % 2 == 0 else "Outbound"
        props: dict[str, Any] = {
            "protocol": rng.choice(["Tcp", "Tcp", "Udp", "*"]),
            "access": rng.choice(["Allow", "Deny"]),
            "priority": 100 + i // 2,
            "direction": direction,
            "sourcePortRange": "*",
        }
        _side(props, "source", _endpoint(rng))
        _side(props, "destination", _endpoint(rng))
        ports = _ports(rng)
        if "plural" in ports:
            props["destinationPortRanges"] = ports["plural"]
        else:
            props["destinationPortRange"] = ports["single"]
        out.append({"name": f"rule{i}", "properties": props})
    return out


def estate(rules: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)

    def nsg(name: str) -> dict[str, Any]:
        return {"id": f"{NET}/networkSecurityGroups/{name}", "name": name,
                "type": "Microsoft.Network/networkSecurityGroups",
                "properties": {"securityRules": _rules(rng, rules)}}

    def peering(name: str, remote: str) -> dict[str, Any]:
        return {"name": name, "properties": {"remoteVirtualNetwork": {"id": remote},
                                             "peeringState": "Connected",
                                             "allowVirtualNetworkAccess": True}}

    nic_id = f"{NET}/networkInterfaces/app1"
    return [
        {"id": VNET, "name": "hub", "type": "Microsoft.Network/virtualNetworks",
         "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                        "subnets": [{"id": SUBNET, "name": "app", "properties": {
                            "addressPrefix": "10.0.1.0/24",
                            "networkSecurityGroup": {"id": f"{NET}/networkSecurityGroups/sub"}}}],
                        "virtualNetworkPeerings": [peering("to-spoke", PEER)]}},
        {"id": PEER, "name": "spoke", "type": "Microsoft.Network/virtualNetworks",
         "properties": {"addressSpace": {"addressPrefixes": ["10.1.0.0/16"]}, "subnets": [],
                        "virtualNetworkPeerings": [peering("to-hub", VNET)]}},
        nsg("sub"), nsg("nic"),
        {"id": nic_id, "name": "app1", "type": "Microsoft.Network/networkInterfaces",
         "properties": {"networkSecurityGroup": {"id": f"{NET}/networkSecurityGroups/nic"},
                        "ipConfigurations": [{"name": "ipconfig1", "properties": {
                            "privateIPAddress": "10.0.1.4", "subnet": {"id": SUBNET},
                            "applicationSecurityGroups": [{"id": ASGS[0]}]}}]}},
        *({"id": f"{NET}/networkInterfaces/peer{i}", "name": f"peer{i}",
           "type": "Microsoft.Network/networkInterfaces",
           "properties": {"ipConfigurations": [{"name": "c", "properties": {
               "privateIPAddress": f"10.0.1.{10 + i}", "subnet": {"id": SUBNET},
               "applicationSecurityGroups": [{"id": ASGS[i % len(ASGS)]}]}}]}}
          for i in range(40)),
    ]


def flows(count: int, seed: int) -> list[tuple[Direction, Protocol, tuple[Any, Any],
                                              tuple[Any, Any]]]:
    rng = random.Random(seed + 1)
    out = []
    for _ in range(count):
        remote = rng.choice([f"10.0.1.{rng.randrange(10, 50)}", _address(rng)])
        out.append((
            rng.choice([Direction.INBOUND, Direction.OUTBOUND]),
            rng.choice([Protocol.TCP, Protocol.UDP]),
            (parse_ip("10.0.1.4"), rng.choice([22, 80, 443, 1433, 3389, 8080, 50000])),
            (parse_ip(remote), rng.choice([22, 80, 443, 8443, 9000, 40000, 61000])),
        ))
    return out


def _reference(engine: Any, nic: Any, direction: Direction, protocol: Protocol,
               local: tuple[Any, Any], remote: tuple[Any, Any]) -> FlowAccess:
    """Both layers by brute force, combined as Azure does (first Deny, else Unknown, else Allow)."""
    ipc = nic.ip_configurations[0]
    mine = engine.membership(ipc)
    theirs = engine.remote_membership(remote[0], ipc.subnet.parent)
    if direction is Direction.INBOUND:
        flow = FlowContext(protocol, remote[0], local[0], remote[1], local[1], theirs, mine)
    else:
        flow = FlowContext(protocol, local[0], remote[0], local[1], remote[1], mine, theirs)
    subnet_nsg = engine.snapshot.network_security_groups.find("sub")
    nic_nsg = engine.snapshot.network_security_groups.find("nic")
    order = [subnet_nsg, nic_nsg] if direction is Direction.INBOUND else [nic_nsg, subnet_nsg]
    access = []
    for group in order:
        decision = reference_decision((*group.security_rules, *group.default_security_rules),
                                      direction, flow, engine.expander(ipc.subnet))
        access.append(decision.access)
    if FlowAccess.DENY in access:
        return FlowAccess.DENY
    return FlowAccess.UNKNOWN if FlowAccess.UNKNOWN in access else FlowAccess.ALLOW


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=1000, help="custom rules per NSG")
    parser.add_argument("--flows", type=int, default=20000)
    parser.add_argument("--reference-flows", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="warm passes (best is reported)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "estate.json"
        path.write_text(json.dumps(estate(args.rules, args.seed)))
        snapshot = load_snapshot(path)
    fabric = Fabric(snapshot)
    engine = fabric.nsgs()
    nic = snapshot.network_interfaces.find("app1")
    packets = flows(args.flows, args.seed)

    start = time.perf_counter()
    for direction in Direction:
        ip_flow_verify(snapshot, nic, direction, Protocol.TCP, packets[0][2], packets[0][3],
                       fabric=fabric)
    compile_s = time.perf_counter() - start

    start = time.perf_counter()
    verdicts = [ip_flow_verify(snapshot, nic, d, p, loc, rem, fabric=fabric)
                for d, p, loc, rem in packets]
    cold_s = time.perf_counter() - start
    engine_s = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        for d, p, loc, rem in packets:
            ip_flow_verify(snapshot, nic, d, p, loc, rem, fabric=fabric)
        engine_s = min(engine_s, time.perf_counter() - start)

    sample = packets[: args.reference_flows]
    start = time.perf_counter()
    reference = [_reference(engine, nic, *packet) for packet in sample]
    reference_s = time.perf_counter() - start

    disagree = sum(v.access is not r for v, r in zip(verdicts, reference, strict=False))
    cold_rate = len(packets) / cold_s
    engine_rate = len(packets) / engine_s
    reference_rate = len(sample) / reference_s
    counts = {a.value: sum(v.access is a for v in verdicts) for a in FlowAccess}
    print(f"NSG pair: {args.rules} custom rules each (+6 defaults), {len(packets)} flows; "
          f"verdicts {counts}")
    print(f"  compile both NSGs, both directions:  {compile_s * 1000:8.1f} ms")
    print(f"  engine, first pass (every remote IP new): {cold_rate:10,.0f} verdicts/s "
          f"({1e6 / cold_rate:.1f} us each)")
    print(f"  engine, warm (best of {args.repeat} passes):      {engine_rate:10,.0f} verdicts/s "
          f"({1e6 / engine_rate:.1f} us each)")
    print(f"  reference (brute force, {len(sample)} flows):    {reference_rate:10,.0f} verdicts/s "
          f"({1e6 / reference_rate:.1f} us each)")
    print(f"  speed-up (warm engine / reference): {engine_rate / reference_rate:,.0f}x; "
          f"target >= {TARGET:,} verdicts/s (warm): {'PASS' if engine_rate >= TARGET else 'MISS'}")
    print(f"  engine and reference disagree on {disagree} of {len(sample)} sampled flows")
    return 1 if disagree else 0


if __name__ == "__main__":
    sys.exit(main())
