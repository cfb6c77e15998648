"""Windows Firewall exports, in the forms people have at hand.

No real export is in ``../shared/fixtures/guest`` (its README says none could be found in a
traceable repository), so these readers follow Microsoft's documented formats: the
``MSFT_NetFirewallRule`` / ``MSFT_NetFirewallProfile`` CIM classes behind ``Get-NetFirewallRule``
and ``Get-NetFirewallProfile``, and the ``netsh advfirewall`` text
(``docs/semantics/guest.md#windows-firewall``).

- **JSON** (``... | ConvertTo-Json``): rule objects, alone (then their port and address filters
  are unknown) or joined with their filters as ``vnetdoctor probe`` writes them; profile objects.
  Windows PowerShell 5.1 writes enums as numbers (``Direction: 1``, ``Action: 4``), PowerShell 7
  as names; both are read.
- **Format-List** text of ``Get-NetFirewallRule`` and ``Get-NetFirewallProfile``: property
  names are .NET names and never localised.
- **netsh** ``advfirewall firewall show rule name=all [verbose]`` and ``advfirewall show
  allprofiles``: labels *and* values are localised. English and German labels and values are
  recognised; for another language the standard 11-property rule layout is read by position, and
  a value that is not recognised stays unknown (the evaluator then answers unknown).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any, Final, NamedTuple

from vnetdoctor.guest._text import json_pointer_lines, numbered
from vnetdoctor.model.evidence import SourceRef, WindowsFirewallProfile, WindowsFirewallRule

__all__ = [
    "FirewallExport",
    "looks_like_firewall_json",
    "looks_like_firewall_list",
    "looks_like_netsh",
    "parse_firewall_json",
    "parse_firewall_list",
    "parse_netsh",
    "profile_from_object",
    "rule_from_object",
]

# MSFT_NetFirewallRule / MSFT_NetFirewallProfile enumerations (Windows PowerShell 5.1 numbers)
_DIRECTION: Final = {1: "Inbound", 2: "Outbound"}
_ACTION: Final = {0: "NotConfigured", 2: "Allow", 4: "Block"}
_ENABLED: Final = {1: True, 2: False}
_GPO_BOOLEAN: Final = {0: False, 1: True, 2: None}  # False, True, NotConfigured
_PROFILE_BITS: Final = ((1, "Domain"), (2, "Private"), (4, "Public"))
_CATEGORY: Final = {0: "Public", 1: "Private", 2: "Domain"}
_EDGE: Final = {0: "Block", 1: "Allow", 2: "DeferToUser", 3: "DeferToApp"}
_PROFILE_NAMES: Final = {
    "domain": "Domain",
    "private": "Private",
    "public": "Public",
    "any": "Any",
    "domänen": "Domain",
    "domäne": "Domain",
    "privat": "Private",
    "öffentlich": "Public",
    "beliebig": "Any",
    "alle": "Any",
    "domainauthenticated": "Domain",
}


class FirewallExport(NamedTuple):
    profiles: tuple[WindowsFirewallProfile, ...]
    rules: tuple[WindowsFirewallRule, ...]
    rules_have_filters: bool
    interface_categories: tuple[tuple[str, str], ...] = ()


# ---------------------------------------------------------------------------------------------
# Value normalisation (shared with the probe reader)
# ---------------------------------------------------------------------------------------------
def _enum(value: Any, numbers: dict[int, Any], names: Sequence[str] = ()) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return numbers.get(value)
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.isdigit():
            return numbers.get(int(stripped))
        for name in names:
            if stripped.casefold() == name.casefold():
                return name
        return stripped or None
    if isinstance(value, dict) and "value" in value:  # ConvertTo-Json of some enum wrappers
        return _enum(value["value"], numbers, names)
    return None


def _bool(value: Any, numbers: dict[int, Any] = _ENABLED) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        result = numbers.get(value)
        return result if isinstance(result, bool) else None
    if isinstance(value, str):
        folded = value.strip().casefold()
        if folded in ("true", "yes", "ja", "on", "ein", "oui", "sí"):
            return True
        if folded in ("false", "no", "nein", "off", "aus", "non"):
            return False
        if folded.isdigit():
            return _bool(int(folded), numbers)
    return None


def _profiles(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if value == 0:
            return ("Any",)
        names = tuple(name for bit, name in _PROFILE_BITS if value & bit)
        return names or None
    if isinstance(value, list):
        found: list[str] = []
        for item in value:
            found.extend(_profiles(item) or ())
        return tuple(found) or None
    if isinstance(value, str):
        parts = [p.strip() for p in re.split(r"[,;]", value) if p.strip()]
        if len(parts) == 1 and parts[0].isdigit():
            return _profiles(int(parts[0]))
        mapped = [_PROFILE_NAMES.get(p.casefold()) for p in parts]
        if not mapped or any(n is None for n in mapped):
            return None
        return tuple(n for n in mapped if n is not None)
    return None


def _list(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, list):
        return tuple(str(v).strip() for v in value if str(v).strip()) or ("Any",)
    text = str(value).strip()
    if not text:
        return ("Any",)
    return tuple(p.strip() for p in text.split(",") if p.strip())


def _str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _get(obj: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if key in obj:
            return obj[key]
    folded = {k.casefold(): v for k, v in obj.items()}
    for key in keys:
        if key.casefold() in folded:
            return folded[key.casefold()]
    return None


def rule_from_object(obj: dict[str, Any], ref: SourceRef) -> WindowsFirewallRule:
    """A rule from a ``Get-NetFirewallRule`` object, optionally joined with its filters
    (``Protocol``, ``LocalPort``, ``RemotePort``, ``LocalAddress``, ``RemoteAddress``,
    ``Program``, ``Service``, ``InterfaceType`` keys, or the short keys of the join script in
    dependencies.md 6.3: ``n d a pr proto lp ra``)."""
    name = _str(_get(obj, "Name", "InstanceID", "n")) or _str(_get(obj, "DisplayName")) or "?"
    has_ports = any(k in obj for k in ("LocalPort", "lp", "Protocol", "proto"))
    has_addresses = any(k in obj for k in ("RemoteAddress", "ra", "LocalAddress"))
    return WindowsFirewallRule(
        name=name,
        display_name=_str(_get(obj, "DisplayName")),
        enabled=_bool(_get(obj, "Enabled", "e"), _ENABLED)
        if "e" in obj or _get(obj, "Enabled") is not None
        else None,
        direction=_enum(_get(obj, "Direction", "d"), _DIRECTION, ("Inbound", "Outbound")),
        action=_enum(_get(obj, "Action", "a"), _ACTION, ("Allow", "Block", "NotConfigured")),
        profiles=_profiles(_get(obj, "Profile", "Profiles", "pr")),
        protocol=_str(_get(obj, "Protocol", "proto")) if has_ports else None,
        local_ports=_list(_get(obj, "LocalPort", "lp")) if has_ports else None,
        remote_ports=_list(_get(obj, "RemotePort", "rp")) if has_ports else None,
        local_addresses=_list(_get(obj, "LocalAddress", "la")) if has_addresses else None,
        remote_addresses=_list(_get(obj, "RemoteAddress", "ra")) if has_addresses else None,
        program=_str(_get(obj, "Program")) if "Program" in obj else None,
        service=_str(_get(obj, "Service")) if "Service" in obj else None,
        interface_types=_list(_get(obj, "InterfaceType")) if "InterfaceType" in obj else None,
        edge_traversal=_enum(_get(obj, "EdgeTraversalPolicy"), _EDGE),
        policy_store=_str(_get(obj, "PolicyStoreSource")),
        source=ref,
    )


def profile_from_object(obj: dict[str, Any], ref: SourceRef) -> WindowsFirewallProfile:
    return WindowsFirewallProfile(
        name=_PROFILE_NAMES.get(
            str(_get(obj, "Name", "n") or "").casefold(), str(_get(obj, "Name", "n"))
        ),
        enabled=_bool(_get(obj, "Enabled", "on"), _GPO_BOOLEAN),
        default_inbound_action=_enum(
            _get(obj, "DefaultInboundAction", "in"), _ACTION, ("Allow", "Block", "NotConfigured")
        ),
        default_outbound_action=_enum(
            _get(obj, "DefaultOutboundAction", "out"), _ACTION, ("Allow", "Block", "NotConfigured")
        ),
        allow_inbound_rules=_bool(_get(obj, "AllowInboundRules"), _GPO_BOOLEAN),
        allow_local_firewall_rules=_bool(_get(obj, "AllowLocalFirewallRules"), _GPO_BOOLEAN),
        source=ref,
    )


def category_of(value: Any) -> str | None:
    result = _enum(value, _CATEGORY, ("Public", "Private", "DomainAuthenticated"))
    if result == "DomainAuthenticated":
        return "Domain"
    return result if isinstance(result, str) else None


def _is_rule(obj: Any) -> bool:
    return isinstance(obj, dict) and (
        ("Direction" in obj and "Action" in obj) or ("n" in obj and "d" in obj and "a" in obj)
    )


def _is_profile(obj: Any) -> bool:
    return isinstance(obj, dict) and "DefaultInboundAction" in obj


# ---------------------------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------------------------
def looks_like_firewall_json(document: Any) -> bool:
    items = document if isinstance(document, list) else [document]
    return bool(items) and all(_is_rule(x) or _is_profile(x) for x in items[:50])


def parse_firewall_json(text: str, source: SourceRef) -> FirewallExport:
    text = text.lstrip("\ufeff")
    try:
        document = json.loads(text)
    except RecursionError:
        raise source.error("not valid JSON (nested too deeply: 1,000 levels or more)", 1) from None
    except json.JSONDecodeError as exc:
        raise source.error(
            f"not valid JSON ({exc.msg}); the export looks cut off", exc.lineno
        ) from None
    items = document if isinstance(document, list) else [document]
    lines = json_pointer_lines(text, 1)
    rules: list[WindowsFirewallRule] = []
    profiles: list[WindowsFirewallProfile] = []
    filters = True
    for index, obj in enumerate(items):
        pointer = f"/{index}" if isinstance(document, list) else "/"
        ref = source.at(lines.get(pointer), pointer)
        if _is_rule(obj):
            rule = rule_from_object(obj, ref)
            rules.append(rule)
            filters = filters and rule.local_ports is not None
        elif _is_profile(obj):
            profiles.append(profile_from_object(obj, ref))
        else:
            raise ref.error(f"element {index} is neither a firewall rule nor a profile")
    return FirewallExport(tuple(profiles), tuple(rules), filters and bool(rules))


# ---------------------------------------------------------------------------------------------
# Format-List
# ---------------------------------------------------------------------------------------------
_LIST_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9_ ()]*?)\s*:\s?(.*)$")


def looks_like_firewall_list(text: str) -> bool:
    keys = {m.group(1).strip() for _, line in numbered(text) if (m := _LIST_LINE.match(line))}
    return {"Direction", "Action"} <= keys or "DefaultInboundAction" in keys


def _blocks(text: str) -> Iterator[tuple[int, list[tuple[int, str]]]]:
    block: list[tuple[int, str]] = []
    for number, line in numbered(text):
        if line.strip():
            block.append((number, line))
        elif block:
            yield block[0][0], block
            block = []
    if block:
        yield block[0][0], block


def parse_firewall_list(text: str, source: SourceRef) -> FirewallExport:
    rules: list[WindowsFirewallRule] = []
    profiles: list[WindowsFirewallProfile] = []
    for start, block in _blocks(text):
        obj: dict[str, Any] = {}
        key: str | None = None
        for number, line in block:
            match = _LIST_LINE.match(line)
            if match and not line[0].isspace():
                key = match.group(1).strip()
                obj[key] = match.group(2).strip()
            elif key is not None and line[0].isspace():
                obj[key] = f"{obj[key]} {line.strip()}".strip()  # a wrapped long value
            else:
                raise source.error(f"malformed Format-List line {line.strip()[:60]!r}", number)
        ref = source.at(start)
        if "Direction" in obj and "Action" in obj:
            if "Name" not in obj:
                raise ref.error("firewall rule without a Name (the export looks cut off)")
            rules.append(rule_from_object(obj, ref))
        elif "DefaultInboundAction" in obj:
            profiles.append(profile_from_object(obj, ref))
        elif "Direction" in obj or "Action" in obj or "Name" in obj:
            raise ref.error("incomplete firewall rule (the export looks cut off)")
    if not rules and not profiles:
        raise source.error("no firewall rules or profiles in this Format-List output", 1)
    return FirewallExport(tuple(profiles), tuple(rules), rules_have_filters=False)


# ---------------------------------------------------------------------------------------------
# netsh advfirewall
# ---------------------------------------------------------------------------------------------
_NETSH_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "name": ("rule name", "regelname"),
    "description": ("description", "beschreibung"),
    "enabled": ("enabled", "aktiviert"),
    "direction": ("direction", "richtung"),
    "profiles": ("profiles", "profile"),
    "grouping": ("grouping", "gruppierung"),
    "localip": ("localip", "lokale ip"),
    "remoteip": ("remoteip", "remote-ip"),
    "protocol": ("protocol", "protokoll"),
    "localport": ("localport", "lokaler port"),
    "remoteport": ("remoteport", "remoteport", "remote-port"),
    "edge": ("edge traversal", "edgeausnahme"),
    "program": ("program", "programm"),
    "service": ("service", "dienst"),
    "interfacetypes": ("interfacetypes", "schnittstellentypen"),
    "action": ("action", "aktion"),
}
_NETSH_KEY: Final = {label: key for key, labels in _NETSH_FIELDS.items() for label in labels}
_NETSH_POSITIONS: Final = (
    "enabled",
    "direction",
    "profiles",
    "grouping",
    "localip",
    "remoteip",
    "protocol",
    "localport",
    "remoteport",
    "edge",
    "action",
)
_NETSH_DIRECTION: Final = {
    "in": "Inbound",
    "out": "Outbound",
    "eingehend": "Inbound",
    "ausgehend": "Outbound",
}
_NETSH_ACTION: Final = {
    "allow": "Allow",
    "block": "Block",
    "bypass": "Bypass",
    "zulassen": "Allow",
    "blockieren": "Block",
    "umgehen": "Bypass",
}
_NETSH_ANY: Final = frozenset({"any", "beliebig", "alle"})
_NETSH_LINE = re.compile(r"^(\S[^:]*?):\s*(.*)$")
_DASHES = re.compile(r"^-{10,}\s*$")
_PROFILE_HEADER = re.compile(r"^(\S+)\s+(?:Profile Settings|Profileinstellungen)\s*:?\s*$", re.I)
_NETSH_STATE = re.compile(r"^(State|Status)\s+(\S+)\s*$", re.I)
_NETSH_POLICY = re.compile(r"^(Firewall Policy|Firewallrichtlinie)\s+(\S+)\s*$", re.I)


def looks_like_netsh(text: str) -> bool:
    lines = [line for _, line in numbered(text) if line.strip()]
    return any(_DASHES.match(line) for line in lines[:4]) or any(
        _PROFILE_HEADER.match(line.strip()) for line in lines[:3]
    )


def parse_netsh(text: str, source: SourceRef) -> FirewallExport:
    profiles = _netsh_profiles(text, source)
    rules: list[WindowsFirewallRule] = []
    for start, block in _blocks(text):
        if not any(_DASHES.match(line) for _, line in block):
            continue
        if _PROFILE_HEADER.match(block[0][1].strip()):
            continue  # `netsh advfirewall show allprofiles`, read above
        lines = [(n, line) for n, line in block if not _DASHES.match(line)]
        if lines and lines[-1][1].strip().rstrip(".").casefold() in ("ok", "okay"):
            lines = lines[:-1]
        fields: dict[str, str] = {}
        unknown: list[tuple[str, str]] = []
        for number, line in lines:
            if line[:1].isspace():
                continue  # a continuation (the ICMP "Type Code" table under Protocol:)
            match = _NETSH_LINE.match(line)
            if match is None:
                raise source.error(f"malformed netsh line {line.strip()[:60]!r}", number)
            label, value = match.group(1).strip().casefold(), match.group(2).strip()
            key = _NETSH_KEY.get(label)
            if key is None:
                unknown.append((label, value))
            else:
                fields[key] = value
        if "name" not in fields and lines:
            first = next((_NETSH_LINE.match(line) for _, line in lines if not line[:1].isspace()),
                         None)
            if first is None:
                raise source.at(start).error("netsh rule block without a rule name line")
            fields["name"] = first.group(2).strip()
            unknown = unknown[1:]
        if "action" not in fields and len(unknown) == len(_NETSH_POSITIONS):
            fields.update(dict(zip(_NETSH_POSITIONS, (v for _, v in unknown), strict=True)))
        ref = source.at(start)
        if "action" not in fields and "direction" not in fields and not unknown:
            raise ref.error("netsh rule block without properties (the output looks cut off)")
        rules.append(_netsh_rule(fields, ref))
    if not rules and not profiles:
        raise source.error("no rules or profiles in this netsh output", 1)
    return FirewallExport(tuple(profiles), tuple(rules), rules_have_filters=True)


def _netsh_rule(fields: dict[str, str], ref: SourceRef) -> WindowsFirewallRule:
    def listed(key: str) -> tuple[str, ...] | None:
        if key not in fields:
            return None
        value = fields[key]
        if value.casefold() in _NETSH_ANY:
            return ("Any",)
        return tuple(p.strip() for p in value.split(",") if p.strip()) or ("Any",)

    protocol = fields.get("protocol")
    if protocol is not None and protocol.casefold() in _NETSH_ANY:
        protocol = "Any"
    program = fields.get("program")
    service = fields.get("service")
    return WindowsFirewallRule(
        name=fields.get("name", "?"),
        enabled=_bool(fields["enabled"]) if "enabled" in fields else None,
        direction=_NETSH_DIRECTION.get(fields.get("direction", "").casefold()),
        action=_NETSH_ACTION.get(fields.get("action", "").casefold()),
        profiles=_profiles(fields["profiles"]) if "profiles" in fields else None,
        protocol=protocol,
        local_ports=listed("localport"),
        remote_ports=listed("remoteport"),
        local_addresses=listed("localip"),
        remote_addresses=listed("remoteip"),
        # netsh shows Program:/Service: only with `verbose`; absent means "not shown".
        program=None if program is None else "Any" if program.casefold() in _NETSH_ANY else program,
        service=None if service is None else "Any" if service.casefold() in _NETSH_ANY else service,
        source=ref,
    )


def _netsh_profiles(text: str, source: SourceRef) -> list[WindowsFirewallProfile]:
    profiles: list[WindowsFirewallProfile] = []
    current: dict[str, Any] | None = None
    for number, line in numbered(text):
        stripped = line.strip()
        header = _PROFILE_HEADER.match(stripped)
        if header:
            if current is not None:
                profiles.append(WindowsFirewallProfile(**current))
            name = _PROFILE_NAMES.get(header.group(1).casefold(), header.group(1))
            current = {"name": name, "source": source.at(number)}
            continue
        if current is None:
            continue
        state = _NETSH_STATE.match(stripped)
        if state:
            current["enabled"] = _bool(state.group(2))
        policy = _NETSH_POLICY.match(stripped)
        if policy:
            parts = policy.group(2).split(",")
            for part in parts:
                low = part.casefold()
                for verb in ("allow", "block"):
                    if low.startswith(verb) and low.endswith("inbound"):
                        current["default_inbound_action"] = verb.capitalize()
                    if low.startswith(verb) and low.endswith("outbound"):
                        current["default_outbound_action"] = verb.capitalize()
                if low.startswith("blockinboundalways"):
                    current["default_inbound_action"] = "Block"
                    current["allow_inbound_rules"] = False
    if current is not None:
        profiles.append(WindowsFirewallProfile(**current))
    return profiles
