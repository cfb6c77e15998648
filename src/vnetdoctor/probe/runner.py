"""Running one collection command: a fixed argument list, no shell, a timeout, and a reason
for every failure. :class:`Runner` is the seam tests replace (``FakeRunner`` in the tests)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from vnetdoctor.model.evidence import Capture

__all__ = ["Command", "Runner", "SubprocessRunner", "read_file_capture"]

_SBIN: Final = ("/usr/local/sbin", "/usr/sbin", "/sbin")
_DENIED: Final = (
    "permission denied",
    "operation not permitted",
    "you must be root",
    "access is denied",
    "accès refusé",
    "zugriff verweigert",
)
_MAX_OUTPUT: Final = 32 * 1024 * 1024


@dataclass(frozen=True)
class Command:
    """One command of the probe. ``argv[0]`` is looked up on ``PATH`` (plus the sbin folders,
    which a non-root ``PATH`` often lacks); nothing goes through a shell."""

    kind: str
    argv: tuple[str, ...]
    timeout: float = 5.0
    needs_admin: bool = False
    shown: tuple[str, ...] | None = None  # what the probe file records, when argv is unwieldy

    @property
    def recorded(self) -> tuple[str, ...]:
        return self.shown if self.shown is not None else self.argv


class Runner(Protocol):
    def run(self, command: Command) -> Capture: ...


class SubprocessRunner:
    """Runs commands with :func:`subprocess.run`. ``env`` extras are added to the environment
    (``LC_ALL=C`` on Linux, so the output is not localised)."""

    def __init__(self, env: Mapping[str, str] | None = None, encoding: str = "utf-8") -> None:
        self.env = {**os.environ, **(env or {})}
        self.encoding = encoding

    def which(self, name: str) -> str | None:
        path = self.env.get("PATH", os.defpath)
        if sys.platform != "win32":
            path = os.pathsep.join([path, *_SBIN])
        return shutil.which(name, path=path)

    def run(self, command: Command) -> Capture:
        executable = self.which(command.argv[0])
        if executable is None:
            return Capture(
                kind=command.kind,
                argv=command.recorded,
                error=f"not installed: {command.argv[0]} is not on PATH",
            )
        started = time.monotonic()
        try:
            done = subprocess.run(
                [executable, *command.argv[1:]],
                capture_output=True,
                timeout=command.timeout,
                env=self.env,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            return Capture(
                kind=command.kind,
                argv=command.recorded,
                duration_ms=_ms(started),
                error=f"timed out after {command.timeout:g} s",
            )
        except OSError as exc:
            return Capture(
                kind=command.kind,
                argv=command.recorded,
                duration_ms=_ms(started),
                error=f"could not run: {exc.strerror or exc}",
            )
        stdout = done.stdout[:_MAX_OUTPUT].decode(self.encoding, errors="replace")
        stderr = done.stderr[:65536].decode(self.encoding, errors="replace").strip()
        error = None
        if done.returncode != 0:
            first = stderr.splitlines()[0] if stderr else f"exit code {done.returncode}"
            if any(word in stderr.casefold() for word in _DENIED):
                error = f"permission denied: {first} (run the probe as root / Administrator)"
            else:
                error = f"exit code {done.returncode}: {first}"
        return Capture(
            kind=command.kind,
            argv=command.recorded,
            exit_code=done.returncode,
            stdout=stdout,
            stderr=stderr,
            duration_ms=_ms(started),
            error=error,
        )


def read_file_capture(kind: str, path: str) -> Capture:
    """A file the probe reads instead of running a command (``/etc/resolv.conf``)."""
    started = time.monotonic()
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return Capture(kind=kind, argv=("read", path), error=f"{path} does not exist")
    except OSError as exc:
        return Capture(kind=kind, argv=("read", path), error=f"cannot read {path}: {exc.strerror}")
    return Capture(
        kind=kind, argv=("read", path), exit_code=0, stdout=text, duration_ms=_ms(started)
    )


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
