"""Benchmark next-hop lookups: 10,000 user-defined routes, engine vs a linear scan, same run.

Run: ``python benchmarks/bench_routes.py [--routes 10000] [--lookups 200000]``.

One subnet's route table holds ``--routes`` random UDRs (prefix lengths /8 to /32, mixed next
hops). The engine's effective route table is built once; lookups go through
``EffectiveRouteTable.next_hop`` (the full answer: route, type, IP, route table id). The baseline
is the obvious implementation, a linear scan with ``ipaddress`` taking the longest match, measured
on a subset of the same destinations; both must pick the same prefix. Target: >= 100,000
lookups/s for the engine.
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

TARGET = 100_000
SUB = "/subscriptions/00000000-0000-0000-0000-0000000000bb/resourceGroups/rg/providers"


def estate(routes: int, seed: int) -> tuple[list[dict[str, object]], list[ipaddress.IPv4Network]]:
    rng = random.Random(seed)
    vid = f"{SUB}/Microsoft.Network/virtualNetworks/vnet"
    rt = f"{SUB}/Microsoft.Network/routeTables/rt"
    prefixes: set[ipaddress.IPv4Network] = set()
    while len(prefixes) < routes:
        length = rng.randint(8, 32)
        address = rng.getrandbits(32)
        net = ipaddress.ip_network((address, length), strict=False)
        if not net.overlaps(ipaddress.ip_network("10.0.0.0/16")):
            prefixes.add(net)
    ordered = sorted(prefixes)
    table = [
        {
            "name": f"r{i}",
            "properties": {
                "addressPrefix": str(p),
                "nextHopType": "VirtualAppliance" if i % 3 else "Internet",
                **({"nextHopIpAddress": "10.0.1.4"} if i % 3 else {}),
            },
        }
        for i, p in enumerate(ordered)
    ]
    nic = f"{SUB}/Microsoft.Network/networkInterfaces/nic"
    resources: list[dict[str, object]] = [
        {
            "id": vid,
            "name": "vnet",
            "type": "Microsoft.Network/virtualNetworks",
            "location": "westeurope",
            "properties": {
                "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                "subnets": [
                    {
                        "id": f"{vid}/subnets/s",
                        "name": "s",
                        "properties": {"addressPrefix": "10.0.0.0/24", "routeTable": {"id": rt}},
                    },
                    {
                        "id": f"{vid}/subnets/nva",
                        "name": "nva",
                        "properties": {"addressPrefix": "10.0.1.0/24"},
                    },
                ],
            },
        },
        {
            "id": rt,
            "name": "rt",
            "type": "Microsoft.Network/routeTables",
            "properties": {"routes": table},
        },
        {
            "id": nic,
            "name": "nic",
            "type": "Microsoft.Network/networkInterfaces",
            "properties": {
                "ipConfigurations": [
                    {
                        "id": f"{nic}/ipConfigurations/c",
                        "name": "c",
                        "properties": {
                            "privateIPAddress": "10.0.0.4",
                            "primary": True,
                            "subnet": {"id": f"{vid}/subnets/s"},
                        },
                    }
                ]
            },
        },
    ]
    return resources, ordered


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", type=int, default=10_000)
    parser.add_argument("--lookups", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from vnetdoctor.engine.routes import effective_routes
    from vnetdoctor.ingest.loader import snapshot_from_json

    resources, prefixes = estate(args.routes, args.seed)
    snapshot = snapshot_from_json(resources)
    nic = snapshot.network_interfaces.find("nic")
    t0 = time.perf_counter()
    table = effective_routes(snapshot, nic)
    build_s = time.perf_counter() - t0
    rng = random.Random(args.seed + 1)
    destinations = [ipaddress.IPv4Address(rng.getrandbits(32)) for _ in range(args.lookups)]
    source = ipaddress.IPv4Address("10.0.0.4")
    table.next_hop(destinations[0], source)  # build the index
    t0 = time.perf_counter()
    answers = [table.next_hop(d, source) for d in destinations]
    engine_s = time.perf_counter() - t0

    sample = destinations[: max(200, args.lookups // 1000)]
    t0 = time.perf_counter()
    linear = []
    for d in sample:
        best = None
        for p in prefixes:
            if d in p and (best is None or p.prefixlen > best.prefixlen):
                best = p
        linear.append(best)
    linear_s = time.perf_counter() - t0
    disagree = 0
    for answer, best in zip(answers, linear, strict=False):
        chosen = answer.matched_prefix
        user = answer.route is not None and answer.route.kind.value == "user"
        # A longer system route (the VNet, the platform's None ranges) may rightly win over the
        # best UDR; the engine is wrong if it misses a longer UDR or picks another UDR.
        if best is not None and (
            chosen is None or chosen.prefixlen < best.prefixlen or (user and chosen != best)
        ):
            disagree += 1
    engine_rate = len(destinations) / engine_s
    linear_rate = len(sample) / linear_s
    print(f"{args.routes:,} UDRs; table built in {build_s * 1000:.0f} ms")
    print(
        f"engine next_hop   {engine_rate:12,.0f} lookups/s "
        f"({'PASS' if engine_rate >= TARGET else 'MISS'} >= {TARGET:,})"
    )
    print(
        f"linear scan       {linear_rate:12,.0f} lookups/s  "
        f"(engine = {engine_rate / linear_rate:,.0f}x)"
    )
    print(f"disagreements     {disagree} of {len(sample)} (UDR-covered destinations compared)")
    return 0 if disagree == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
