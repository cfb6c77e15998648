"""Windows artefacts other than the firewall and ``ipconfig``/``netstat``: the JSON that the
Windows code path of ``vnetdoctor probe`` collects through PowerShell (schema
``vnetdoctor.windows-probe/1``), ``Test-NetConnection`` output and ``route print``.

The probe JSON holds one section per cmdlet, each ``{"data": ..., "error": "..."}``, so a cmdlet
that fails (no permission, module missing) loses only its own section and says why:

``computer`` (name, OS, elevation), ``adapters`` (``Get-NetAdapter -IncludeHidden``), ``pnp``
(``Get-PnpDevice -Class Net``: ``Present: false`` is a ghost NIC), ``ip_addresses``
(``Get-NetIPAddress``), ``routes`` (``Get-NetRoute`` default routes), ``dns``
(``Get-DnsClientServerAddress``), ``tcp_listeners`` (``Get-NetTCPConnection -State Listen``),
``udp_endpoints`` (``Get-NetUDPEndpoint``), ``firewall_profiles`` and ``firewall_rules``
(``-PolicyStore ActiveStore``, rules joined with their port/address/application/interface
filters by ``InstanceID``), ``connection_profiles`` (``Get-NetConnectionProfile``).
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any, Final, NamedTuple

from vnetdoctor.guest._text import json_pointer_lines, numbered
from vnetdoctor.guest.windows_firewall import category_of, profile_from_object, rule_from_object
from vnetdoctor.model.evidence import (
    AdapterStatus,
    ConnectTest,
    Gap,
    GuestAdapter,
    GuestAddress,
    GuestRoute,
    ListenerTable,
    ListeningSocket,
    SourceRef,
    WindowsFirewall,
)
from vnetdoctor.model.net import IPAddress, Protocol

__all__ = [
    "WINDOWS_PROBE_SCHEMA",
    "WindowsProbe",
    "looks_like_get_netadapter",
    "looks_like_route_print",
    "looks_like_test_netconnection",
    "parse_get_netadapter",
    "parse_route_print",
    "parse_test_netconnection",
    "parse_windows_probe",
]

WINDOWS_PROBE_SCHEMA: Final = "vnetdoctor.windows-probe/1"
_STATUS: Final = {s.value.casefold(): s for s in AdapterStatus}
_ADAPTER_STATUS_NUMBERS: Final = {
    1: AdapterStatus.UP,
    2: AdapterStatus.DOWN,
    7: AdapterStatus.NOT_PRESENT,
}


class WindowsProbe(NamedTuple):
    hostname: str | None
    os_version: str | None
    privileged: bool | None
    adapters: tuple[GuestAdapter, ...] | None
    adapters_include_hidden: bool
    listeners: ListenerTable | None
    firewall: WindowsFirewall | None
    routes: tuple[GuestRoute, ...] | None
    dns_servers: tuple[IPAddress, ...] | None
    gaps: tuple[Gap, ...]


def _section(document: dict[str, Any], name: str, gaps: list[Gap]) -> Any:
    sections = document.get("sections")
    section = sections.get(name) if isinstance(sections, dict) else None
    if not isinstance(section, dict):
        gaps.append(Gap(what=f"windows:{name}", reason="not in the probe output"))
        return None
    if section.get("error"):
        gaps.append(Gap(what=f"windows:{name}", reason=str(section["error"])))
        return None
    data = section.get("data")
    if data is None:
        return []
    return data if isinstance(data, list) else [data]


def _ip(value: Any) -> IPAddress | None:
    try:
        return ipaddress.ip_address(str(value).split("%")[0].strip())
    except ValueError:
        return None


class _ProbeDocument:
    """The probe's JSON, where each of its records sits (file line and JSON pointer), and the
    gaps its sections report, in the order they are read."""

    def __init__(self, document: dict[str, Any], text: str, source: SourceRef) -> None:
        self.document = document
        self.lines = json_pointer_lines(text, 4)
        self.source = source
        self.gaps: list[Gap] = []

    def section(self, name: str) -> Any:
        return _section(self.document, name, self.gaps)

    def ref(self, section: str, index: int) -> SourceRef:
        pointer = f"/sections/{section}/data/{index}"
        line = self.lines.get(pointer) or self.lines.get(f"/sections/{section}/data")
        return self.source.at(line, pointer)


def parse_windows_probe(text: str, source: SourceRef) -> WindowsProbe:
    text = text.lstrip("\ufeff")
    try:
        document = json.loads(text)
    except RecursionError:
        raise source.error("not valid JSON (nested too deeply: 1,000 levels or more)", 1) from None
    except json.JSONDecodeError as exc:
        raise source.error(
            f"not valid JSON ({exc.msg}); the output looks cut off", exc.lineno
        ) from None
    if not isinstance(document, dict) or document.get("schema") != WINDOWS_PROBE_SCHEMA:
        raise source.error(f"not {WINDOWS_PROBE_SCHEMA} output", 1)
    probe = _ProbeDocument(document, text, source)
    computer = (probe.section("computer") or [{}])[0]
    hostname = computer.get("ComputerName") if isinstance(computer, dict) else None
    os_version = computer.get("OsCaption") if isinstance(computer, dict) else None
    privileged = computer.get("IsAdmin") if isinstance(computer, dict) else None
    by_alias = _probe_addresses(probe)
    routes, gateways = _probe_routes(probe)
    dns = _probe_dns(probe)
    adapters = _probe_adapters(probe, by_alias, gateways, dns or {})
    listeners = _probe_listeners(probe)
    firewall = _probe_firewall(probe)
    return WindowsProbe(
        hostname=hostname if isinstance(hostname, str) else None,
        os_version=os_version if isinstance(os_version, str) else None,
        privileged=privileged if isinstance(privileged, bool) else None,
        adapters=tuple(adapters) if adapters is not None else None,
        adapters_include_hidden=adapters is not None,
        listeners=listeners,
        firewall=firewall,
        routes=tuple(routes) if routes is not None else None,
        dns_servers=tuple(s for servers in dns.values() for s in servers)
        if dns is not None
        else None,
        gaps=tuple(probe.gaps),
    )


def _probe_addresses(probe: _ProbeDocument) -> dict[str, list[GuestAddress]]:
    """Addresses by interface alias (``Get-NetIPAddress``)."""
    by_alias: dict[str, list[GuestAddress]] = {}
    for position, item in enumerate(probe.section("ip_addresses") or ()):
        ip = _ip(item.get("IPAddress"))
        if ip is None:
            continue
        origin = str(item.get("PrefixOrigin") or "").casefold()
        by_alias.setdefault(str(item.get("InterfaceAlias")), []).append(
            GuestAddress(
                address=ip,
                prefix_length=item.get("PrefixLength")
                if isinstance(item.get("PrefixLength"), int)
                else None,
                origin={"dhcp": "dhcp", "manual": "static", "wellknown": "link"}.get(
                    origin, origin or None
                ),
                state=str(item.get("AddressState"))
                if item.get("AddressState") is not None
                else None,
                scope="link" if ip.is_link_local else "host" if ip.is_loopback else "global",
                source=probe.ref("ip_addresses", position),
            )
        )
    return by_alias


def _probe_routes(
    probe: _ProbeDocument,
) -> tuple[list[GuestRoute] | None, dict[str, list[IPAddress]]]:
    """The routes (``Get-NetRoute``; ``None`` when the section failed) and each interface's
    default gateways."""
    routes_data = probe.section("routes")
    routes: list[GuestRoute] = []
    gateways: dict[str, list[IPAddress]] = {}
    for index, item in enumerate(routes_data or ()):
        try:
            destination = ipaddress.ip_network(str(item.get("DestinationPrefix")), strict=False)
        except ValueError:
            continue
        hop = _ip(item.get("NextHop"))
        if hop is not None and hop.is_unspecified:
            hop = None
        alias = str(item.get("InterfaceAlias") or "") or None
        routes.append(
            GuestRoute(
                destination=destination,
                gateway=hop,
                interface=alias,
                metric=item.get("RouteMetric")
                if isinstance(item.get("RouteMetric"), int)
                else None,
                source=probe.ref("routes", index),
            )
        )
        if hop is not None and alias and destination.prefixlen == 0:
            gateways.setdefault(alias, []).append(hop)
    return (routes if routes_data is not None else None), gateways


def _probe_dns(probe: _ProbeDocument) -> dict[str, list[IPAddress]] | None:
    """DNS servers by interface alias (``Get-DnsClientServerAddress``), ``None`` when the
    section failed."""
    dns_data = probe.section("dns")
    dns: dict[str, list[IPAddress]] = {}
    for item in dns_data or ():
        servers = item.get("ServerAddresses") or []
        found = [_ip(s) for s in (servers if isinstance(servers, list) else [servers])]
        dns.setdefault(str(item.get("InterfaceAlias")), []).extend(s for s in found if s)
    return dns if dns_data is not None else None


def _probe_adapters(
    probe: _ProbeDocument,
    by_alias: dict[str, list[GuestAddress]],
    gateways: dict[str, list[IPAddress]],
    dns: dict[str, list[IPAddress]],
) -> list[GuestAdapter] | None:
    """The adapters (``Get-NetAdapter -IncludeHidden``) with their addresses, gateways and DNS
    servers, then the ghost NICs that only ``Get-PnpDevice`` shows, then the loopback."""
    adapter_data = probe.section("adapters")
    if adapter_data is None:
        return None
    adapters: list[GuestAdapter] = []
    for index, item in enumerate(adapter_data):
        name = str(item.get("Name") or item.get("InterfaceAlias") or "?")
        status = _adapter_status(item.get("Status"))
        adapters.append(
            GuestAdapter(
                name=name,
                description=item.get("InterfaceDescription"),
                mac=item.get("MacAddress"),
                status=status,
                hidden=bool(item.get("Hidden")),
                present=status is not AdapterStatus.NOT_PRESENT,
                is_loopback="loopback" in str(item.get("InterfaceDescription", "")).casefold(),
                addresses=tuple(by_alias.get(name, ())),
                gateways=tuple(gateways.get(name, ())),
                dns_servers=tuple(dns.get(name, ())),
                source=probe.ref("adapters", index),
            )
        )
    known = {a.description for a in adapters if a.description}
    for index, item in enumerate(probe.section("pnp") or ()):
        if item.get("Present") is False and item.get("FriendlyName") not in known:
            adapters.append(
                GuestAdapter(
                    name=str(item.get("FriendlyName") or item.get("InstanceId") or "?"),
                    description=item.get("FriendlyName"),
                    status=AdapterStatus.NOT_PRESENT,
                    hidden=True,
                    present=False,
                    source=probe.ref("pnp", index),
                )
            )
    if "Loopback Pseudo-Interface 1" in by_alias and not any(a.is_loopback for a in adapters):
        adapters.append(
            GuestAdapter(
                name="Loopback Pseudo-Interface 1",
                status=AdapterStatus.UP,
                is_loopback=True,
                addresses=tuple(by_alias["Loopback Pseudo-Interface 1"]),
            )
        )
    return adapters


def _probe_listeners(probe: _ProbeDocument) -> ListenerTable | None:
    """TCP listeners and UDP endpoints; ``None`` without the TCP section."""
    tcp = probe.section("tcp_listeners")
    udp = probe.section("udp_endpoints")
    if tcp is None:
        return None
    sockets = [
        _socket(Protocol.TCP, item, probe.ref("tcp_listeners", i)) for i, item in enumerate(tcp)
    ]
    sockets += [
        _socket(Protocol.UDP, item, probe.ref("udp_endpoints", i))
        for i, item in enumerate(udp or ())
    ]
    return ListenerTable(sockets=tuple(sockets), complete=True, source=probe.source)


def _probe_firewall(probe: _ProbeDocument) -> WindowsFirewall | None:
    """Profiles, rules and the interfaces' network categories; ``None`` with neither profiles
    nor rules."""
    fw_profiles = probe.section("firewall_profiles")
    fw_rules = probe.section("firewall_rules")
    categories = probe.section("connection_profiles")
    if fw_profiles is None and fw_rules is None:
        return None
    return WindowsFirewall(
        profiles=tuple(
            profile_from_object(item, probe.ref("firewall_profiles", i))
            for i, item in enumerate(fw_profiles or ())
        ),
        rules=tuple(
            rule_from_object(item, probe.ref("firewall_rules", i))
            for i, item in enumerate(fw_rules or ())
        ),
        rules_collected=fw_rules is not None,
        interface_categories=tuple(
            (str(item.get("InterfaceAlias")), category)
            for item in categories or ()
            if (category := category_of(item.get("NetworkCategory"))) is not None
        ),
        source=probe.source,
    )


def _adapter_status(value: Any) -> AdapterStatus:
    if isinstance(value, int) and not isinstance(value, bool):
        return _ADAPTER_STATUS_NUMBERS.get(value, AdapterStatus.UNKNOWN)
    return _STATUS.get(str(value or "").casefold(), AdapterStatus.UNKNOWN)


def _socket(protocol: Protocol, item: dict[str, Any], ref: SourceRef) -> ListeningSocket:
    address_text = str(item.get("LocalAddress", ""))
    port = item.get("LocalPort")
    pid = item.get("OwningProcess")
    address = _ip(address_text)
    return ListeningSocket(
        protocol=protocol,
        address=address,
        address_text=address_text,
        port=port if isinstance(port, int) else None,
        port_text=str(port),
        dual_stack=False if address is not None and address.version == 6 else None,
        state="Listen" if protocol is Protocol.TCP else "Bound",
        process=item.get("ProcessName") if isinstance(item.get("ProcessName"), str) else None,
        pid=pid if isinstance(pid, int) else None,
        source=ref,
    )


# ---------------------------------------------------------------------------------------------
# Test-NetConnection
# ---------------------------------------------------------------------------------------------
_TNC_LINE = re.compile(r"^(\w[\w ()]*?)\s*:\s?(.*)$")


def looks_like_test_netconnection(text: str) -> bool:
    keys = {m.group(1).strip() for _, line in numbered(text) if (m := _TNC_LINE.match(line))}
    return "ComputerName" in keys and ("RemoteAddress" in keys or "TcpTestSucceeded" in keys)


def parse_test_netconnection(text: str, source: SourceRef) -> tuple[ConnectTest, ...]:
    """TCP tests (``-Port``) become :class:`ConnectTest`; ping-only tests are not TCP tests and
    are left out."""
    results: list[ConnectTest] = []
    current: dict[str, str] = {}
    start = 0

    def close() -> None:
        if not current:
            return
        if "TcpTestSucceeded" not in current:
            return
        port_text = current.get("RemotePort", "")
        if not port_text.isdigit():
            raise source.error("TCP test without a RemotePort", start)
        verdict = current["TcpTestSucceeded"].casefold()
        results.append(
            ConnectTest(
                target=current.get("ComputerName", current.get("RemoteAddress", "?")),
                address=current.get("RemoteAddress", ""),
                port=int(port_text),
                succeeded=True if verdict == "true" else False if verdict == "false" else None,
                source_address=current.get("SourceAddress"),
                source=source.at(start),
            )
        )

    key: str | None = None
    for number, line in numbered(text):
        if not line.strip():
            continue
        match = _TNC_LINE.match(line)
        if match and not line[0].isspace():
            key, value = match.group(1).strip(), match.group(2).strip()
            if key == "ComputerName":
                close()
                current, start = {}, number
            current[key] = value
        elif line[0].isspace() and key is not None:
            continue  # continuation of a multi-line value (NameResolutionResults)
        else:
            raise source.error(f"malformed Test-NetConnection line {line.strip()[:60]!r}", number)
    close()
    return tuple(results)


# ---------------------------------------------------------------------------------------------
# route print
# ---------------------------------------------------------------------------------------------
def looks_like_route_print(text: str) -> bool:
    heads = [line.strip() for _, line in numbered(text) if line.strip()][:3]
    return any(h in ("Interface List", "IPv4 Route Table", "IPv6 Route Table") for h in heads)


def parse_route_print(text: str, source: SourceRef) -> tuple[GuestRoute, ...]:
    routes: list[GuestRoute] = []
    table: str | None = None
    active = False
    pending: tuple[int, list[str]] | None = None
    for number, line in numbered(text):
        stripped = line.strip()
        if stripped in ("IPv4 Route Table", "IPv6 Route Table"):
            table, active, pending = stripped[:4], False, None
            continue
        if stripped == "Active Routes:":
            active = True
            continue
        if stripped.startswith("="):
            active = False  # the end of a table (persistent routes are not active routes)
            continue
        if not active or not stripped or stripped.startswith(("Network Destination", "If Metric")):
            continue
        tokens = stripped.split()
        if table == "IPv4":
            if len(tokens) != 5:
                raise source.error(f"malformed IPv4 route {stripped[:60]!r}", number)
            try:
                network = ipaddress.ip_network(f"{tokens[0]}/{tokens[1]}", strict=False)
            except ValueError:
                raise source.error(f"bad route {stripped[:60]!r}", number) from None
            routes.append(
                GuestRoute(
                    destination=network,
                    gateway=None if tokens[2] == "On-link" else _ip(tokens[2]),
                    interface=tokens[3],
                    metric=int(tokens[4]) if tokens[4].isdigit() else None,
                    source=source.at(number),
                )
            )
        elif table == "IPv6":
            if pending is not None and len(tokens) == 1:
                tokens = [*pending[1], tokens[0]]
                row = pending[0]
                pending = None
            elif len(tokens) == 3:
                pending = (number, tokens)
                continue
            else:
                row = number
            if len(tokens) != 4:
                raise source.error(f"malformed IPv6 route {stripped[:60]!r}", row)
            try:
                network = ipaddress.ip_network(tokens[2], strict=False)
            except ValueError:
                raise source.error(f"bad route {stripped[:60]!r}", row) from None
            routes.append(
                GuestRoute(
                    destination=network,
                    gateway=None if tokens[3] == "On-link" else _ip(tokens[3]),
                    interface=tokens[0],
                    metric=int(tokens[1]) if tokens[1].isdigit() else None,
                    source=source.at(row),
                )
            )
    if pending is not None:
        raise source.error(
            "IPv6 route without its gateway line (the output looks cut off)", pending[0]
        )
    return tuple(routes)


# ---------------------------------------------------------------------------------------------
# Get-NetAdapter (Format-Table, the default view)
# ---------------------------------------------------------------------------------------------
_TABLE_HEADER = re.compile(r"^Name\s+InterfaceDescription\s+ifIndex\s+Status\b")
# Hidden by default: when these show, the table was taken with -IncludeHidden.
_HIDDEN_HINTS: Final = ("wan miniport", "kernel debug", "teredo", "6to4", "ip-https")


def looks_like_get_netadapter(text: str) -> bool:
    return any(_TABLE_HEADER.match(line) for _, line in numbered(text))


def parse_get_netadapter(text: str, source: SourceRef) -> tuple[tuple[GuestAdapter, ...], bool]:
    """The adapters of a ``Get-NetAdapter [-IncludeHidden]`` table, and whether the table
    includes hidden adapters (it shows a ``Not Present`` adapter or one that is hidden by
    default, such as the WAN Miniports)."""
    lines = list(numbered(text))
    header_at = next((i for i, (_, line) in enumerate(lines) if _TABLE_HEADER.match(line)), None)
    if header_at is None or header_at + 1 >= len(lines):
        raise source.error("no Get-NetAdapter table header", 1)
    header = lines[header_at][1]
    dashes = lines[header_at + 1][1]
    if not set(dashes.strip()) <= {"-", " "}:
        raise source.error("the Get-NetAdapter header is not followed by dashes", header_at + 2)
    starts = [m.start() for m in re.finditer(r"-+", dashes)]
    names = [header[s:e].strip() for s, e in zip(starts, [*starts[1:], None], strict=True)]
    adapters: list[GuestAdapter] = []
    hidden_seen = False
    for number, line in lines[header_at + 2 :]:
        if not line.strip():
            continue
        if len(line) <= starts[min(3, len(starts) - 1)]:
            raise source.error(
                f"short Get-NetAdapter row (cut off?): {line.strip()[:60]!r}", number
            )
        cells = {
            name: line[s:e].strip() if e is not None else line[s:].strip()
            for name, s, e in zip(names, starts, [*starts[1:], None], strict=True)
        }
        status = _STATUS.get(cells.get("Status", "").casefold(), AdapterStatus.UNKNOWN)
        if status is AdapterStatus.UNKNOWN and cells.get("Status"):
            raise source.error(f"unknown adapter status {cells['Status']!r}", number)
        description = cells.get("InterfaceDescription") or None
        if status is AdapterStatus.NOT_PRESENT or any(
            hint in (description or "").casefold() for hint in _HIDDEN_HINTS
        ):
            hidden_seen = True
        adapters.append(
            GuestAdapter(
                name=cells.get("Name", "?"),
                description=description,
                mac=cells.get("MacAddress") or None,
                status=status,
                present=status is not AdapterStatus.NOT_PRESENT,
                hidden=status is AdapterStatus.NOT_PRESENT,
                source=source.at(number),
            )
        )
    if not adapters:
        raise source.error("no adapters in this Get-NetAdapter table", header_at + 1)
    return tuple(adapters), hidden_seen
