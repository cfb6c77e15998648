"""Intents: what must (or must not) be reachable, checked against a snapshot in one run.

The file is YAML::

    guest:                       # optional: guest evidence per VM, paths relative to this file
      vm-db-01: guest/vm-db-01/
    intents:
      - name: web may reach db on 5432
        from: vm-web-*           # a VM name, a glob on VM names, an IP, a CIDR, or Internet
        to: vm-db-01
        port: 5432
        protocol: tcp            # tcp (default), udp or icmp
        expect: may reach        # or: must not reach
      - name: nothing from the Internet reaches db
        from: Internet
        to: vm-db-*
        port: 5432
        expect: must not reach

A glob means every VM whose name matches; a CIDR every VM whose private IP lies in it (or, when
none does, its first and last host address); ``Internet`` a few public addresses. ``from``/``to``
may also be lists. An intent holds when every pair (a VM and itself excepted) has the expected
verdict: ``reachable`` for *may reach*, ``blocked`` for *must not reach*. An inconclusive pair fails
either intent: what cannot be proven is not assumed (the message names what is unknown).
"""

from __future__ import annotations

import fnmatch
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from vnetdoctor.errors import InputError, ResourceNotFound
from vnetdoctor.model.snapshot import Snapshot

MAY, MUST_NOT = "may reach", "must not reach"
_EXPECT = {
    "may reach": MAY,
    "may-reach": MAY,
    "may_reach": MAY,
    "reach": MAY,
    "must not reach": MUST_NOT,
    "must-not-reach": MUST_NOT,
    "must_not_reach": MUST_NOT,
    "deny": MUST_NOT,
}
INTERNET_SAMPLES = ("203.0.113.10", "198.51.100.20", "8.8.8.8")
_KEYS = {"name", "from", "to", "port", "protocol", "expect"}


@dataclass(frozen=True)
class Intent:
    name: str
    sources: tuple[str, ...]
    destinations: tuple[str, ...]
    expect: str
    port: int | None = None
    protocol: str = "tcp"
    line: int | None = None


@dataclass(frozen=True)
class PairResult:
    source: str
    destination: str
    verdict: str
    ok: bool
    message: str
    raised: tuple[int, ...] = ()  # steps whose code raised (a bug) in this pair's diagnosis


@dataclass(frozen=True)
class IntentResult:
    intent: Intent
    pairs: tuple[PairResult, ...]
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.pairs) and all(p.ok for p in self.pairs)

    @property
    def message(self) -> str:
        if self.error is not None:
            return self.error
        if not self.pairs:
            return "no pair of endpoints to check (the selectors matched nothing but themselves)"
        failed = [p for p in self.pairs if not p.ok]
        if not failed:
            return f"holds for all {len(self.pairs)} pair(s)"
        head = "; ".join(p.message for p in failed[:5])
        more = f" (and {len(failed) - 5} more)" if len(failed) > 5 else ""
        return f"{len(failed)} of {len(self.pairs)} pair(s) fail: {head}{more}"


@dataclass
class IntentFile:
    path: Path
    intents: list[Intent]
    guest: dict[str, list[Path]] = field(default_factory=dict)


def _yaml_error(path: Path, exc: Exception) -> InputError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f":{mark.line + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return InputError(f"{path}{where}: invalid YAML: {problem}")


def load_intents(path: Path) -> IntentFile:
    """Read and check an intents file; any problem is one line naming the file and line."""
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML ships with the verify extra
        raise InputError("vnetdoctor verify needs PyYAML: pip install PyYAML") from None
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read intents: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None

    class Loader(yaml.SafeLoader):
        pass

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[str, Any]:
        mapping = loader.construct_mapping(node, deep=True)
        mapping["__line__"] = node.start_mark.line + 1
        return mapping  # type: ignore[return-value]

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    try:
        data = yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise _yaml_error(path, exc) from None
    except RecursionError:
        raise InputError(
            f"{path}: invalid YAML: nested too deeply (1,000 levels or more)"
        ) from None
    return parse_intents(data, path)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str) and value.strip():
        return (value.strip(),)
    if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
        return tuple(v.strip() for v in value)
    raise InputError(f"{where}: expected a name, glob, IP, CIDR or Internet (or a list of them)")


def parse_intents(data: Any, path: Path) -> IntentFile:
    """Check the parsed YAML (see the module doc for the shape)."""
    if isinstance(data, list):
        data = {"intents": data}
    if not isinstance(data, dict) or not isinstance(data.get("intents"), list):
        raise InputError(f"{path}: expected a mapping with an 'intents' list")
    guest: dict[str, list[Path]] = {}
    raw_guest = data.get("guest") or {}
    if not isinstance(raw_guest, dict):
        raise InputError(f"{path}: 'guest' must map VM names to evidence paths")
    for vm, value in raw_guest.items():
        if vm == "__line__":
            continue
        paths = value if isinstance(value, list) else [value]
        resolved = []
        for p in paths:
            if not isinstance(p, str):
                raise InputError(f"{path}: guest {vm}: expected a path")
            full = Path(p) if Path(p).is_absolute() else path.parent / p
            if not full.exists():
                raise InputError(f"{path}: guest {vm}: no such file or folder: {p}")
            resolved.append(full)
        guest[str(vm)] = resolved
    intents = []
    for n, item in enumerate(data["intents"], 1):
        line = item.get("__line__") if isinstance(item, dict) else None
        where = f"{path}:{line}" if line else f"{path}: intent {n}"
        if not isinstance(item, dict):
            raise InputError(f"{where}: each intent must be a mapping")
        unknown = sorted(set(item) - _KEYS - {"__line__"})
        if unknown:
            raise InputError(f"{where}: unknown key(s) {', '.join(map(str, unknown))}")
        for key in ("from", "to", "expect"):
            if key not in item:
                raise InputError(f"{where}: missing '{key}'")
        expect = _EXPECT.get(str(item["expect"]).strip().casefold())
        if expect is None:
            raise InputError(f"{where}: expect must be 'may reach' or 'must not reach'")
        port = item.get("port")
        if port is not None and (
            isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535
        ):
            raise InputError(f"{where}: port must be a number 0-65535")
        protocol = str(item.get("protocol", "tcp")).casefold()
        if protocol not in ("tcp", "udp", "icmp"):
            raise InputError(f"{where}: protocol must be tcp, udp or icmp")
        sources = _strings(item["from"], f"{where}: from")
        destinations = _strings(item["to"], f"{where}: to")
        default = f"{' '.join(sources)} {expect} {' '.join(destinations)}" + (
            f" on {protocol} {port}" if port is not None else ""
        )
        name = str(item.get("name") or default)
        intents.append(Intent(name, sources, destinations, expect, port, protocol, line))
    if not intents:
        raise InputError(f"{path}: the 'intents' list is empty: nothing to verify")
    return IntentFile(path, intents, guest)


def expand(snapshot: Snapshot, selector: str) -> list[str]:
    """A selector -> what ``diagnose`` takes: VM ids, or IPs."""
    text = selector.strip()
    if text.casefold() == "internet":
        return list(INTERNET_SAMPLES)
    vms = sorted(snapshot.virtual_machines.values(), key=lambda v: v.name.casefold())
    if "/" in text and not text.startswith("/subscriptions"):
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError:
            if _is_instance_pair(snapshot, text):
                return [text]  # a scale-set instance as `az vmss --instance-id` names it
            raise InputError(f"invalid CIDR {text!r}") from None
        inside = []
        for vm in vms:
            nic = snapshot.primary_nic(vm)
            if nic is not None and any(ip in net for ip in nic.private_ip_addresses):
                inside.append(str(vm.id))
        if inside:
            return inside
        hosts = [net.network_address]
        if net.num_addresses > 2:
            hosts = [net.network_address + 1, net.broadcast_address - 1]
        return [str(h) for h in dict.fromkeys(hosts)]
    if any(c in text for c in "*?["):
        pat = text.casefold()
        matched = [str(v.id) for v in vms if fnmatch.fnmatchcase(v.name.casefold(), pat)]
        if not matched:
            raise InputError(f"no VM matches {text!r}")
        return matched
    return [text]


def _is_instance_pair(snapshot: Snapshot, text: str) -> bool:
    """``vmss/3``: a selector with a slash that names a scale-set instance, not a CIDR."""
    try:
        snapshot.virtual_machines.find(text)
    except ResourceNotFound:
        return False
    return True


def _label(snapshot: Snapshot, endpoint: str) -> str:
    if endpoint.startswith("/subscriptions"):
        return endpoint.rsplit("/", 1)[-1]
    return endpoint


def check_intents(
    snapshot: Snapshot,
    intents: Sequence[Intent],
    guest: Mapping[str, Any] | None = None,
) -> list[IntentResult]:
    """Check every intent; a problem with one intent (an unknown VM) fails that intent only."""
    import time

    from vnetdoctor.api import diagnose
    from vnetdoctor.engine.fabric import Fabric

    fabric = Fabric(snapshot)  # one for every intent: NSGs compiled and routes built once
    results = []
    for intent in intents:
        t0 = time.perf_counter()
        pairs: list[PairResult] = []
        try:
            srcs = [s for sel in intent.sources for s in expand(snapshot, sel)]
            dsts = [d for sel in intent.destinations for d in expand(snapshot, sel)]
            for s in dict.fromkeys(srcs):
                for d in dict.fromkeys(dsts):
                    if s.casefold() == d.casefold():
                        continue
                    result = diagnose(snapshot, s, d, intent.port, intent.protocol, guest=guest,
                                      fabric=fabric)
                    judged = _judge(intent, _label(snapshot, s), _label(snapshot, d), result)
                    if result.errors:
                        judged = replace(judged, raised=tuple(e.number for e in result.errors))
                    pairs.append(judged)
        except InputError as exc:
            results.append(IntentResult(intent, tuple(pairs), str(exc), time.perf_counter() - t0))
            continue
        results.append(IntentResult(intent, tuple(pairs), None, time.perf_counter() - t0))
    return results


def _judge(intent: Intent, src: str, dst: str, result: Any) -> PairResult:
    verdict = str(result.verdict.value)
    arrow = f"{src} -> {dst}"
    if verdict == "blocked":
        why = "; ".join(f"{f.code}: {f.message}" for f in result.blockers[:3])
        if intent.expect == MAY:
            return PairResult(src, dst, verdict, False, f"{arrow} is blocked ({why})")
        return PairResult(src, dst, verdict, True, f"{arrow} is blocked ({why})")
    if verdict == "reachable":
        if intent.expect == MAY:
            return PairResult(src, dst, verdict, True, f"{arrow} is reachable")
        return PairResult(src, dst, verdict, False, f"{arrow} is reachable, but must not be")
    unknown = sorted(
        {f.code for s in result.steps for f in s.findings if str(f.status) == "unknown"}
    )
    what = ", ".join(unknown) or "a step could not be checked"
    if intent.expect == MAY:
        msg = (
            f"{arrow} is inconclusive: nothing in the network blocks it, but reachability "
            f"cannot be proven ({what}); give guest evidence to prove it"
        )
    else:
        msg = (
            f"{arrow} is inconclusive: the network does not block it and the rest cannot be "
            f"checked ({what}), so it is not proven blocked"
        )
    return PairResult(src, dst, verdict, False, msg)
