"""Broken disks for the output tests: a tiny tmpfs (full after a few kB) and a read-only mount.

Both need root (``mount``); elsewhere the tests that use them skip with the reason. A read-only
folder made with ``chmod`` does not stop root, which is why a real read-only mount is used.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _mount(args: list[str]) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs (a chmod'ed folder does not stop root)")
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount here: {done.stderr.strip() or done.returncode}")


@contextmanager
def tmpfs(folder: Path, *, size: str = "64k", read_only: bool = False) -> Iterator[Path]:
    """``folder`` as a fresh tmpfs of ``size``, optionally read-only, unmounted afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    _mount(["-t", "tmpfs", "-o", options, "tmpfs", str(folder)])
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """``folder`` (with what it holds) bind-mounted read-only onto itself."""
    _mount(["--bind", str(folder), str(folder)])
    try:
        done = subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"cannot remount read-only here: {done.stderr.strip()}")
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
