"""Every output goes through one atomic writer: a full or read-only disk, a planted link, a device
node or a ``kill -9`` never leaves a half-written file, destroys what was there, or crashes.

The CLI cases run ``python -m vnetdoctor`` as a user does and accept only exit 2 with one line
"cannot write PATH: reason" for a destination that cannot be written.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from fuzz.disks import read_only, tmpfs
from vnetdoctor.errors import OutputError
from vnetdoctor.outfile import copy_tree, open_output, write_output

OLD = "the previous good report\n"
PAIR = ["--sample", "--from", "vm-web-01", "--to", "vm-db-01", "--port", "5432"]
INTENTS = "intents:\n  - {from: vm-web-01, to: vm-db-01, port: 5432, expect: must not reach}\n"


def run(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vnetdoctor", *args], capture_output=True,
                          text=True, timeout=120, check=False, cwd=cwd)


def commands(target: Path, tmp_path: Path) -> dict[str, list[str]]:
    intents = tmp_path / "intents.yaml"
    intents.write_text(INTENTS, encoding="utf-8")
    return {
        "diagnose": ["diagnose", *PAIR, "--out", str(target)],
        "diagnose-html": ["diagnose", *PAIR, "-o", "html", "--out", str(target)],
        "matrix": ["matrix", "--sample", "--port", "443", "-o", "csv", "--out", str(target)],
        "verify": ["verify", str(intents), "--sample", "--junit", str(target)],
        "probe": ["probe", "--port", "5432", "--out", str(target)],
    }


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# --- the writer itself -------------------------------------------------------------------------

def test_a_new_file_gets_the_mode_a_normal_file_would(tmp_path: Path) -> None:
    mask = os.umask(0o027)
    try:
        write_output(tmp_path / "new.txt", "x")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o640
    old = tmp_path / "old.txt"
    old.write_text(OLD)
    old.chmod(0o604)
    write_output(old, b"new")
    assert old.read_bytes() == b"new"
    assert stat.S_IMODE(old.stat().st_mode) == 0o604
    assert leftovers(tmp_path) == []


def test_an_error_while_writing_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text(OLD)

    def render_and_fail() -> None:
        with open_output(target) as out:
            out.write("half of a new report")
            raise RuntimeError("a bug while rendering")

    with pytest.raises(RuntimeError):
        render_and_fail()
    assert target.read_text() == OLD
    assert leftovers(tmp_path) == []


def test_a_planted_link_at_the_old_temporary_name_has_no_effect(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / ".report.html.tmp").symlink_to(victim)
    for n in range(20):
        (shared / f".report.html.{n:08d}.tmp").symlink_to(victim)
    write_output(shared / "report.html", "<html>report</html>")
    assert victim.read_text() == "precious\n"
    assert (shared / "report.html").read_text() == "<html>report</html>"
    assert not (shared / "report.html").is_symlink()


def test_a_link_is_followed_and_kept(tmp_path: Path) -> None:
    real = tmp_path / "reports" / "2026-12.json"
    real.parent.mkdir()
    real.write_text(OLD)
    link = tmp_path / "latest.json"
    link.symlink_to(real)
    write_output(link, "new\n")
    assert link.is_symlink()
    assert real.read_text() == "new\n"


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"cannot write .*: it is a folder"):
        write_output(tmp_path, "x")


def test_a_missing_folder_is_an_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"cannot write .*nope/x\.json: No such file"):
        write_output(tmp_path / "nope" / "x.json", "x")


def _device(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        pytest.skip("needs root to make a character device")
    node = tmp_path / "null"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # what /dev/null is
    return node


def test_a_character_device_is_written_not_replaced(tmp_path: Path) -> None:
    node = _device(tmp_path)
    write_output(node, "discarded\n")
    assert stat.S_ISCHR(node.lstat().st_mode)
    write_output("/dev/null", "discarded\n")
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


def test_a_fifo_is_written_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write_output(fifo, "through the pipe\n")
    reader.join(timeout=10)
    assert got == [b"through the pipe\n"]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_dash_is_standard_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    os.chdir(tmp_path)
    write_output("-", "to stdout\n")
    assert capsys.readouterr().out == "to stdout\n"
    assert not (tmp_path / "-").exists()


def test_a_full_disk_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", size="64k") as disk:
        target = disk / "matrix.csv"
        target.write_text(OLD)
        with pytest.raises(OutputError, match=r"cannot write .*matrix\.csv: No space left"):
            write_output(target, "x" * 1_000_000)
        assert target.read_text() == OLD
        assert leftovers(disk) == []


def test_a_read_only_disk_is_an_output_error(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "old.json").write_text(OLD)
    with read_only(folder):
        with pytest.raises(OutputError, match=r"cannot write .*old\.json: Read-only file system"):
            write_output(folder / "old.json", "new")
        assert (folder / "old.json").read_text() == OLD


KILLED_WRITER = """
import sys, time
from vnetdoctor.outfile import open_output
with open_output(sys.argv[1]) as out:
    for n in range(10_000):
        out.write("row %d\\n" % n * 50)
        if n == 100:
            out.flush()
            print("writing", flush=True)
            time.sleep(60)
"""


def test_kill_9_during_a_long_write_leaves_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "matrix.csv"
    target.write_text(OLD)
    with subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(target)],
                          stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline() == "writing\n"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert target.read_text() == OLD
    (partial,) = leftovers(tmp_path)  # the killed writer's temporary, never the target
    assert partial.startswith(".matrix.csv.")
    assert stat.S_IMODE((tmp_path / partial).stat().st_mode) == 0o600


def test_copy_tree_on_a_full_disk_leaves_nothing_and_a_rerun_works(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for n in range(20):
        (source / f"f{n}.json").write_text("x" * 8000)
    with tmpfs(tmp_path / "disk", size="64k") as disk:
        with pytest.raises(OutputError, match="No space left"):
            copy_tree(source, disk / "copy")
        assert list(disk.iterdir()) == []
    with tmpfs(tmp_path / "disk", size="1m") as disk:
        copy_tree(source, disk / "copy")
        assert len(list((disk / "copy").iterdir())) == 20


# --- through the CLI ---------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["diagnose", "diagnose-html", "matrix", "verify", "probe"])
def test_cli_onto_a_read_only_disk_is_exit_2_naming_the_path(tmp_path: Path,
                                                             command: str) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    target = folder / "out.file"
    target.write_text(OLD)
    args = commands(target, tmp_path)[command]
    with read_only(folder):
        done = run(args)
        assert target.read_text() == OLD
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"vnetdoctor: error: cannot write {target}: Read-only file system"]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("command", ["diagnose", "diagnose-html", "matrix", "verify", "probe"])
def test_cli_onto_a_full_disk_is_exit_2_and_keeps_the_old_file(tmp_path: Path,
                                                               command: str) -> None:
    with tmpfs(tmp_path / "disk", size="8k") as disk:
        target = disk / "out.file"
        target.write_text(OLD)
        (disk / "filler").write_bytes(b"x" * 4096)
        done = run(commands(target, tmp_path)[command])
        assert target.read_text() == OLD
        assert leftovers(disk) == []
    assert done.returncode == 2, done.stderr
    assert f"cannot write {target}: No space left on device" in done.stderr


@pytest.mark.parametrize("command", ["diagnose", "matrix", "verify", "probe"])
def test_cli_out_onto_a_device_leaves_it_a_device(tmp_path: Path, command: str) -> None:
    node = _device(tmp_path)
    done = run(commands(node, tmp_path)[command])
    assert done.returncode in (0, 1), done.stderr
    assert stat.S_ISCHR(node.lstat().st_mode)
    done = run(commands(Path("/dev/null"), tmp_path)[command])
    assert done.returncode in (0, 1), done.stderr
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


def test_cli_sample_on_a_full_disk_is_exit_2_and_a_rerun_works(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", size="64k") as disk:
        done = run(["sample", "--out", str(disk / "demo")])
        assert done.returncode == 2, done.stderr
        assert "cannot write" in done.stderr
        assert "No space left on device" in done.stderr
        assert list((disk / "demo").iterdir()) == []
    with tmpfs(tmp_path / "disk", size="4m") as disk:
        done = run(["sample", "--out", str(disk / "demo")])
        assert done.returncode == 0, done.stderr
        assert (disk / "demo" / "contoso" / "network.json").is_file()


def test_cli_flowlogs_cache_on_a_read_only_disk_is_exit_2(tmp_path: Path) -> None:
    pytest.importorskip("duckdb", reason="the flowlogs extra (duckdb) is not installed")
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "x.jsonl").write_text('{"records": []}\n{"records": []}\n')
    cache = tmp_path / "cache"
    cache.mkdir()
    with read_only(cache):
        done = run(["flowlogs", str(logs), "--cache", str(cache)])
    assert done.returncode == 2, done.stderr
    assert f"cannot write {cache}: Read-only file system" in done.stderr


@pytest.mark.parametrize("size", ["4k", "12k"])  # full before the Parquet batch, or after it
def test_cli_flowlogs_cache_on_a_full_disk_is_exit_2_and_a_rerun_works(tmp_path: Path,
                                                                      size: str) -> None:
    pytest.importorskip("duckdb", reason="the flowlogs extra (duckdb) is not installed")
    from flowlogs.support import blob, v4_record

    flow = "1741943000000,10.1.1.4,10.2.0.5,50000,1433,6,O,D,NX,0,0,0,0"
    logs = tmp_path / "logs"
    logs.mkdir()
    for n in range(20):
        (logs / f"b{n}.json").write_text(blob(v4_record([flow] * 500)))
    with tmpfs(tmp_path / "cache", size=size) as cache:
        done = run(["flowlogs", str(logs), "--cache", str(cache)])
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip() == (
            f"vnetdoctor: error: cannot write {cache}: No space left on device")
    with tmpfs(tmp_path / "cache", size="4m") as cache:
        done = run(["flowlogs", str(logs), "--cache", str(cache), "-o", "json"])
        assert done.returncode == 0, done.stderr
        again = run(["flowlogs", str(logs), "--cache", str(cache), "-o", "json"])
        assert json.loads(again.stdout)["flows"] == json.loads(done.stdout)["flows"]
        assert json.loads(again.stdout)["summary"]["filesCached"] == 20


def test_cli_flowlogs_spark_cache_on_a_full_disk_is_exit_2(tmp_path: Path) -> None:
    """The Spark engine's Parquet write onto a full cache folder is the same one line and exit 2
    as DuckDB's (regression: the JVM's error went out as an internal error, exit 70)."""
    pytest.importorskip("pyspark", reason="the spark extra (pyspark) is not installed")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime for Spark")
    from flowlogs.support import blob, v4_record

    flow = "1741943000000,10.1.1.4,10.2.0.5,50000,1433,6,O,D,NX,0,0,0,0"
    logs = tmp_path / "logs"
    logs.mkdir()
    for n in range(20):
        (logs / f"b{n}.json").write_text(blob(v4_record([flow] * 500)))
    with tmpfs(tmp_path / "cache", size="12k") as cache:
        done = run(["flowlogs", str(logs), "--engine", "spark", "--cache", str(cache)])
        assert done.returncode == 2, done.stderr[-2000:]
        assert done.stderr.strip().splitlines()[-1] == (
            f"vnetdoctor: error: cannot write {cache}: No space left on device")
