"""Benchmark ``vnetdoctor matrix``: the 10,000-VM one-port matrix beside per-pair diagnose.

Run: ``python benchmarks/bench_matrix.py [--vms 10000] [--port 443] [--sample-cells 2000]
[--budget 60] [--full]``.

On a synthetic estate (``synthetic.py``), loaded once:

1. grouping: the time to put the VMs into groups of identical context;
2. the matrix: one representative diagnosis per ordered group pair. With ``--full`` every group
   pair is computed (stopping at ``--budget`` seconds); otherwise ``--sample-cells`` random group
   pairs are timed and the total is extrapolated;
3. the baseline, in the same run: per-pair ``diagnose`` on ``--sample-cells`` random VM pairs,
   extrapolated to all N x (N - 1) ordered pairs.

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
    parser.add_argument("--sample-cells", type=int, default=2000)
    parser.add_argument("--budget", type=float, default=TARGET_S)
    parser.add_argument("--full", action="store_true", help="compute every group pair")
    args = parser.parse_args(argv)

    from synthetic import generate_estate  # type: ignore[import-not-found, unused-ignore]

    from vnetdoctor.api import diagnose
    from vnetdoctor.engine.matrix import build_matrix
    from vnetdoctor.ingest.loader import snapshot_from_json

    t0 = time.perf_counter()
    snapshot = snapshot_from_json(generate_estate(args.vms, seed=args.seed))
    load_s = time.perf_counter() - t0
    print(f"synthetic estate: {args.vms:,} VMs, generated + loaded in {load_s:.1f} s")

    t0 = time.perf_counter()
    matrix = build_matrix(snapshot, diagnose, args.port, compute=False)
    group_s = time.perf_counter() - t0
    n, g = len(matrix.vms), len(matrix.groups)
    pairs, group_pairs = n * (n - 1), g * g
    print(
        f"grouping          {group_s:8.2f} s: {n:,} VMs -> {g:,} groups "
        f"({group_pairs:,} group pairs for {pairs:,} VM pairs, "
        f"{pairs / max(group_pairs, 1):.1f} pairs per diagnosis)"
    )

    rng = random.Random(args.seed)
    if args.full:
        t0 = time.perf_counter()
        done = 0
        stopped = False
        for i in range(g):
            for j in range(g):
                matrix.group_cell(i, j)
                done += 1
            if time.perf_counter() - t0 > args.budget:
                stopped = True
                break
        cells_s = time.perf_counter() - t0
        per_cell = cells_s / max(done, 1)
        matrix_s = group_s + per_cell * group_pairs
        how = (
            f"extrapolated from {done:,} group pairs (stopped at the {args.budget:.0f} s budget)"
            if stopped
            else f"all {done:,} group pairs computed"
        )
    else:
        cells = [(rng.randrange(g), rng.randrange(g)) for _ in range(args.sample_cells)]
        t0 = time.perf_counter()
        for i, j in cells:
            matrix.group_cell(i, j)
        per_cell = (time.perf_counter() - t0) / max(matrix.diagnosed, 1)
        matrix_s = group_s + per_cell * group_pairs
        how = f"extrapolated from {matrix.diagnosed:,} random group pairs"
    verdict = "PASS" if matrix_s <= TARGET_S else "MISS"
    print(
        f"matrix            {matrix_s:8.1f} s for one port ({how}; {per_cell * 1000:.2f} ms "
        f"per group pair) -> {verdict} <= {TARGET_S:.0f} s"
    )

    names = list(matrix.vms)
    chosen = [(rng.choice(names), rng.choice(names)) for _ in range(args.sample_cells)]
    chosen = [(a, b) for a, b in chosen if a != b]
    ids = {v.name: str(v.id) for v in snapshot.virtual_machines.values()}
    t0 = time.perf_counter()
    for a, b in chosen:
        diagnose(snapshot, ids[a], ids[b], args.port)
    per_pair = (time.perf_counter() - t0) / len(chosen)
    baseline_s = per_pair * pairs
    print(
        f"baseline          {baseline_s:8.1f} s: per-pair diagnose, {per_pair * 1000:.2f} ms x "
        f"{pairs:,} pairs (extrapolated from {len(chosen):,} pairs, same run)"
    )
    print(f"speed-up          {baseline_s / matrix_s:8.1f} x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
