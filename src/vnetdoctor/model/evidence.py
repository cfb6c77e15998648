"""Guest evidence: what a VM's own operating system says about its network.

Two layers live here, both immutable and free of I/O:

- :class:`ProbeFile` is the versioned JSON file that ``vnetdoctor probe`` writes inside a VM. It
  keeps every command's *raw* output (``captures``) with the argument list, exit code, duration
  and error, plus what only Python can see (hostname, OS, TCP connect tests) and what could not be
  collected and why (``gaps``). Raw output is kept on purpose: the same parsers read a probe file
  and a pasted ``iptables-save``, and a reviewer can read the bytes the verdict rests on.
  :func:`encode_probe` / :func:`decode_probe` (de)serialise it; the schema is
  ``vnetdoctor.probe/1`` and a file of another major version is refused with a clear error.
- :class:`GuestEvidence` is the parsed view the evaluators in :mod:`vnetdoctor.engine.guest`
  read: adapters (including Windows adapters that are hidden or not present), addresses,
  listening sockets, firewall rule sets (iptables, nftables, Windows Firewall), default routes,
  DNS servers, TCP connect results and the gaps. Every parsed item carries a :class:`SourceRef`
  (file, artefact inside a probe file, line, JSON pointer), so a finding can cite the exact line.

``None`` for a collection (``adapters``, ``listeners``...) means *not collected*; an empty tuple
means *collected and empty*. The evaluators treat the first as unknown, never as "nothing there".
"""

from __future__ import annotations

import ipaddress
import json
from enum import StrEnum
from typing import Any, Final

import msgspec

from vnetdoctor.errors import EvidenceParseError
from vnetdoctor.model.net import IPAddress, IPNetwork, Protocol

__all__ = [
    "EVIDENCE_SCHEMA",
    "PROBE_SCHEMA",
    "AdapterStatus",
    "ArtefactKind",
    "Capture",
    "ConnectTest",
    "Gap",
    "GuestAdapter",
    "GuestAddress",
    "GuestEvidence",
    "GuestRoute",
    "IptablesChain",
    "IptablesRule",
    "IptablesTable",
    "ListenerTable",
    "ListeningSocket",
    "NftChain",
    "NftRule",
    "NftRuleset",
    "NftSet",
    "OsFamily",
    "ParsedArtefact",
    "ProbeFile",
    "SourceRef",
    "WindowsFirewall",
    "WindowsFirewallProfile",
    "WindowsFirewallRule",
    "decode_probe",
    "encode_probe",
    "evidence_to_json",
]

PROBE_SCHEMA: Final = "vnetdoctor.probe/1"
EVIDENCE_SCHEMA: Final = "vnetdoctor.guest-evidence/1"
_PROBE_FAMILY: Final = "vnetdoctor.probe/"


class OsFamily(StrEnum):
    """The guest OS family, spelled as ARM's ``osType`` spells it."""

    LINUX = "Linux"
    WINDOWS = "Windows"
    UNKNOWN = "Unknown"


class ArtefactKind(StrEnum):
    """What a captured or pasted file is (detected from content by ``vnetdoctor.guest.detect``)."""

    PROBE = "probe"
    SS = "ss"
    NETSTAT_LINUX = "netstat-linux"
    NETSTAT_WINDOWS = "netstat-windows"
    IPTABLES_SAVE = "iptables-save"
    IP6TABLES_SAVE = "ip6tables-save"
    IPTABLES_LEGACY_SAVE = "iptables-legacy-save"
    IP6TABLES_LEGACY_SAVE = "ip6tables-legacy-save"
    NFT_JSON = "nft-json"
    NFT_TEXT = "nft-text"
    IP_ADDR_JSON = "ip-addr-json"
    IP_ADDR = "ip-addr"
    IP_ROUTE_JSON = "ip-route-json"
    IP_ROUTE = "ip-route"
    RESOLV_CONF = "resolv-conf"
    IPCONFIG = "ipconfig-all"
    ROUTE_PRINT = "route-print"
    GET_NETADAPTER = "get-netadapter"
    WINDOWS_PROBE = "windows-probe"
    WINDOWS_FIREWALL_JSON = "windows-firewall-json"
    WINDOWS_FIREWALL_LIST = "windows-firewall-list"
    NETSH_FIREWALL = "netsh-firewall"
    TEST_NETCONNECTION = "test-netconnection"
    UFW_STATUS = "ufw-status"
    FIREWALLD = "firewall-cmd"
    OS_RELEASE = "os-release"
    SYSCTL = "sysctl"
    UNKNOWN = "unknown"


class SourceRef(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Where a parsed item came from: ``file`` (as given), the ``artefact`` inside a probe file
    (``iptables-save``), the 1-based ``line`` inside that artefact, and a JSON ``pointer`` for
    JSON artefacts. ``str()`` gives ``probe.json[iptables-save]:12``."""

    file: str
    artefact: str | None = None
    line: int | None = None
    pointer: str | None = None

    def at(self, line: int | None, pointer: str | None = None) -> SourceRef:
        return SourceRef(file=self.file, artefact=self.artefact, line=line, pointer=pointer)

    def __str__(self) -> str:
        text = self.file
        if self.artefact:
            text += f"[{self.artefact}]"
        if self.line is not None:
            text += f":{self.line}"
        if self.pointer:
            text += f"#{self.pointer}"
        return text

    def error(self, message: str, line: int | None = None) -> EvidenceParseError:
        """An :class:`EvidenceParseError` naming this file (and artefact) and ``line``."""
        path = self.file if not self.artefact else f"{self.file}[{self.artefact}]"
        return EvidenceParseError(message, path=path, line=line if line is not None else self.line)


# ---------------------------------------------------------------------------------------------
# The probe file (raw captures)
# ---------------------------------------------------------------------------------------------
class Capture(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One command run by the probe (or one file it read): its raw output and how it went.

    ``error`` is set when nothing usable came back (``"not installed"``, ``"timed out after 5
    s"``, ``"permission denied: needs root"``); ``exit_code`` is ``None`` when it never ran."""

    kind: str
    argv: tuple[str, ...] = ()
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    duration_ms: int = 0
    error: str | None = None

    @property
    def usable(self) -> bool:
        return self.error is None and bool(self.stdout.strip())


class ConnectTest(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A TCP connect test from the guest (like ``Test-NetConnection -Port`` or telnet).

    ``succeeded`` is ``True`` (handshake completed), ``False`` (refused or timed out: ``error``
    says which) or ``None`` (the test could not run)."""

    target: str
    address: str
    port: int
    succeeded: bool | None
    error: str | None = None
    duration_ms: int = 0
    source_address: str | None = None
    source: SourceRef | None = None


class Gap(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Something that could not be collected or read, and why."""

    what: str
    reason: str


class ProbeFile(msgspec.Struct, frozen=True, kw_only=True):
    """The file ``vnetdoctor probe`` writes (schema ``vnetdoctor.probe/1``)."""

    schema: str = PROBE_SCHEMA
    tool_version: str = ""
    collected_at: str = ""
    hostname: str | None = None
    os_family: OsFamily = OsFamily.UNKNOWN
    os_version: str | None = None
    privileged: bool | None = None
    ports: tuple[int, ...] = ()
    captures: tuple[Capture, ...] = ()
    connects: tuple[ConnectTest, ...] = ()
    gaps: tuple[Gap, ...] = ()
    duration_ms: int = 0


def encode_probe(probe: ProbeFile) -> bytes:
    """The probe file as indented JSON (stable key order: the struct's field order)."""
    return msgspec.json.format(msgspec.json.encode(probe), indent=2) + b"\n"


def decode_probe(data: bytes | str, *, path: str) -> ProbeFile:
    """Read a probe file; errors name ``path`` and the line (of the JSON text) at fault."""
    raw = data.encode() if isinstance(data, str) else data
    try:
        head = msgspec.json.decode(raw)
    except RecursionError:
        raise EvidenceParseError(
            "not valid JSON (nested too deeply: 1,000 levels or more)", path=path, line=1
        ) from None
    except msgspec.DecodeError as exc:
        raise EvidenceParseError(
            f"not valid JSON ({exc}); a probe file may have been cut short",
            path=path,
            line=_line_of_json_error(raw, str(exc)),
        ) from None
    if not isinstance(head, dict) or not isinstance(head.get("schema"), str):
        raise EvidenceParseError("not a vnetdoctor probe file (no 'schema')", path=path, line=1)
    schema = head["schema"]
    if not schema.startswith(_PROBE_FAMILY):
        raise EvidenceParseError(f"not a vnetdoctor probe file (schema {schema!r})", path=path)
    if schema != PROBE_SCHEMA:
        raise EvidenceParseError(
            f"probe file schema {schema!r} is not supported; this vnetdoctor reads "
            f"{PROBE_SCHEMA!r} (re-run the probe with this version)",
            path=path,
        )
    try:
        return msgspec.json.decode(raw, type=ProbeFile)
    except msgspec.ValidationError as exc:
        raise EvidenceParseError(f"malformed probe file: {exc}", path=path) from None


def _line_of_json_error(raw: bytes, message: str) -> int | None:
    # msgspec says "... at byte 123"; turn that into a 1-based line number. When it cannot
    # say (a truncated file), the standard decoder does.
    try:
        json.loads(raw)
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):
            return exc.lineno
    marker = "byte "
    where = message.rfind(marker)
    if where < 0:
        return None
    digits = ""
    for ch in message[where + len(marker) :]:
        if not ch.isdigit():
            break
        digits += ch
    if not digits:
        return None
    return raw.count(b"\n", 0, int(digits)) + 1


# ---------------------------------------------------------------------------------------------
# Adapters, addresses, routes
# ---------------------------------------------------------------------------------------------
class AdapterStatus(StrEnum):
    """Windows ``Get-NetAdapter`` status words; Linux operstates map onto them."""

    UP = "Up"
    DOWN = "Down"
    DISCONNECTED = "Disconnected"
    DISABLED = "Disabled"
    NOT_PRESENT = "Not Present"
    UNKNOWN = "Unknown"


class GuestAddress(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An IP address configured in the guest. ``origin`` is ``dhcp``/``manual``/``link``...;
    ``state`` is Windows' ``Preferred``/``Tentative``/``Duplicate``/``Deprecated`` when known."""

    address: IPAddress
    prefix_length: int | None = None
    scope: str | None = None
    origin: str | None = None
    state: str | None = None
    source: SourceRef | None = None

    @property
    def is_link_local(self) -> bool:
        return self.address.is_link_local

    @property
    def is_loopback(self) -> bool:
        return self.address.is_loopback


class GuestAdapter(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A network adapter as the guest sees it. ``hidden``/``present`` come from Windows
    (``Get-NetAdapter -IncludeHidden``, PnP ``Present``): an adapter that is not present is the
    "ghost NIC" of Microsoft's guide."""

    name: str
    description: str | None = None
    mac: str | None = None
    status: AdapterStatus = AdapterStatus.UNKNOWN
    hidden: bool = False
    present: bool | None = None
    is_loopback: bool = False
    dhcp_enabled: bool | None = None
    addresses: tuple[GuestAddress, ...] = ()
    gateways: tuple[IPAddress, ...] = ()
    dns_servers: tuple[IPAddress, ...] = ()
    source: SourceRef | None = None

    @property
    def is_ghost(self) -> bool:
        return self.present is False or self.status is AdapterStatus.NOT_PRESENT


class GuestRoute(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    destination: IPNetwork
    gateway: IPAddress | None = None
    interface: str | None = None
    metric: int | None = None
    source: SourceRef | None = None


# ---------------------------------------------------------------------------------------------
# Listening sockets
# ---------------------------------------------------------------------------------------------
class ListeningSocket(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A socket that accepts traffic: TCP in LISTEN, or a bound UDP socket.

    ``address`` is ``None`` when the output did not print an IP literal: ``*`` (any address, as
    ``ss`` prints a dual-stack socket) or a host name (``netstat -l`` without ``-n``).
    ``dual_stack`` says whether an IPv6 wildcard also accepts IPv4: ``True``/``False`` when the
    format tells, ``None`` when it does not (``netstat`` on Linux prints ``:::22`` either
    way). ``port`` is ``None`` when the output gave a service name vnetdoctor cannot map."""

    protocol: Protocol
    address: IPAddress | None
    address_text: str
    port: int | None
    port_text: str
    interface: str | None = None
    dual_stack: bool | None = None
    state: str | None = None
    process: str | None = None
    pid: int | None = None
    source: SourceRef | None = None

    @property
    def is_wildcard(self) -> bool:
        """``*``, ``0.0.0.0`` or ``::``: every local address (of the family)."""
        if self.address is None:
            return self.address_text == "*"
        return self.address.is_unspecified

    @property
    def is_loopback(self) -> bool:
        if self.address is None:
            return self.address_text.casefold() in {"localhost", "ip6-localhost"}
        if isinstance(self.address, ipaddress.IPv6Address) and self.address.ipv4_mapped:
            return self.address.ipv4_mapped.is_loopback
        return self.address.is_loopback


class ListenerTable(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The listening sockets of one artefact. ``complete`` is ``False`` when the output cannot
    show every listener (``netstat`` without ``-a`` shows connections only)."""

    sockets: tuple[ListeningSocket, ...]
    complete: bool = True
    note: str | None = None
    source: SourceRef | None = None


# ---------------------------------------------------------------------------------------------
# iptables (iptables-save / ip6tables-save), kept close to the text
# ---------------------------------------------------------------------------------------------
class IptablesRule(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One ``-A CHAIN ...`` line, tokenised. The evaluator interprets the tokens, so that an
    option it does not know makes *its* answer unknown instead of the parser guessing."""

    chain: str
    tokens: tuple[str, ...]
    text: str
    source: SourceRef | None = None


class IptablesChain(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A chain; ``policy`` is ``None`` for user-defined chains (``:NAME - [0:0]``)."""

    name: str
    policy: str | None = None
    source: SourceRef | None = None


class IptablesTable(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One ``*table ... COMMIT`` block. ``family`` is 4 or 6; ``backend`` is ``nf_tables``,
    ``legacy`` or ``None`` (not stated: iptables before 1.8 is always legacy)."""

    name: str
    family: int
    chains: tuple[IptablesChain, ...]
    rules: tuple[IptablesRule, ...]
    backend: str | None = None
    source: SourceRef | None = None

    def chain(self, name: str) -> IptablesChain | None:
        for chain in self.chains:
            if chain.name == name:
                return chain
        return None

    def rules_of(self, chain: str) -> tuple[IptablesRule, ...]:
        return tuple(rule for rule in self.rules if rule.chain == chain)


# ---------------------------------------------------------------------------------------------
# nftables (nft -j list ruleset), expressions kept as nft's own JSON
# ---------------------------------------------------------------------------------------------
class NftChain(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    family: str
    table: str
    name: str
    type: str | None = None
    hook: str | None = None
    prio: int | str | None = None
    policy: str | None = None
    source: SourceRef | None = None

    @property
    def is_base(self) -> bool:
        return self.hook is not None


class NftRule(msgspec.Struct, frozen=True, kw_only=True):
    """A rule: ``expr`` is the list of nft JSON statements, exactly as ``nft -j`` printed it."""

    family: str
    table: str
    chain: str
    handle: int | None = None
    expr: tuple[Any, ...] = ()
    comment: str | None = None
    source: SourceRef | None = None


class NftSet(msgspec.Struct, frozen=True, kw_only=True):
    """A named set or map. ``elements`` is ``None`` when the dump carries none (an empty or a
    dynamic set: then membership is known to be false, or unknown when ``dynamic``)."""

    family: str
    table: str
    name: str
    type: Any = None
    map: Any = None
    flags: tuple[str, ...] = ()
    elements: tuple[Any, ...] | None = None
    source: SourceRef | None = None

    @property
    def dynamic(self) -> bool:
        return "dynamic" in self.flags or "timeout" in self.flags


class NftRuleset(msgspec.Struct, frozen=True, kw_only=True):
    """``nft -j list ruleset``. ``tables`` lists ``(family, name)`` in dump order."""

    tables: tuple[tuple[str, str], ...]
    chains: tuple[NftChain, ...]
    rules: tuple[NftRule, ...]
    sets: tuple[NftSet, ...] = ()
    version: str | None = None
    source: SourceRef | None = None

    def rules_of(self, family: str, table: str, chain: str) -> tuple[NftRule, ...]:
        return tuple(
            r for r in self.rules if r.family == family and r.table == table and r.chain == chain
        )

    def set_named(self, family: str, table: str, name: str) -> NftSet | None:
        for item in self.sets:
            if item.family == family and item.table == table and item.name == name:
                return item
        return None


# ---------------------------------------------------------------------------------------------
# Windows Firewall
# ---------------------------------------------------------------------------------------------
class WindowsFirewallProfile(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """``Get-NetFirewallProfile``: ``enabled`` ``None`` when not stated; actions are
    ``Allow``/``Block``/``NotConfigured`` (``NotConfigured`` means Windows' default: inbound
    Block, outbound Allow). ``allow_inbound_rules`` ``False`` means "block all connections"."""

    name: str
    enabled: bool | None = None
    default_inbound_action: str | None = None
    default_outbound_action: str | None = None
    allow_inbound_rules: bool | None = None
    allow_local_firewall_rules: bool | None = None
    source: SourceRef | None = None


class WindowsFirewallRule(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A Windows Firewall rule joined with its port, address, application and interface
    filters. A filter field is ``None`` when the export did not carry it (then matching on it is
    unknown); ``("Any",)`` when the rule does not filter on it."""

    name: str
    display_name: str | None = None
    enabled: bool | None = None
    direction: str | None = None
    action: str | None = None
    profiles: tuple[str, ...] | None = None
    protocol: str | None = None
    local_ports: tuple[str, ...] | None = None
    remote_ports: tuple[str, ...] | None = None
    local_addresses: tuple[str, ...] | None = None
    remote_addresses: tuple[str, ...] | None = None
    program: str | None = None
    service: str | None = None
    interface_types: tuple[str, ...] | None = None
    edge_traversal: str | None = None
    policy_store: str | None = None
    source: SourceRef | None = None

    @property
    def label(self) -> str:
        return self.display_name or self.name


class WindowsFirewall(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Profiles, rules, and the network category (``Domain``/``Private``/``Public``) of each
    connected interface (``Get-NetConnectionProfile``), which decides the active profile.
    ``rules_complete`` is ``False`` when the export is known to miss rules (only some rules)."""

    profiles: tuple[WindowsFirewallProfile, ...] = ()
    rules: tuple[WindowsFirewallRule, ...] = ()
    rules_collected: bool = True
    interface_categories: tuple[tuple[str, str], ...] = ()
    source: SourceRef | None = None


# ---------------------------------------------------------------------------------------------
# The evidence the evaluators read
# ---------------------------------------------------------------------------------------------
class ParsedArtefact(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One artefact that went into the evidence, and what it was read as."""

    kind: ArtefactKind
    source: SourceRef
    items: int = 0


class GuestEvidence(msgspec.Struct, frozen=True, kw_only=True):
    """Everything known about one guest. ``None`` collections were not collected."""

    source: str
    hostname: str | None = None
    os_family: OsFamily = OsFamily.UNKNOWN
    os_version: str | None = None
    privileged: bool | None = None
    collected_at: str | None = None
    adapters: tuple[GuestAdapter, ...] | None = None
    adapters_include_hidden: bool = False
    listeners: tuple[ListenerTable, ...] | None = None
    iptables: tuple[IptablesTable, ...] | None = None
    iptables_families: tuple[int, ...] = ()
    legacy_tables_hidden: bool = False
    legacy_families: tuple[int, ...] = ()
    nftables: NftRuleset | None = None
    nft_collected: bool = False
    nft_absent: bool = False
    firewall_unreadable: tuple[str, ...] = ()
    windows_firewall: WindowsFirewall | None = None
    ipv4_forwarding: bool | None = None
    ipv6_forwarding: bool | None = None
    forwarding_source: SourceRef | None = None
    routes: tuple[GuestRoute, ...] | None = None
    dns_servers: tuple[IPAddress, ...] | None = None
    connects: tuple[ConnectTest, ...] = ()
    ports: tuple[int, ...] = ()
    gaps: tuple[Gap, ...] = ()
    artefacts: tuple[ParsedArtefact, ...] = ()

    @property
    def local_addresses(self) -> frozenset[IPAddress]:
        """Every address configured on a present adapter (loopback included)."""
        found: set[IPAddress] = set()
        for adapter in self.adapters or ():
            if adapter.is_ghost:
                continue
            found.update(a.address for a in adapter.addresses)
        return frozenset(found)

    def adapter_with(self, address: IPAddress) -> GuestAdapter | None:
        for adapter in self.adapters or ():
            if not adapter.is_ghost and any(a.address == address for a in adapter.addresses):
                return adapter
        return None

    @property
    def sockets(self) -> tuple[ListeningSocket, ...]:
        return tuple(s for table in self.listeners or () for s in table.sockets)


def _enc_hook(obj: Any) -> Any:
    if isinstance(
        obj,
        ipaddress.IPv4Address
        | ipaddress.IPv6Address
        | ipaddress.IPv4Network
        | ipaddress.IPv6Network,
    ):
        return str(obj)
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


def evidence_to_json(evidence: GuestEvidence) -> dict[str, Any]:
    """JSON-ready ``dict`` (schema ``vnetdoctor.guest-evidence/1``)."""
    body = msgspec.to_builtins(evidence, enc_hook=_enc_hook, builtin_types=())
    assert isinstance(body, dict)
    return {"schema": EVIDENCE_SCHEMA, **body}
