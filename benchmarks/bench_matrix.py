"""Benchmark ``vnetdoctor matrix``: the 10,000-VM one-port matrix beside per-pair diagnose.

Run: ``python benchmarks/bench_matrix.py [--vms 10000] [--port 443] [--sample-pairs 1000]
[--firewall] [--scale-sets]`` (``--firewall``: the hub routes through Azure Firewall,
tests/matrix/firewalled.py; ``--scale-sets``: half the spoke VMs are Uniform scale-set instances,
scalesets.py).

On a synthetic estate (``synthetic.py``), loaded once, in one run:

1. the matrix as the command computes it: VMs grouped, each cell composed from parts that are
   each diagnosed once (``vnetdoctor.analyses.compose``), every cell of every group pair filled;
2. agreement: ``--sample-pairs`` random VM pairs, each cell against the pair's own diagnosis;
3. the baselines, timed on random pairs and extrapolated: one full diagnosis per group pair (the
   grouping alone), and one per VM pair.

Machines here are noisy, so ratios are printed next to absolute figures; nothing is asserted.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

TARGET_S = 60.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=10_000)
    parser.add_argument("--port", type=int, default=443)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sample-pairs", type=int, default=1000)
    parser.add_argument("--firewall", action="store_true", help="route the hub via Azure Firewall")
    parser.add_argument(
        "--scale-sets", action="store_true", help="half the spoke VMs as scale-set instances"
    )
    args = parser.parse_args(argv)

    from synthetic import generate_estate  # type: ignore[import-not-found, unused-ignore]

    from vnetdoctor.analyses.compose import build_matrix
    from vnetdoctor.analyses.matrix import signature
    from vnetdoctor.api import diagnose
    from vnetdoctor.engine.fabric import Fabric
    from vnetdoctor.ingest.loader import snapshot_from_json

    t0 = time.perf_counter()
    resources = generate_estate(args.vms, seed=args.seed)
    if args.firewall:
        sys.path.insert(0, str(REPO / "tests" / "matrix"))
        from firewalled import with_firewall  # type: ignore[import-not-found, unused-ignore]

        resources = with_firewall(resources, args.seed)
    if args.scale_sets:
        from scalesets import with_scale_sets  # type: ignore[import-not-found, unused-ignore]

        resources = with_scale_sets(resources)
    snapshot = snapshot_from_json(resources)
    load_s = time.perf_counter() - t0
    print(f"synthetic estate: {args.vms:,} VMs, generated + loaded in {load_s:.1f} s")

    fabric = Fabric(snapshot)  # the matrix's, reused by the baselines below
    t0 = time.perf_counter()
    matrix = build_matrix(snapshot, args.port, fabric=fabric)
    matrix_s = time.perf_counter() - t0
    n, g = len(matrix.vms), len(matrix.groups)
    pairs, group_pairs = n * (n - 1), g * g
    cells, _ = matrix.answers()
    verdict = "PASS" if matrix_s <= TARGET_S else "MISS"
    print(
        f"matrix            {matrix_s:8.1f} s for one port: {n:,} VMs in {g:,} groups, "
        f"{group_pairs:,} group pairs, {matrix.diagnosed:,} diagnoses, {len(cells):,} distinct "
        f"answers -> {verdict} <= {TARGET_S:.0f} s"
    )
    counts = matrix.counts()
    print(f"                  verdicts over {sum(counts.values()):,} VM pairs: {counts}")

    rng = random.Random(args.seed)
    names = list(matrix.vms)
    vms = {v.name: v for v in snapshot.virtual_machines.values()}
    chosen = [(rng.choice(names), rng.choice(names)) for _ in range(args.sample_pairs)]
    chosen = [(a, b) for a, b in chosen if a != b]
    t0 = time.perf_counter()
    agree = 0
    for a, b in chosen:
        direct = signature(
            diagnose(snapshot, str(vms[a].id), str(vms[b].id), args.port, fabric=fabric),
            snapshot, vms[a], vms[b],
        )
        agree += matrix.cell(a, b) == direct
    per_pair = (time.perf_counter() - t0) / max(len(chosen), 1)
    print(f"agreement         {agree:,} / {len(chosen):,} random VM pairs equal their diagnosis")

    by_group = per_pair * group_pairs
    by_pair = per_pair * pairs
    print(
        f"baseline          {by_group:8.0f} s: one diagnosis per group pair "
        f"({per_pair * 1000:.2f} ms x {group_pairs:,}, extrapolated, same run) = "
        f"{by_group / matrix_s:,.0f}x the matrix"
    )
    print(
        f"baseline          {by_pair:8.0f} s: one diagnosis per VM pair "
        f"({per_pair * 1000:.2f} ms x {pairs:,}) = {by_pair / matrix_s:,.0f}x the matrix"
    )
    return 0 if agree == len(chosen) else 1


if __name__ == "__main__":
    raise SystemExit(main())
