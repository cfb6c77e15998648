"""Finding files (files, folders, globs, Azure's layout) and the cheap checks before reading."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flowlogs.support import blob, v4_record, write
from vnetdoctor.errors import UsageError
from vnetdoctor.flowlogs.discovery import (
    CACHE_MARKER,
    Form,
    SourceFile,
    blob_hour,
    blob_mac,
    check_file,
    expand_paths,
    plan,
)
from vnetdoctor.flowlogs.model import FlowFilter, FlowLogWarning, WarningKind

TUPLE = "1741943000000,10.1.1.4,10.2.0.5,50000,1433,6,O,D,NX,0,0,0,0"
LAYOUT = ("insights-logs-flowlogflowevent/flowLogResourceID=/SUBSCRIPTIONS/S/RESOURCEGROUPS/"
          "NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_WESTEUROPE/"
          "FLOWLOGS/FL1/y=2025/m=03/d=14/h={h:02d}/m=00/macAddress=00224871C205/PT1H.json")


def test_folders_are_searched_recursively_for_log_files(tmp_path: Path) -> None:
    a = write(tmp_path / LAYOUT.format(h=9), blob(v4_record([TUPLE])))
    b = write(tmp_path / "eventhub" / "capture.jsonl", json.dumps(v4_record([TUPLE])))
    write(tmp_path / "notes.txt", "not a log")
    write(tmp_path / ".hidden" / "x.json", "{}")
    write(tmp_path / "cache" / CACHE_MARKER, "")
    write(tmp_path / "cache" / "k" / "meta.json", "{}")
    assert expand_paths([tmp_path]) == sorted([str(a), str(b)])


def test_globs_files_and_duplicates(tmp_path: Path) -> None:
    a = write(tmp_path / LAYOUT.format(h=9), blob(v4_record([TUPLE])))
    b = write(tmp_path / LAYOUT.format(h=10), blob(v4_record([TUPLE])))
    found = expand_paths([f"{tmp_path}/**/PT1H.json", a])
    assert found == sorted([str(a), str(b)])


@pytest.mark.parametrize("arg", ["missing.json", "nothing/**/*.json", "empty"])
def test_missing_paths_and_empty_globs_are_usage_errors(tmp_path: Path, arg: str) -> None:
    (tmp_path / "empty").mkdir()
    write(tmp_path / "empty" / "readme.txt", "no logs here")
    with pytest.raises(UsageError, match=r"no such file|matches no files|no flow-log files"):
        expand_paths([str(tmp_path / arg)])


def test_everything_pruned_is_an_empty_answer(tmp_path: Path) -> None:
    pytest.importorskip("duckdb", reason="the flowlogs extra (duckdb) is not installed")
    from vnetdoctor.flowlogs import scan

    write(tmp_path / LAYOUT.format(h=9), blob(v4_record([TUPLE])))
    report = scan([tmp_path], FlowFilter(since=1841942800000))
    assert (report.flows, report.summary.files, report.summary.files_pruned) == ((), 1, 1)


def test_blob_layout_gives_hour_and_mac() -> None:
    path = "/x/" + LAYOUT.format(h=9)
    assert blob_hour(path) == 1741942800000  # 2025-03-14T09:00:00Z
    assert blob_mac(path) == "00224871C205"
    assert blob_hour("/x/PT1H.json") is None


def _check(path: Path) -> SourceFile | FlowLogWarning:
    return check_file(os.path.abspath(path))


@pytest.mark.parametrize(("text", "form"), [
    (blob(v4_record([TUPLE])), Form.DOCUMENT),
    (json.dumps({"records": [v4_record([TUPLE])]}, indent=2), Form.DOCUMENT),
    ('{"records":[' + json.dumps(v4_record([TUPLE])) + "\r\n," + json.dumps(v4_record([TUPLE]))
     + "]}", Form.DOCUMENT),
    (json.dumps(v4_record([TUPLE])) + "\n" + json.dumps(v4_record([TUPLE])) + "\n", Form.LINES),
    (json.dumps(v4_record([TUPLE])), Form.DOCUMENT),
    (json.dumps([v4_record([TUPLE])]), Form.ARRAY),
])
def test_forms(tmp_path: Path, text: str, form: Form) -> None:
    checked = _check(write(tmp_path / "f.json", text))
    assert isinstance(checked, SourceFile)
    assert checked.form is form


@pytest.mark.parametrize(("text", "kind"), [
    ("", WarningKind.EMPTY),
    ("  \n", WarningKind.EMPTY),
    (blob(v4_record([TUPLE]))[:-40], WarningKind.TRUNCATED),
    (blob(v4_record([TUPLE]))[:-2], WarningKind.INCOMPLETE),  # no closing "]}"
    ('{"records":[' + json.dumps(v4_record([TUPLE])) + ",", WarningKind.TRUNCATED),
    (json.dumps(v4_record([TUPLE])) + "\n" + json.dumps(v4_record([TUPLE]))[:50],
     WarningKind.TRUNCATED),
    (json.dumps([v4_record([TUPLE])])[:-1], WarningKind.TRUNCATED),
    ("time,src,dst\n", WarningKind.NOT_FLOW_LOG),
])
def test_broken_files_are_named_with_a_reason(tmp_path: Path, text: str,
                                              kind: WarningKind) -> None:
    path = write(tmp_path / "PT1H.json", text)
    checked = _check(path)
    assert isinstance(checked, FlowLogWarning)
    assert checked.kind is kind
    assert checked.file == str(path)
    assert checked.count == 1
    assert checked.code.startswith("F")


def test_since_and_until_prune_blobs_by_their_path(tmp_path: Path) -> None:
    for hour in range(24):
        write(tmp_path / LAYOUT.format(h=hour), blob(v4_record([TUPLE])))
    hour_ms, nine = 3_600_000, 1741942800000
    found = plan([tmp_path], since=nine, until=nine + hour_ms - 1)
    hours = sorted(blob_hour(f.path) for f in found.files)
    # A blob of hour h may hold tuples from h - 1h to h + 2h (an hour's margin each side).
    assert hours == [nine + k * hour_ms for k in (-2, -1, 0, 1)]
    assert (found.given, found.pruned) == (24, 20)


# Links and several paths to one file: each file counts once, by its identity.

def _layout_tree(root: Path) -> Path:
    return write(root / "y=2024" / "m=08" / "d=19" / "h=09" / "PT1H.json", blob(v4_record([TUPLE])))


def test_a_folder_link_into_the_tree_counts_each_blob_once(tmp_path: Path) -> None:
    real = _layout_tree(tmp_path)
    day = tmp_path / "y=2024" / "m=08" / "d=19"
    (tmp_path / "latest").symlink_to(day, target_is_directory=True)
    found = expand_paths([f"{tmp_path}/**/PT1H.json"])
    assert found == [str(real)]  # the path without a link wins: its layout gives the hour
    assert plan([f"{tmp_path}/**/PT1H.json"]).given == 1


def test_a_self_loop_counts_each_blob_once(tmp_path: Path) -> None:
    real = _layout_tree(tmp_path)
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    assert expand_paths([f"{tmp_path}/**/*.json"]) == [str(real)]
    assert expand_paths([f"{tmp_path}/**"]) == [str(real)]


def test_two_links_to_each_other_end(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    write(a / "x.json", blob(v4_record([TUPLE])))
    b.mkdir()
    (a / "to_b").symlink_to(b, target_is_directory=True)
    (b / "to_a").symlink_to(a, target_is_directory=True)
    (b / "self").symlink_to(b, target_is_directory=True)
    code = ("import sys; from vnetdoctor.flowlogs.discovery import expand_paths; "
            "print(len(expand_paths([sys.argv[1]])))")
    done = subprocess.run([sys.executable, "-c", code, f"{tmp_path}/**/*.json"],
                          capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "1"


def test_a_link_out_of_the_tree_is_followed_once(tmp_path: Path) -> None:
    outside = write(tmp_path / "elsewhere" / "PT1H.json", blob(v4_record([TUPLE])))
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "one").symlink_to(outside.parent, target_is_directory=True)
    (tree / "two").symlink_to(outside.parent, target_is_directory=True)
    found = expand_paths([f"{tree}/**/PT1H.json"])
    assert found == [str(tree / "one" / "PT1H.json")]


def test_one_file_given_by_two_paths_counts_once(tmp_path: Path) -> None:
    real = _layout_tree(tmp_path)
    alias = tmp_path / "alias.json"
    alias.symlink_to(real)
    hard = tmp_path / "hard.json"
    os.link(real, hard)
    found = expand_paths([real, alias, hard, tmp_path, f"{tmp_path}/**/*.json"])
    assert found == [str(real)]


def test_a_glob_over_a_wide_tree_with_links_stays_fast(tmp_path: Path) -> None:
    for day in range(1, 29):
        for hour in range(24):
            folder = tmp_path / "y=2024" / "m=08" / f"d={day:02d}" / f"h={hour:02d}"
            write(folder / "PT1H.json", "{}")
    for n in range(10):
        (tmp_path / "y=2024" / f"link{n}").symlink_to(tmp_path, target_is_directory=True)
    assert len(expand_paths([f"{tmp_path}/**/PT1H.json"])) == 28 * 24
