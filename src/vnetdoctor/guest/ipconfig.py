"""``ipconfig /all`` (Windows XP to 11).

Layout: a title line, a global block (host name...), then one block per adapter under a header
line that ends with ``:`` (``Ethernet adapter Ethernet 2:``). Each property is
``   Label . . . . : value``; a value list continues on deeper-indented lines (DNS servers).
Addresses carry a state in parentheses (``10.0.0.4(Preferred)``, ``(Duplicate)`` when Windows
saw an address conflict) and link-local IPv6 addresses a zone (``%8``).

Labels are localised. English, German, French and Spanish labels of the properties the
evaluators need are recognised; whatever the language, an IP address followed by a state in
parentheses is an address of the adapter. ``ipconfig`` never lists hidden or not-present
adapters, so "ghost NICs" cannot be seen here (``Get-NetAdapter -IncludeHidden`` shows them).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Final, NamedTuple

import msgspec

from vnetdoctor.guest._text import numbered
from vnetdoctor.model.evidence import AdapterStatus, GuestAdapter, GuestAddress, SourceRef
from vnetdoctor.model.net import IPAddress

__all__ = ["IpconfigResult", "looks_like_ipconfig", "parse_ipconfig"]

_PROPERTY = re.compile(r"^(\s+)(\S.*?)[\s.]*:(?:\s+(.*?))?\s*$")
_ADDRESS_STATE = re.compile(r"^(?P<ip>[0-9A-Fa-f:.]+)(?:%\d+)?\s*(?:\((?P<state>[^)]*)\))?$")
_TITLES: Final = (
    "windows ip configuration",
    "windows-ip-konfiguration",
    "configuration ip de windows",
    "configuración ip de windows",
    "configuração de ip do windows",
)

# canonical key -> labels (casefolded) in English, German, French, Spanish
_LABELS: Final[dict[str, tuple[str, ...]]] = {
    "host": ("host name", "hostname", "nom de l'hôte", "nombre de host"),
    "description": ("description", "beschreibung", "descripción"),
    "mac": ("physical address", "physische adresse", "adresse physique", "dirección física"),
    "dhcp": ("dhcp enabled", "dhcp aktiviert", "dhcp activé", "dhcp habilitado"),
    "ipv4": (
        "ipv4 address",
        "ip address",
        "autoconfiguration ipv4 address",
        "ipv4-adresse",
        "autokonfigurations-ipv4-adresse",
        "adresse ipv4",
        "adresse ipv4 de configuration automatique",
        "dirección ipv4",
        "dirección ipv4 de configuración automática",
    ),
    "ipv6": (
        "ipv6 address",
        "temporary ipv6 address",
        "link-local ipv6 address",
        "ipv6-adresse",
        "temporäre ipv6-adresse",
        "verbindungslokale ipv6-adresse",
        "adresse ipv6",
        "adresse ipv6 temporaire",
        "adresse ipv6 de liaison locale",
        "dirección ipv6",
        "dirección ipv6 temporal",
        "vínculo: dirección ipv6 local",
    ),
    "mask": ("subnet mask", "subnetzmaske", "masque de sous-réseau", "máscara de subred"),
    "gateway": (
        "default gateway",
        "standardgateway",
        "passerelle par défaut",
        "puerta de enlace predeterminada",
    ),
    "dns": ("dns servers", "dns-server", "serveurs dns", "servidores dns"),
    "media": ("media state", "medienstatus", "statut du média", "estado de los medios"),
}
_KEY_OF: Final = {label: key for key, labels in _LABELS.items() for label in labels}
_YES: Final = frozenset({"yes", "ja", "oui", "sí", "si", "sim"})
_NO: Final = frozenset({"no", "nein", "non", "não"})


class IpconfigResult(NamedTuple):
    hostname: str | None
    adapters: tuple[GuestAdapter, ...]


def looks_like_ipconfig(text: str) -> bool:
    dotted = 0
    for _, line in numbered(text):
        stripped = line.strip().casefold()
        if stripped in _TITLES:
            return True
        if ". . . ." in stripped and ":" in stripped:
            dotted += 1
    return dotted >= 3


def parse_ipconfig(text: str, source: SourceRef) -> IpconfigResult:
    hostname: str | None = None
    adapters: list[GuestAdapter] = []
    block: dict[str, Any] | None = None  # the adapter being read
    key: str | None = None  # the property a continuation line belongs to
    seen_title = False

    def close() -> None:
        if block is not None:
            adapters.append(_adapter(block))

    for number, line in numbered(text):
        if not line.strip():
            continue
        stripped = line.strip()
        if stripped.casefold() in _TITLES:
            close()
            block, key, seen_title = None, None, True
            continue
        if not line[0].isspace():
            if not stripped.endswith(":"):
                raise source.error(f"unexpected line in ipconfig output: {stripped[:60]!r}", number)
            close()
            block = {"header": stripped[:-1].rstrip(), "source": source.at(number), "props": []}
            key = None
            continue
        indent = len(line) - len(line.lstrip())
        prop = _PROPERTY.match(line)
        if indent >= 20 or prop is None:
            if key is None or indent < 20:
                raise source.error(
                    f"malformed ipconfig line {stripped[:60]!r} (the output looks cut off?)", number
                )
            target = block["props"] if block is not None else None
            if target is not None:
                target.append((key, stripped, number))
            continue
        label, value = prop.group(2).strip().casefold(), (prop.group(3) or "").strip()
        key = _KEY_OF.get(label) or _KEY_OF.get(label.rstrip(". ")) or f"?{label}"
        if block is None:
            if not seen_title and not adapters and key != "host" and not key.startswith("?"):
                raise source.error("not ipconfig /all output", number)
            if key == "host" and value:
                hostname = value
            continue
        if value:
            block["props"].append((key, value, number))
    close()
    if hostname is None and not adapters:
        raise source.error("no host name and no adapters in this ipconfig output", 1)
    return IpconfigResult(hostname=hostname, adapters=tuple(adapters))


def _adapter(block: dict[str, Any]) -> GuestAdapter:
    header: str = block["header"]
    ref: SourceRef = block["source"]
    name = header
    for marker in (" adapter ", "-Adapter ", " Adapter "):
        if marker in header:
            name = header.split(marker, 1)[1]
            break
    else:
        for prefix in ("Carte ", "Adaptador de "):
            if header.startswith(prefix):
                name = header[len(prefix) :].split(" ", 1)[-1]
                break
    fields: dict[str, Any] = {"name": name.strip(), "source": ref}
    addresses: list[GuestAddress] = []
    masks: list[int] = []
    gateways: list[IPAddress] = []
    dns: list[IPAddress] = []
    disconnected = False
    for key, value, number in block["props"]:
        at = ref.at(number)
        if key == "description":
            fields["description"] = value
        elif key == "mac":
            fields["mac"] = value
        elif key == "dhcp":
            folded = value.casefold()
            fields["dhcp_enabled"] = True if folded in _YES else False if folded in _NO else None
        elif key == "media":
            disconnected = True  # the line appears only when the medium is disconnected
        elif key in ("ipv4", "ipv6") or (key.startswith("?") and _stateful_ip(value)):
            ip, state = _address(value, at)
            addresses.append(GuestAddress(address=ip, state=state, source=at))
        elif key == "mask":
            try:
                masks.append(ipaddress.IPv4Network(f"0.0.0.0/{value}").prefixlen)
            except ValueError:
                raise at.error(f"bad subnet mask {value!r}") from None
        elif key == "gateway":
            gateways.append(_address(value, at)[0])
        elif key == "dns":
            dns.append(_address(value, at)[0])
    v4 = [a for a in addresses if a.address.version == 4]
    for index, mask in enumerate(masks[: len(v4)]):
        position = addresses.index(v4[index])
        addresses[position] = msgspec.structs.replace(v4[index], prefix_length=mask)
    dhcp = fields.get("dhcp_enabled")
    addresses = [
        msgspec.structs.replace(
            a,
            scope="link" if a.address.is_link_local else "global",
            origin=None
            if a.address.is_link_local
            else "dhcp"
            if dhcp
            else "static"
            if dhcp is False
            else None,
        )
        for a in addresses
    ]
    if disconnected:
        status = AdapterStatus.DISCONNECTED
    elif addresses:
        status = AdapterStatus.UP
    else:
        status = AdapterStatus.UNKNOWN
    return GuestAdapter(
        **fields,
        status=status,
        present=True,
        addresses=tuple(addresses),
        gateways=tuple(gateways),
        dns_servers=tuple(dns),
    )


def _stateful_ip(value: str) -> bool:
    found = _ADDRESS_STATE.match(value)
    return bool(found and found.group("state")) and _is_ip(found.group("ip") if found else "")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _address(value: str, ref: SourceRef) -> tuple[IPAddress, str | None]:
    found = _ADDRESS_STATE.match(value.strip())
    if found is None:
        raise ref.error(f"bad IP address {value!r}")
    try:
        ip = ipaddress.ip_address(found.group("ip"))
    except ValueError:
        raise ref.error(f"bad IP address {value!r}") from None
    return ip, found.group("state")
