"""Guest evidence from a ``vnetdoctor probe`` file, one pasted artefact, or a folder of them.

::

    from vnetdoctor.guest.load import load_guest_evidence
    evidence = load_guest_evidence("vm-db-01.probe.json")     # or "pasted/" or "netstat.txt"

Each file's kind is detected from its content (:func:`vnetdoctor.guest.detect.detect_kind`), so
``out.txt`` holding ``iptables-save`` output is read as such. In a folder, a file that is not a
recognised artefact (a README, a screenshot) is skipped and listed in ``gaps``; given on its own
it is an error. A malformed or cut-off artefact is always an error naming the file and line:
evidence that was misread is worse than none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Final

import msgspec

from vnetdoctor.errors import EvidenceParseError
from vnetdoctor.guest import ipconfig, iproute, iptables, netstat, nftables, ss, windows
from vnetdoctor.guest import windows_firewall as winfw
from vnetdoctor.guest.detect import decode_text, detect_kind
from vnetdoctor.model.evidence import (
    AdapterStatus,
    ArtefactKind,
    ConnectTest,
    Gap,
    GuestAdapter,
    GuestEvidence,
    GuestRoute,
    IptablesTable,
    ListenerTable,
    NftRuleset,
    OsFamily,
    ParsedArtefact,
    ProbeFile,
    SourceRef,
    WindowsFirewall,
    WindowsFirewallProfile,
    WindowsFirewallRule,
    decode_probe,
)
from vnetdoctor.model.net import IPAddress

__all__ = ["evidence_from_probe", "evidence_from_texts", "load_guest_evidence"]

_MAX_FILE: Final = 64 * 1024 * 1024
_WINDOWS_KINDS: Final = frozenset(
    {
        ArtefactKind.NETSTAT_WINDOWS,
        ArtefactKind.IPCONFIG,
        ArtefactKind.ROUTE_PRINT,
        ArtefactKind.GET_NETADAPTER,
        ArtefactKind.WINDOWS_PROBE,
        ArtefactKind.WINDOWS_FIREWALL_JSON,
        ArtefactKind.WINDOWS_FIREWALL_LIST,
        ArtefactKind.NETSH_FIREWALL,
        ArtefactKind.TEST_NETCONNECTION,
    }
)
_LINUX_KINDS: Final = frozenset(
    {
        ArtefactKind.SS,
        ArtefactKind.NETSTAT_LINUX,
        ArtefactKind.IPTABLES_SAVE,
        ArtefactKind.IP6TABLES_SAVE,
        ArtefactKind.IPTABLES_LEGACY_SAVE,
        ArtefactKind.IP6TABLES_LEGACY_SAVE,
        ArtefactKind.NFT_JSON,
        ArtefactKind.NFT_TEXT,
        ArtefactKind.IP_ADDR_JSON,
        ArtefactKind.IP_ADDR,
        ArtefactKind.IP_ROUTE_JSON,
        ArtefactKind.IP_ROUTE,
        ArtefactKind.RESOLV_CONF,
        ArtefactKind.UFW_STATUS,
        ArtefactKind.FIREWALLD,
        ArtefactKind.OS_RELEASE,
        ArtefactKind.SYSCTL,
    }
)
# iptables-save prints nothing when no table is loaded.
_EMPTY_MEANS_NO_TABLES: Final = {
    ArtefactKind.IPTABLES_SAVE: 4,
    ArtefactKind.IP6TABLES_SAVE: 6,
    ArtefactKind.IPTABLES_LEGACY_SAVE: 4,
    ArtefactKind.IP6TABLES_LEGACY_SAVE: 6,
}
_LEGACY: Final = {ArtefactKind.IPTABLES_LEGACY_SAVE: 4, ArtefactKind.IP6TABLES_LEGACY_SAVE: 6}
# Higher wins when several artefacts describe the adapters.
_ADAPTER_RANK: Final = {
    ArtefactKind.WINDOWS_PROBE: 4,
    ArtefactKind.IP_ADDR_JSON: 3,
    ArtefactKind.IP_ADDR: 2,
    ArtefactKind.IPCONFIG: 1,
}


def load_guest_evidence(path: str | Path | Sequence[str | Path]) -> GuestEvidence:
    """Read guest evidence for one VM: a probe file, a pasted artefact, a folder of artefacts,
    or a list of any of these (merged; a later artefact adds to, never silently replaces, an
    earlier one)."""
    paths = [Path(path)] if isinstance(path, str | Path) else [Path(p) for p in path]
    if not paths:
        raise EvidenceParseError("no guest evidence given")
    builder = _Builder(str(paths[0]) if len(paths) == 1 else ", ".join(map(str, paths)))
    found = 0
    for target in paths:
        if target.is_dir():
            files = sorted(
                p
                for p in target.rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(target).parts)
            )
            before = found
            for file in files:
                text = _read(file)
                kind = detect_kind(text, file.name)
                if kind is ArtefactKind.UNKNOWN:
                    builder.gaps.append(
                        Gap(what=str(file), reason="not a recognised guest artefact; skipped")
                    )
                    continue
                found += 1
                _add(builder, file, text, kind)
            if found == before:
                raise EvidenceParseError(
                    "no recognised guest artefact in this folder", path=str(target)
                )
            continue
        if not target.exists():
            raise EvidenceParseError("no such file or folder", path=str(target))
        text = _read(target)
        kind = detect_kind(text, target.name)
        if kind is ArtefactKind.UNKNOWN:
            raise EvidenceParseError(
                "not a vnetdoctor probe file nor a recognised artefact (ss, netstat, "
                "iptables-save, nft -j list ruleset, ipconfig /all, a Windows firewall export...)",
                path=str(target),
                line=1,
            )
        found += 1
        _add(builder, target, text, kind)
    return builder.build()


def _add(builder: _Builder, path: Path, text: str, kind: ArtefactKind) -> None:
    if kind is ArtefactKind.PROBE:
        _add_probe(builder, decode_probe(text, path=str(path)), str(path))
    else:
        builder.add(kind, text, SourceRef(file=str(path)))


def _read(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > _MAX_FILE:
            raise EvidenceParseError(f"file is too large ({size} bytes)", path=str(path))
        data = path.read_bytes()
    except OSError as exc:
        raise EvidenceParseError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    return decode_text(data)


# ---------------------------------------------------------------------------------------------
# Building the evidence
# ---------------------------------------------------------------------------------------------
class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source
        self.hostname: str | None = None
        self.os_family = OsFamily.UNKNOWN
        self.os_version: str | None = None
        self.privileged: bool | None = None
        self.collected_at: str | None = None
        self.adapters: tuple[GuestAdapter, ...] | None = None
        self.adapter_rank = 0
        self.include_hidden = False
        self.netadapter_rows: list[GuestAdapter] = []
        self.listeners: list[ListenerTable] = []
        self.iptables: list[IptablesTable] = []
        self.legacy_hidden = False
        self.iptables_empty: set[int] = set()
        self.legacy_families: set[int] = set()
        self.nft: NftRuleset | None = None
        self.nft_collected = False
        self.nft_absent = False
        self.fw_profiles: list[WindowsFirewallProfile] = []
        self.fw_rules: list[WindowsFirewallRule] = []
        self.fw_categories: list[tuple[str, str]] = []
        self.fw_filters_known = True
        self.fw_source: SourceRef | None = None
        self.routes: list[GuestRoute] | None = None
        self.ipv4_forwarding: bool | None = None
        self.ipv6_forwarding: bool | None = None
        self.forwarding_source: SourceRef | None = None
        self.dns: list[IPAddress] | None = None
        self.connects: list[ConnectTest] = []
        self.gaps: list[Gap] = []
        self.artefacts: list[ParsedArtefact] = []
        self.unreadable_firewalls: list[str] = []
        self.ports: tuple[int, ...] = ()

    def adapters_from(self, kind: ArtefactKind, adapters: tuple[GuestAdapter, ...]) -> None:
        rank = _ADAPTER_RANK.get(kind, 0)
        if rank > self.adapter_rank:
            self.adapters, self.adapter_rank = adapters, rank

    def add(self, kind: ArtefactKind, text: str, ref: SourceRef) -> None:
        items = self._parse(kind, text, ref)
        self.artefacts.append(ParsedArtefact(kind=kind, source=ref, items=items))
        if self.os_family is OsFamily.UNKNOWN:
            if kind in _WINDOWS_KINDS:
                self.os_family = OsFamily.WINDOWS
            elif kind in _LINUX_KINDS:
                self.os_family = OsFamily.LINUX

    def _parse(self, kind: ArtefactKind, text: str, ref: SourceRef) -> int:
        """Read one artefact into what is being built; the number of items it held."""
        reader = _READERS.get(kind)
        if reader is None:
            raise ref.error(f"no reader for artefact kind {kind.value!r}")
        return reader(self, kind, text, ref)

    def _listeners(self, kind: ArtefactKind, text: str, ref: SourceRef) -> int:
        if kind is ArtefactKind.SS:
            table = ss.parse_ss(text, ref)
        elif kind is ArtefactKind.NETSTAT_LINUX:
            table = netstat.parse_linux_netstat(text, ref)
        else:
            table = netstat.parse_windows_netstat(text, ref)
        self.listeners.append(table)
        return len(table.sockets)

    def _iptables(self, kind: ArtefactKind, text: str, ref: SourceRef) -> int:
        family = (
            6 if kind in (ArtefactKind.IP6TABLES_SAVE, ArtefactKind.IP6TABLES_LEGACY_SAVE) else None
        )
        dump = iptables.parse_iptables_save(text, ref, family=family)
        if kind in _LEGACY:
            self.legacy_families.add(_LEGACY[kind])
            # iptables-legacy-save 1.8 prints no backend marker: the command says it.
            dump = dump._replace(
                tables=tuple(msgspec.structs.replace(t, backend="legacy") for t in dump.tables)
            )
        if not dump.tables:
            self.iptables_empty.add(family or 4)
        known = {(t.family, t.name, t.backend) for t in self.iptables}
        self.iptables.extend(t for t in dump.tables if (t.family, t.name, t.backend) not in known)
        self.legacy_hidden = self.legacy_hidden or dump.legacy_tables_hidden
        return sum(len(t.rules) for t in dump.tables)

    def _nft_json(self, kind: ArtefactKind, text: str, ref: SourceRef) -> int:
        ruleset = nftables.parse_nft_json(text, ref)
        if self.nft is None:
            self.nft = ruleset
        else:
            self.gaps.append(
                Gap(what=str(ref), reason="a second nft ruleset; only the first is used")
            )
        self.nft_collected = True
        return len(ruleset.rules)

    def _nft_text(self, kind: ArtefactKind, text: str, ref: SourceRef) -> int:
        self.unreadable_firewalls.append(f"{ref} (nft list ruleset as text)")
        self.gaps.append(
            Gap(
                what=str(ref),
                reason="nft text output is not evaluated: give `nft -j list ruleset`",
            )
        )
        return 0

    def _ip_addr(self, kind: ArtefactKind, text: str, ref: SourceRef) -> int:
        adapters = (
            iproute.parse_ip_addr_json(text, ref)
            if kind is ArtefactKind.IP_ADDR_JSON
            else iproute.parse_ip_addr(text, ref)
        )
        self.adapters_from(kind, adapters)
        return len(adapters)

    def _ip_route(self, kind: ArtefactKind, text: str, ref: SourceRef) -> int:
        routes = (
            iproute.parse_ip_route_json(text, ref)
            if kind is ArtefactKind.IP_ROUTE_JSON
            else iproute.parse_ip_route(text, ref)
        )
        self.routes = [*(self.routes or []), *routes]
        return len(routes)

    def _resolv_conf(self, kind: ArtefactKind, text: str, ref: SourceRef) -> int:
        servers = iproute.parse_resolv_conf(text, ref)
        self.dns = [*(self.dns or []), *servers]
        return len(servers)

    def _ipconfig(self, kind: ArtefactKind, text: str, ref: SourceRef) -> int:
        result = ipconfig.parse_ipconfig(text, ref)
        self.hostname = self.hostname or result.hostname
        self.adapters_from(kind, result.adapters)
        if self.dns is None:
            self.dns = [s for a in result.adapters for s in a.dns_servers]
        return len(result.adapters)

    def _get_netadapter(self, kind: ArtefactKind, text: str, ref: SourceRef) -> int:
        rows, hidden = windows.parse_get_netadapter(text, ref)
        self.netadapter_rows.extend(rows)
        self.include_hidden = self.include_hidden or hidden
        return len(rows)

    def _route_print(self, kind: ArtefactKind, text: str, ref: SourceRef) -> int:
        routes = windows.parse_route_print(text, ref)
        self.routes = [*(self.routes or []), *routes]
        return len(routes)

    def _test_netconnection(self, kind: ArtefactKind, text: str, ref: SourceRef) -> int:
        tests = windows.parse_test_netconnection(text, ref)
        self.connects.extend(tests)
        return len(tests)

    def _windows_firewall(self, kind: ArtefactKind, text: str, ref: SourceRef) -> int:
        export = (
            winfw.parse_firewall_json(text, ref)
            if kind is ArtefactKind.WINDOWS_FIREWALL_JSON
            else winfw.parse_firewall_list(text, ref)
            if kind is ArtefactKind.WINDOWS_FIREWALL_LIST
            else winfw.parse_netsh(text, ref)
        )
        self.fw_profiles.extend(export.profiles)
        self.fw_rules.extend(export.rules)
        if export.rules:
            self.fw_filters_known = self.fw_filters_known and export.rules_have_filters
        self.fw_source = self.fw_source or ref
        return len(export.rules) + len(export.profiles)

    def _windows_probe(self, kind: ArtefactKind, text: str, ref: SourceRef) -> int:
        probe = windows.parse_windows_probe(text, ref)
        self.hostname = self.hostname or probe.hostname
        self.os_version = self.os_version or probe.os_version
        if self.privileged is None:
            self.privileged = probe.privileged
        if probe.adapters is not None:
            self.adapters_from(kind, probe.adapters)
            self.include_hidden = True
        if probe.listeners is not None:
            self.listeners.append(probe.listeners)
        if probe.firewall is not None:
            self.fw_profiles.extend(probe.firewall.profiles)
            self.fw_rules.extend(probe.firewall.rules)
            self.fw_categories.extend(probe.firewall.interface_categories)
            self.fw_source = self.fw_source or ref
            if not probe.firewall.rules_collected:
                self.fw_filters_known = False
        if probe.routes is not None:
            self.routes = [*(self.routes or []), *probe.routes]
        if probe.dns_servers is not None:
            self.dns = [*(self.dns or []), *probe.dns_servers]
        self.gaps.extend(probe.gaps)
        return len(probe.firewall.rules) if probe.firewall else 0

    def _firewall_summary(self, kind: ArtefactKind, text: str, ref: SourceRef) -> int:
        self.gaps.append(
            Gap(
                what=str(ref),
                reason=f"{kind.value} output is a summary and is not evaluated: give "
                "`iptables-save` and `nft -j list ruleset`",
            )
        )
        return 0

    def _sysctl(self, kind: ArtefactKind, text: str, ref: SourceRef) -> int:
        found = 0
        for number, line in enumerate(text.splitlines(), start=1):
            key, sep, value = line.partition("=")
            if not sep:
                continue
            key, value = key.strip(), value.strip()
            if value not in ("0", "1"):
                raise ref.error(f"unexpected sysctl value {value!r} for {key}", number)
            if key == "net.ipv4.ip_forward":
                self.ipv4_forwarding = value == "1"
                self.forwarding_source = ref.at(number)
                found += 1
            elif key == "net.ipv6.conf.all.forwarding":
                self.ipv6_forwarding = value == "1"
                found += 1
        return found

    def _os_release(self, kind: ArtefactKind, text: str, ref: SourceRef) -> int:
        for line in text.splitlines():
            if line.startswith("PRETTY_NAME="):
                self.os_version = self.os_version or line.split("=", 1)[1].strip().strip('"')
        self.os_family = OsFamily.LINUX
        return 0

    def build(self) -> GuestEvidence:
        windows_fw = None
        if self.fw_profiles or self.fw_rules:
            windows_fw = WindowsFirewall(
                profiles=tuple(self.fw_profiles),
                rules=tuple(self.fw_rules),
                rules_collected=self.fw_filters_known,
                interface_categories=tuple(self.fw_categories),
                source=self.fw_source,
            )
        families = tuple(sorted({t.family for t in self.iptables} | self.iptables_empty))
        adapters = _overlay(self.adapters, self.netadapter_rows)
        return GuestEvidence(
            source=self.source,
            hostname=self.hostname,
            os_family=self.os_family,
            os_version=self.os_version,
            privileged=self.privileged,
            collected_at=self.collected_at,
            adapters=adapters,
            adapters_include_hidden=self.include_hidden,
            listeners=tuple(self.listeners) if self.listeners else None,
            iptables=tuple(self.iptables) if self.iptables else None,
            iptables_families=families,
            legacy_tables_hidden=self.legacy_hidden,
            legacy_families=tuple(sorted(self.legacy_families)),
            nftables=self.nft,
            nft_collected=self.nft_collected,
            nft_absent=self.nft_absent,
            firewall_unreadable=tuple(self.unreadable_firewalls),
            windows_firewall=windows_fw,
            ipv4_forwarding=self.ipv4_forwarding,
            ipv6_forwarding=self.ipv6_forwarding,
            forwarding_source=self.forwarding_source,
            routes=tuple(self.routes) if self.routes is not None else None,
            dns_servers=tuple(dict.fromkeys(self.dns)) if self.dns is not None else None,
            connects=tuple(self.connects),
            ports=self.ports,
            gaps=tuple(self.gaps),
            artefacts=tuple(self.artefacts),
        )


_Reader = Callable[[_Builder, ArtefactKind, str, SourceRef], int]
_READERS: Final[dict[ArtefactKind, _Reader]] = {
    ArtefactKind.SS: _Builder._listeners,
    ArtefactKind.NETSTAT_LINUX: _Builder._listeners,
    ArtefactKind.NETSTAT_WINDOWS: _Builder._listeners,
    ArtefactKind.IPTABLES_SAVE: _Builder._iptables,
    ArtefactKind.IP6TABLES_SAVE: _Builder._iptables,
    ArtefactKind.IPTABLES_LEGACY_SAVE: _Builder._iptables,
    ArtefactKind.IP6TABLES_LEGACY_SAVE: _Builder._iptables,
    ArtefactKind.NFT_JSON: _Builder._nft_json,
    ArtefactKind.NFT_TEXT: _Builder._nft_text,
    ArtefactKind.IP_ADDR_JSON: _Builder._ip_addr,
    ArtefactKind.IP_ADDR: _Builder._ip_addr,
    ArtefactKind.IP_ROUTE_JSON: _Builder._ip_route,
    ArtefactKind.IP_ROUTE: _Builder._ip_route,
    ArtefactKind.RESOLV_CONF: _Builder._resolv_conf,
    ArtefactKind.IPCONFIG: _Builder._ipconfig,
    ArtefactKind.GET_NETADAPTER: _Builder._get_netadapter,
    ArtefactKind.ROUTE_PRINT: _Builder._route_print,
    ArtefactKind.TEST_NETCONNECTION: _Builder._test_netconnection,
    ArtefactKind.WINDOWS_FIREWALL_JSON: _Builder._windows_firewall,
    ArtefactKind.WINDOWS_FIREWALL_LIST: _Builder._windows_firewall,
    ArtefactKind.NETSH_FIREWALL: _Builder._windows_firewall,
    ArtefactKind.WINDOWS_PROBE: _Builder._windows_probe,
    ArtefactKind.UFW_STATUS: _Builder._firewall_summary,
    ArtefactKind.FIREWALLD: _Builder._firewall_summary,
    ArtefactKind.SYSCTL: _Builder._sysctl,
    ArtefactKind.OS_RELEASE: _Builder._os_release,
}


def _overlay(
    adapters: tuple[GuestAdapter, ...] | None, rows: Sequence[GuestAdapter]
) -> tuple[GuestAdapter, ...] | None:
    """Adapters from ipconfig (addresses) completed by Get-NetAdapter rows (status, hidden and
    not-present adapters), matched by name."""
    if not rows:
        return adapters
    if adapters is None:
        return tuple(rows)
    by_name = {row.name: row for row in rows}
    merged = []
    for adapter in adapters:
        row = by_name.pop(adapter.name, None)
        if row is None:
            merged.append(adapter)
            continue
        merged.append(
            msgspec.structs.replace(
                adapter,
                description=adapter.description or row.description,
                status=row.status if row.status is not AdapterStatus.UNKNOWN else adapter.status,
                present=row.present,
                hidden=row.hidden,
            )
        )
    merged.extend(row for row in rows if row.name in by_name)
    return tuple(merged)


def evidence_from_texts(
    items: Iterable[tuple[str, str, ArtefactKind | None]],
    *,
    source: str,
    extra_gaps: Sequence[Gap] = (),
) -> GuestEvidence:
    """Evidence from ``(file name, text, kind)`` triples (``kind`` ``None``: detect it)."""
    builder = _Builder(source)
    builder.gaps.extend(extra_gaps)
    for name, text, kind in items:
        detected = kind or detect_kind(text, name)
        ref = SourceRef(file=name)
        if detected is ArtefactKind.UNKNOWN:
            raise ref.error("not a recognised guest artefact", 1)
        builder.add(detected, text, ref)
    return builder.build()


def evidence_from_probe(probe: ProbeFile, path: str) -> GuestEvidence:
    """Evidence from a decoded probe file: each capture is read by its artefact parser, and a
    capture that failed becomes a gap with the probe's reason."""
    builder = _Builder(path)
    _add_probe(builder, probe, path)
    return builder.build()


def _add_probe(builder: _Builder, probe: ProbeFile, path: str) -> None:
    builder.hostname = builder.hostname or probe.hostname
    if builder.os_family is OsFamily.UNKNOWN:
        builder.os_family = probe.os_family
    builder.os_version = builder.os_version or probe.os_version
    if builder.privileged is None:
        builder.privileged = probe.privileged
    builder.collected_at = builder.collected_at or probe.collected_at or None
    builder.ports = tuple(dict.fromkeys((*builder.ports, *probe.ports)))
    builder.gaps.extend(g for g in probe.gaps if g not in builder.gaps)
    for capture in probe.captures:
        ref = SourceRef(file=path, artefact=capture.kind)
        try:
            kind = ArtefactKind(capture.kind)
        except ValueError:
            builder.gaps.append(Gap(what=capture.kind, reason="unknown capture kind; ignored"))
            continue
        if capture.error is not None:
            gap = Gap(what=capture.kind, reason=capture.error)
            if gap not in builder.gaps:
                builder.gaps.append(gap)
            if kind is ArtefactKind.NFT_JSON and capture.error.startswith("not installed"):
                builder.nft_absent = True
            continue
        if not capture.stdout.strip() and capture.exit_code == 0:
            if kind is ArtefactKind.NFT_JSON:
                builder.nft_collected = True  # an empty ruleset prints nothing
                continue
            if kind in _EMPTY_MEANS_NO_TABLES:
                # iptables-save prints nothing when no table is loaded: collected, and empty.
                builder.iptables_empty.add(_EMPTY_MEANS_NO_TABLES[kind])
                if kind in _LEGACY:
                    builder.legacy_families.add(_LEGACY[kind])
                continue
            builder.gaps.append(Gap(what=capture.kind, reason="the command printed nothing"))
            continue
        builder.add(kind, capture.stdout, ref)
    builder.connects.extend(
        _with_source(c, SourceRef(file=path, pointer=f"/connects/{i}"))
        for i, c in enumerate(probe.connects)
    )


def _with_source(test: ConnectTest, ref: SourceRef) -> ConnectTest:
    return msgspec.structs.replace(test, source=ref)
