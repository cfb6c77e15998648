"""Benchmark ``vnetdoctor diagnose``: per-pair cost after load, and CLI wall time on the sample.

Run: ``python benchmarks/bench_diagnose.py [--vms 10000] [--pairs 1000] [--repeat 5]``.

1. On a synthetic estate (``synthetic.py``), loaded once, diagnose ``--pairs`` random VM pairs on
   port 443 and report milliseconds per diagnosis (target <= 5 ms). The baseline, measured in the
   same process on the same pairs, is one Network-Watcher-equivalent IP flow verify per pair: a
   diagnosis does two to six of those plus route lookups, peering and SNAT checks.
2. The CLI wall time of ``vnetdoctor diagnose --sample ...`` (target <= 1 s including start-up),
   best of ``--repeat``, beside a bare ``python -c pass`` and ``python -c "import json"`` measured
   the same way in the same run.

Machines here are noisy, so ratios are printed next to absolute figures; nothing is asserted.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

TARGET_MS = 5.0
TARGET_CLI_S = 1.0


def per_pair(vms: int, pairs: int, seed: int) -> None:
    import synthetic  # type: ignore[import-not-found, unused-ignore]

    from vnetdoctor.api import diagnose
    from vnetdoctor.engine.fabric import Fabric
    from vnetdoctor.engine.nsg import ip_flow_verify
    from vnetdoctor.ingest.loader import load_snapshot

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "estate.json"
        subprocess.run([sys.executable, str(REPO / "benchmarks" / "synthetic.py"), "--vms",
                        str(vms), "--seed", str(seed), "--out", str(path)], check=True,
                       capture_output=True)
        del synthetic
        t0 = time.perf_counter()
        snapshot = load_snapshot(path)
        load_s = time.perf_counter() - t0
    rng = random.Random(seed)
    names = sorted(v.name for v in snapshot.virtual_machines.values())
    chosen = [(rng.choice(names), rng.choice(names)) for _ in range(pairs)]
    chosen = [(a, b) for a, b in chosen if a != b]
    # warm-up: compile the NSGs and route tables the pairs touch, as a long-lived process would
    # (one fabric for the snapshot, kept between diagnoses)
    fabric = Fabric(snapshot)
    for a, b in chosen[:20]:
        diagnose(snapshot, a, b, 443, fabric=fabric)
    verdicts: dict[str, int] = {}
    t0 = time.perf_counter()
    for a, b in chosen:
        result = diagnose(snapshot, a, b, 443, fabric=fabric)
        verdicts[result.verdict.value] = verdicts.get(result.verdict.value, 0) + 1
    diag_s = time.perf_counter() - t0
    flows = []
    for a, b in chosen:
        nic = snapshot.primary_nic(snapshot.virtual_machines.find(b))
        src_nic = snapshot.primary_nic(snapshot.virtual_machines.find(a))
        if nic is None or src_nic is None or not nic.private_ip_addresses \
                or not src_nic.private_ip_addresses:
            continue
        flows.append((nic, nic.private_ip_addresses[0], src_nic.private_ip_addresses[0]))
    t0 = time.perf_counter()
    for nic, local, remote in flows:
        ip_flow_verify(snapshot, nic, "Inbound", "Tcp", (local, 443), (remote, None),
                       fabric=fabric)
    verify_s = time.perf_counter() - t0
    ms = diag_s / len(chosen) * 1000
    verify_ms = verify_s / max(len(flows), 1) * 1000
    print(f"synthetic estate: {vms:,} VMs, loaded in {load_s:.2f} s")
    print(f"diagnose          {ms:8.3f} ms per pair over {len(chosen)} pairs "
          f"({'PASS' if ms <= TARGET_MS else 'MISS'} <= {TARGET_MS} ms); verdicts {verdicts}")
    print(f"baseline          {verify_ms:8.3f} ms per IP flow verify (same pairs)")
    print(f"ratio             {ms / verify_ms:8.1f}x a single flow verify")


def _best(args: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(args, capture_output=True, check=False)
        best = min(best, time.perf_counter() - t0)
    return best


def cli_wall(repeat: int) -> None:
    bare = _best([sys.executable, "-c", "pass"], repeat)
    json_import = _best([sys.executable, "-c", "import json"], repeat)
    cli = _best([sys.executable, "-m", "vnetdoctor", "diagnose", "--sample", "--from",
                 "vm-web-01", "--to", "vm-db-01", "--port", "5432"], repeat)
    print(f"CLI diagnose --sample   {cli:6.3f} s best of {repeat} "
          f"({'PASS' if cli <= TARGET_CLI_S else 'MISS'} <= {TARGET_CLI_S} s)")
    print(f"baseline python -c pass {bare:6.3f} s  (CLI = {cli / bare:.1f}x)")
    print(f"baseline import json    {json_import:6.3f} s  (CLI = {cli / json_import:.1f}x)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=10_000)
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    per_pair(args.vms, args.pairs, args.seed)
    cli_wall(args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
