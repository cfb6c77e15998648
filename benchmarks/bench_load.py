"""Benchmark ``vnetdoctor.load_snapshot`` against a raw ``json.loads`` of the same bytes.

Run: ``python benchmarks/bench_load.py [--vms 10000] [--seed 0] [--repeat 3] [--file F]``.

Every measurement runs in a fresh interpreter (``sys.executable -c ...``) so that the
peak RSS (``ru_maxrss``) belongs to that one measurement alone and no warm caches or
leftover objects of an earlier run flatter the next.  Times are the best of
``--repeat`` runs; peak memory is the highest seen, minus the peak of a bare
interpreter measured the same way, and is expressed as a multiple of the file size.

Linux carries ``ru_maxrss`` across exec: a child reports at least the RSS its parent
had when it was spawned (about 13 MB here against 9 MB for a bare interpreter).  So on
Linux the child reads its peak from ``VmHWM`` in ``/proc/self/status``, which starts
afresh at exec, and falls back to ``ru_maxrss`` elsewhere; and this process stays
small anyway, generating the estate with ``synthetic.py`` in a subprocess.
Exit status: 0 when measured (whatever PASS/MISS says), 1 when the tool cannot be run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TARGET_LOAD_RATIO = 3.0  # load_snapshot time / json.loads time
TARGET_MEMORY_RATIO = 5.0  # load_snapshot peak memory / file size

# Runs in the child: argv = [mode, path].  Prints one JSON line on stdout.
_CHILD = """
import json, resource, sys, time
mode, path = sys.argv[1], sys.argv[2]
count = None
if mode in ("import", "load"):
    import vnetdoctor
if mode == "raw":
    t0 = time.perf_counter()
    data = json.loads(open(path, "rb").read())
    seconds = time.perf_counter() - t0
    count = len(data)
elif mode == "load":
    t0 = time.perf_counter()
    snapshot = vnetdoctor.load_snapshot([path])
    seconds = time.perf_counter() - t0
    count = type(snapshot).__name__
else:
    seconds = 0.0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
source = "ru_maxrss"
try:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                rss, source = int(line.split()[1]) * 1024, "VmHWM"
except OSError:
    pass
print(json.dumps({"seconds": seconds, "maxrss": rss, "source": source, "count": count}))
"""

_CHECK = """
import vnetdoctor
vnetdoctor.load_snapshot
print(getattr(vnetdoctor, "__version__", "unknown"))
"""


@dataclass
class Sample:
    """One child's result: timed seconds, peak RSS in bytes and its source, what it loaded."""

    seconds: float
    maxrss: int
    source: str
    count: Any


def child_env() -> dict[str, str]:
    """Put the working tree's ``src`` first, so the code under review is what gets measured."""
    env = dict(os.environ)
    src = REPO / "src"
    if src.is_dir():
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    return env


def run_child(mode: str, path: Path) -> Sample:
    """Run one measurement in a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, mode, str(path)],
        capture_output=True,
        text=True,
        env=child_env(),
        check=False,
    )
    if proc.returncode != 0:
        msg = f"{mode} run failed (exit {proc.returncode}):\n{proc.stderr.strip()}"
        raise RuntimeError(msg)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return Sample(
        float(result["seconds"]), int(result["maxrss"]), str(result["source"]), result["count"]
    )


def tool_version() -> str | None:
    """Return vnetdoctor's version if ``load_snapshot`` is importable, else explain why not."""
    proc = subprocess.run(
        [sys.executable, "-c", _CHECK], capture_output=True, text=True, env=child_env(), check=False
    )
    if proc.returncode == 0:
        return proc.stdout.strip() or "unknown"
    last = (proc.stderr.strip().splitlines() or ["(no error output)"])[-1]
    print(
        "vnetdoctor.load_snapshot is not available yet, so the load benchmark cannot run.\n"
        f"  interpreter: {sys.executable}\n"
        f"  error: {last}\n"
        "Install the package (pip install -e .) or finish src/vnetdoctor, then rerun.",
        file=sys.stderr,
    )
    return None


def status(value: float, target: float) -> str:
    return "PASS" if value <= target else "MISS"


def measure(path: Path, repeat: int) -> int:
    size = path.stat().st_size
    bare, imported, raw, load = [], [], [], []
    for i in range(repeat):
        print(f"  run {i + 1}/{repeat} ...", end="\r", file=sys.stderr, flush=True)
        bare.append(run_child("bare", path))
        imported.append(run_child("import", path))
        raw.append(run_child("raw", path))
        load.append(run_child("load", path))
    print(" " * 30, end="\r", file=sys.stderr)

    base = min(s.maxrss for s in bare)
    raw_s = min(s.seconds for s in raw)
    load_s = min(s.seconds for s in load)
    raw_mem = max(s.maxrss for s in raw) - base
    load_mem = max(s.maxrss for s in load) - base
    import_mem = max(s.maxrss for s in imported) - base
    ratio = load_s / raw_s
    mem_ratio = load_mem / size

    rows = [
        ("file size", f"{size / 1e6:,.1f} MB", "", ""),
        ("resources", f"{raw[0].count:,}", "", ""),
        ("raw parse (json.loads)", f"{raw_s:.3f} s", "", ""),
        ("load (load_snapshot)", f"{load_s:.3f} s", "", ""),
        (
            "load / raw time",
            f"{ratio:.2f}x",
            f"<= {TARGET_LOAD_RATIO}",
            status(ratio, TARGET_LOAD_RATIO),
        ),
        (
            "load peak memory / file",
            f"{mem_ratio:.2f}x",
            f"<= {TARGET_MEMORY_RATIO}",
            status(mem_ratio, TARGET_MEMORY_RATIO),
        ),
        ("  of which import vnetdoctor", f"{import_mem / size:.2f}x", "", ""),
        ("raw peak memory / file", f"{raw_mem / size:.2f}x", "", "(reference)"),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    print(
        f"best of {repeat} fresh-process runs; memory = peak RSS ({bare[0].source}) "
        f"minus a bare interpreter ({base / 1e6:.1f} MB)"
    )
    for row in rows:
        print(
            "  ".join(
                cell.ljust(w) if i != 1 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--vms", type=int, default=10_000, help="VMs in the generated estate (default 10000)"
    )
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per measurement, best taken (default 3)"
    )
    parser.add_argument(
        "--file", type=Path, help="benchmark this snapshot instead of generating one"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")

    version = tool_version()
    if version is None:
        return 1
    print(f"vnetdoctor {version}, Python {platform.python_version()} ({sys.executable})")
    try:
        if args.file:
            print(f"snapshot: {args.file}")
            return measure(args.file, args.repeat)
        with tempfile.TemporaryDirectory(prefix="vnetdoctor-bench-") as tmp:
            path = Path(tmp) / f"estate-{args.vms}-{args.seed}.json"
            generator = Path(__file__).with_name("synthetic.py")
            cmd = [
                sys.executable,
                str(generator),
                "--vms",
                str(args.vms),
                "--seed",
                str(args.seed),
                "--out",
                str(path),
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                print(f"generating the estate failed:\n{proc.stderr.strip()}", file=sys.stderr)
                return 1
            print(f"snapshot: synthetic, {proc.stdout.strip()}")
            return measure(path, args.repeat)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
