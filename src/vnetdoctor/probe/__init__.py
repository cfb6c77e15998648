"""``vnetdoctor probe``: collect guest evidence inside a VM, Linux or Windows.

::

    from vnetdoctor.probe import collect_probe
    probe = collect_probe(ports=[5432], peers=["10.0.2.5:5432"])
    Path("vm.probe.json").write_bytes(encode_probe(probe))

Every command runs with a fixed argument list (no shell) and a timeout, all of them at once in
threads; a command that is missing, denied or slow becomes a capture with an ``error`` and a
``gap`` in the file, never a crash. TCP connect tests to ``peers`` run in parallel with the
commands. The output is a :class:`~vnetdoctor.model.evidence.ProbeFile`, read back by
:func:`vnetdoctor.guest.load.load_guest_evidence`.
"""

from __future__ import annotations

import os
import platform
import socket
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime

from vnetdoctor import __version__
from vnetdoctor.errors import UsageError
from vnetdoctor.model.evidence import Capture, ConnectTest, Gap, OsFamily, ProbeFile
from vnetdoctor.probe.linux import (
    LINUX_ENV,
    LINUX_FILES,
    fallback_listeners,
    legacy_commands,
    linux_commands,
)
from vnetdoctor.probe.runner import Command, Runner, SubprocessRunner, read_file_capture
from vnetdoctor.probe.windows import windows_commands

__all__ = ["capture_summary", "collect_probe", "parse_peer"]


def parse_peer(text: str, ports: Sequence[int]) -> list[tuple[str, int]]:
    """``IP:PORT``, ``[IPv6]:PORT``, ``HOST:PORT``, or a bare host tested on every ``--port``."""
    raw = text.strip()
    host, port_text = raw, ""
    if raw.startswith("["):
        close = raw.find("]")
        if close < 0:
            raise UsageError(f"--peer {text!r}: missing ']'")
        host, port_text = raw[1:close], raw[close + 1 :].lstrip(":")
    elif raw.count(":") == 1:
        host, _, port_text = raw.partition(":")
    if not host:
        raise UsageError(f"--peer {text!r}: no host")
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise UsageError(f"--peer {text!r}: invalid port {port_text!r}")
        return [(host, int(port_text))]
    if not ports:
        raise UsageError(f"--peer {text!r} has no port: write IP:PORT or give --port")
    return [(host, port) for port in ports]


def _connect(host: str, port: int, timeout: float) -> ConnectTest:
    started = time.monotonic()
    target = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return ConnectTest(
            target=target,
            address=host,
            port=port,
            succeeded=None,
            error=f"cannot resolve {host}: {exc}",
        )
    family, kind, proto, _, sockaddr = infos[0]
    address = str(sockaddr[0])
    sock = socket.socket(family, kind, proto)
    sock.settimeout(timeout)
    try:
        sock.connect(sockaddr)
        local = str(sock.getsockname()[0])
        return ConnectTest(
            target=target,
            address=address,
            port=port,
            succeeded=True,
            duration_ms=_ms(started),
            source_address=local,
        )
    except TimeoutError:
        error = f"timed out after {timeout:g} s (dropped on the way, or by a firewall)"
    except ConnectionRefusedError:
        error = "connection refused (reset: nothing listens, or a firewall rejects)"
    except OSError as exc:
        error = f"{type(exc).__name__}: {exc.strerror or exc}"
    finally:
        sock.close()
    return ConnectTest(
        target=target,
        address=address,
        port=port,
        succeeded=False,
        error=error,
        duration_ms=_ms(started),
    )


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _os_family() -> OsFamily:
    if sys.platform == "win32":
        return OsFamily.WINDOWS
    if sys.platform.startswith("linux"):
        return OsFamily.LINUX
    return OsFamily.UNKNOWN


def _privileged(family: OsFamily) -> bool | None:
    if family is OsFamily.WINDOWS:
        try:
            import ctypes

            return bool(ctypes.windll.shell32.IsUserAnAdmin())  # type: ignore[attr-defined]
        except (AttributeError, OSError):
            return None
    geteuid = getattr(os, "geteuid", None)
    return geteuid() == 0 if geteuid is not None else None


def collect_probe(
    ports: Iterable[int] = (),
    peers: Iterable[str] = (),
    *,
    timeout: float = 5.0,
    connect_timeout: float = 3.0,
    runner: Runner | None = None,
    os_family: OsFamily | None = None,
    read_file: Callable[[str, str], Capture] = read_file_capture,
) -> ProbeFile:
    """Collect the evidence of this machine. ``runner`` and ``os_family`` are the seams tests
    use to run the Linux or Windows code path with recorded outputs."""
    started = time.monotonic()
    family = os_family or _os_family()
    port_list = tuple(dict.fromkeys(int(p) for p in ports))
    targets = [t for peer in peers for t in parse_peer(peer, port_list)]
    if runner is None:
        encoding = "oem" if family is OsFamily.WINDOWS and sys.platform == "win32" else "utf-8"
        runner = SubprocessRunner(LINUX_ENV if family is OsFamily.LINUX else None, encoding)
    if family is OsFamily.LINUX:
        commands: tuple[Command, ...] = linux_commands(timeout)
    elif family is OsFamily.WINDOWS:
        commands = windows_commands(timeout)
    else:
        commands = ()
    gaps: list[Gap] = []
    if family is OsFamily.UNKNOWN:
        gaps.append(
            Gap(what="os", reason=f"unsupported platform {sys.platform}: only connect tests ran")
        )
    with ThreadPoolExecutor(max_workers=max(4, len(commands) + len(targets))) as pool:
        runs: list[Future[Capture]] = [pool.submit(runner.run, c) for c in commands]
        files: list[Future[Capture]] = []
        if family is OsFamily.LINUX:
            files = [pool.submit(read_file, kind, path) for kind, path in LINUX_FILES]
        tests = [pool.submit(_connect, host, port, connect_timeout) for host, port in targets]
        captures = [f.result() for f in runs]
        extra: list[Capture] = []
        if family is OsFamily.LINUX:
            extra.extend(_follow_ups(captures, runner, timeout))
        captures.extend(extra)
        captures.extend(f.result() for f in files)
        connects = tuple(f.result() for f in tests)
    for capture in captures:
        if capture.error is not None:
            gaps.append(Gap(what=capture.kind, reason=capture.error))
    privileged = _privileged(family)
    if privileged is False and family is not OsFamily.UNKNOWN:
        gaps.append(
            Gap(
                what="privileges",
                reason="not run as root / Administrator: the firewall "
                "and some process names could not be read",
            )
        )
    return ProbeFile(
        tool_version=__version__,
        collected_at=datetime.now(UTC).isoformat(timespec="seconds"),
        hostname=socket.gethostname(),
        os_family=family,
        os_version=platform.platform(),
        privileged=privileged,
        ports=port_list,
        captures=tuple(captures),
        connects=connects,
        gaps=tuple(gaps),
        duration_ms=_ms(started),
    )


def _follow_ups(captures: list[Capture], runner: Runner, timeout: float) -> list[Capture]:
    """``netstat`` when ``ss`` is missing; the legacy tables when ``iptables-save`` says they
    exist."""
    found: list[Capture] = []
    by_kind = {c.kind: c for c in captures}
    listeners = by_kind.get("ss")
    if listeners is not None and listeners.error and listeners.error.startswith("not installed"):
        found.append(runner.run(fallback_listeners(timeout)))
    warned = any(
        "iptables-legacy tables present" in c.stdout + c.stderr
        for c in captures
        if c.kind in ("iptables-save", "ip6tables-save")
    )
    if warned:
        found.extend(runner.run(c) for c in legacy_commands(timeout))
    return found


def capture_summary(captures: Sequence[Capture]) -> str:
    """``collected/total captures``, counting a command that ran and printed nothing as collected:
    ``iptables-save`` with no table loaded, or an empty nftables ruleset, is an answer (no rule),
    not a missing capture. The empty ones are named, so that an empty output that should not be
    is still seen."""
    collected = [c for c in captures if c.error is None]
    empty = [c.kind for c in collected if not c.stdout.strip()]
    text = f"{len(collected)}/{len(captures)} captures"
    if empty:
        text += f" ({len(empty)} empty: {', '.join(empty)})"
    return text
