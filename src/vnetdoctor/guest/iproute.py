"""Linux IP configuration: ``ip -j addr`` (JSON, compact or ``-p``), ``ip addr`` (text),
``ip -j route`` / ``ip route`` / ``ip -6 route``, and ``/etc/resolv.conf``.

Linux has no "hidden" adapters: an interface that exists is listed, up or down. An address with
the ``dynamic`` flag came from DHCP (Azure's DHCP hands out the NIC's IP); a global address
without it was set by hand or by a static configuration.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any, Final

from vnetdoctor.guest._text import (
    ends_mid_line,
    json_element_lines,
    json_pointer_lines,
    numbered,
)
from vnetdoctor.model.evidence import (
    AdapterStatus,
    GuestAdapter,
    GuestAddress,
    GuestRoute,
    SourceRef,
)
from vnetdoctor.model.net import IPAddress

__all__ = [
    "looks_like_ip_addr",
    "looks_like_ip_addr_json",
    "looks_like_ip_route",
    "looks_like_ip_route_json",
    "looks_like_resolv_conf",
    "parse_ip_addr",
    "parse_ip_addr_json",
    "parse_ip_route",
    "parse_ip_route_json",
    "parse_resolv_conf",
]

_LINK = re.compile(r"^(\d+):\s+([^:@\s]+)(?:@\S+)?:\s+<([^>]*)>(.*)$")
_ROUTE_TYPES: Final = frozenset(
    {
        "local",
        "broadcast",
        "unreachable",
        "blackhole",
        "prohibit",
        "throw",
        "multicast",
        "anycast",
        "nat",
    }
)


# ---------------------------------------------------------------------------------------------
# Addresses
# ---------------------------------------------------------------------------------------------
def looks_like_ip_addr_json(document: Any) -> bool:
    return (
        isinstance(document, list)
        and bool(document)
        and all(isinstance(x, dict) and "ifname" in x for x in document)
    )


def parse_ip_addr_json(text: str, source: SourceRef) -> tuple[GuestAdapter, ...]:
    try:
        document = json.loads(text)
    except RecursionError:
        raise source.error("not valid JSON (nested too deeply: 1,000 levels or more)", 1) from None
    except json.JSONDecodeError as exc:
        raise source.error(
            f"not valid JSON ({exc.msg}); the output looks cut off", exc.lineno
        ) from None
    if not isinstance(document, list):
        raise source.error("not ip -j addr output (expected a JSON array)", 1)
    lines = json_element_lines(text, text.index("["), len(document))
    pointers = json_pointer_lines(text, 3)
    adapters = []
    for index, link in enumerate(document):
        ref = source.at(lines[index], f"/{index}")
        if not isinstance(link, dict) or not isinstance(link.get("ifname"), str):
            raise ref.error(f"interface {index} has no ifname")
        flags = [str(f) for f in link.get("flags", ())]
        addresses = []
        for j, info in enumerate(link.get("addr_info", ())):
            if not isinstance(info, dict) or "local" not in info:
                continue  # ip prints lifetimes-only entries for some addresses
            try:
                address = ipaddress.ip_address(str(info["local"]))
            except ValueError:
                raise ref.error(
                    f"interface {link['ifname']}: bad address at addr_info/{j}"
                ) from None
            addresses.append(
                GuestAddress(
                    address=address,
                    prefix_length=_int(info.get("prefixlen")),
                    scope=_s(info.get("scope")),
                    origin=_origin(bool(info.get("dynamic")), _s(info.get("scope"))),
                    source=source.at(
                        pointers.get(f"/{index}/addr_info/{j}"), f"/{index}/addr_info/{j}"
                    ),
                )
            )
        adapters.append(
            GuestAdapter(
                name=link["ifname"],
                description=_s(link.get("link_type")),
                mac=_s(link.get("address")),
                status=_status(_s(link.get("operstate")), flags),
                is_loopback=link.get("link_type") == "loopback" or "LOOPBACK" in flags,
                addresses=tuple(addresses),
                source=ref,
            )
        )
    return tuple(adapters)


def looks_like_ip_addr(text: str) -> bool:
    for _, line in numbered(text):
        if line.strip():
            return _LINK.match(line) is not None
    return False


def parse_ip_addr(text: str, source: SourceRef) -> tuple[GuestAdapter, ...]:
    adapters: list[GuestAdapter] = []
    current: dict[str, Any] | None = None
    cut = ends_mid_line(text)
    last = max((n for n, line in numbered(text) if line.strip()), default=0)

    def close() -> None:
        if current is not None:
            adapters.append(GuestAdapter(**current))

    for number, raw in numbered(text):
        # Some captures join an address and its lifetime line with a backslash (ip -o style).
        for line in raw.split("\\"):
            if not line.strip():
                continue
            link = _LINK.match(line)
            if link:
                close()
                flags = link.group(3).split(",")
                state = re.search(r"\bstate (\S+)", link.group(4))
                current = {
                    "name": link.group(2),
                    "status": _status(state.group(1) if state else None, flags),
                    "is_loopback": "LOOPBACK" in flags,
                    "addresses": (),
                    "source": source.at(number),
                }
                continue
            if current is None:
                raise source.error(f"not ip addr output: {line.strip()[:60]!r}", number)
            tokens = line.split()
            if tokens[0].startswith("link/"):
                current["description"] = tokens[0][5:]
                if len(tokens) > 1:
                    current["mac"] = tokens[1]
            elif tokens[0] in ("inet", "inet6"):
                if len(tokens) < 2 or "/" not in tokens[1]:
                    hint = " (the output looks cut off)" if number == last and cut else ""
                    raise source.error(
                        f"malformed address line {line.strip()[:60]!r}{hint}", number
                    )
                try:
                    iface = ipaddress.ip_interface(tokens[1])
                except ValueError:
                    raise source.error(f"bad address {tokens[1]!r}", number) from None
                scope = tokens[tokens.index("scope") + 1] if "scope" in tokens[:-1] else None
                current["addresses"] = (
                    *current["addresses"],
                    GuestAddress(
                        address=iface.ip,
                        prefix_length=iface.network.prefixlen,
                        scope=scope,
                        origin=_origin("dynamic" in tokens, scope),
                        source=source.at(number),
                    ),
                )
            elif tokens[0] in ("valid_lft", "altname", "vf", "alias") or tokens[0].startswith(
                ("link-netns", "prop", "inet6")
            ):
                continue
            else:
                raise source.error(
                    f"unexpected line in ip addr output: {line.strip()[:60]!r}", number
                )
    close()
    if not adapters:
        raise source.error("no interfaces in this ip addr output", 1)
    return tuple(adapters)


def _status(operstate: str | None, flags: list[str]) -> AdapterStatus:
    state = (operstate or "").upper()
    if state == "UP":
        return AdapterStatus.UP
    if state == "DOWN":
        return AdapterStatus.DISCONNECTED if "UP" in flags else AdapterStatus.DOWN
    if state == "NOTPRESENT":
        return AdapterStatus.NOT_PRESENT
    if "UP" in flags and "LOWER_UP" in flags:
        return AdapterStatus.UP  # loopback and tunnels report operstate UNKNOWN
    if "UP" not in flags:
        return AdapterStatus.DOWN
    return AdapterStatus.UNKNOWN


def _origin(dynamic: bool, scope: str | None) -> str | None:
    if dynamic:
        return "dhcp"
    if scope == "global":
        return "static"
    return None


# ---------------------------------------------------------------------------------------------
# Routes
# ---------------------------------------------------------------------------------------------
def looks_like_ip_route_json(document: Any) -> bool:
    return isinstance(document, list) and all(isinstance(x, dict) and "dst" in x for x in document)


def parse_ip_route_json(text: str, source: SourceRef) -> tuple[GuestRoute, ...]:
    try:
        document = json.loads(text)
    except RecursionError:
        raise source.error("not valid JSON (nested too deeply: 1,000 levels or more)", 1) from None
    except json.JSONDecodeError as exc:
        raise source.error(
            f"not valid JSON ({exc.msg}); the output looks cut off", exc.lineno
        ) from None
    if not isinstance(document, list):
        raise source.error("not ip -j route output (expected a JSON array)", 1)
    lines = json_element_lines(text, text.index("["), len(document))
    routes = []
    for index, item in enumerate(document):
        ref = source.at(lines[index], f"/{index}")
        if not isinstance(item, dict) or not isinstance(item.get("dst"), str):
            raise ref.error(f"route {index} has no dst")
        if item.get("type") in _ROUTE_TYPES:
            continue
        gateway = _ip(item.get("gateway"), ref)
        routes.append(
            GuestRoute(
                destination=_dest(item["dst"], gateway, ref),
                gateway=gateway,
                interface=_s(item.get("dev")),
                metric=_int(item.get("metric")),
                source=ref,
            )
        )
    return tuple(routes)


def looks_like_ip_route(text: str) -> bool:
    for _, line in numbered(text):
        tokens = line.split()
        if not tokens:
            continue
        return (tokens[0] == "default" or "/" in tokens[0] or _is_ip(tokens[0])) and (
            "dev" in tokens or "via" in tokens
        )
    return False


def parse_ip_route(text: str, source: SourceRef) -> tuple[GuestRoute, ...]:
    routes = []
    for number, line in numbered(text):
        tokens = line.split()
        if not tokens:
            continue
        ref = source.at(number)
        if tokens[0] in _ROUTE_TYPES:
            continue
        if "dev" not in tokens and "via" not in tokens:
            raise ref.error(f"malformed route {line.strip()[:60]!r}")
        gateway = None
        if "via" in tokens:
            at = tokens.index("via") + 1
            if at >= len(tokens):
                raise ref.error(f"route without a gateway after 'via': {line.strip()[:60]!r}")
            gateway = _ip(tokens[at], ref)
        dev = tokens[tokens.index("dev") + 1] if "dev" in tokens[:-1] else None
        metric = tokens[tokens.index("metric") + 1] if "metric" in tokens[:-1] else None
        routes.append(
            GuestRoute(
                destination=_dest(tokens[0], gateway, ref),
                gateway=gateway,
                interface=dev,
                metric=int(metric) if metric and metric.isdigit() else None,
                source=ref,
            )
        )
    if not routes:
        raise source.error("no routes in this ip route output", 1)
    return tuple(routes)


def _dest(
    text: str, gateway: IPAddress | None, ref: SourceRef
) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if text == "default":
        return ipaddress.ip_network("::/0" if gateway and gateway.version == 6 else "0.0.0.0/0")
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ref.error(f"bad route destination {text!r}") from None


# ---------------------------------------------------------------------------------------------
# DNS
# ---------------------------------------------------------------------------------------------
def looks_like_resolv_conf(text: str) -> bool:
    return any(line.strip().startswith("nameserver ") for _, line in numbered(text))


def parse_resolv_conf(text: str, source: SourceRef) -> tuple[IPAddress, ...]:
    servers = []
    for number, line in numbered(text):
        tokens = line.split()
        if len(tokens) >= 1 and tokens[0] == "nameserver":
            if len(tokens) < 2:
                raise source.error("nameserver without an address", number)
            servers.append(_ip(tokens[1].split("%")[0], source.at(number)))
    return tuple(s for s in servers if s is not None)


def _ip(value: object, ref: SourceRef) -> IPAddress | None:
    if value is None:
        return None
    try:
        return ipaddress.ip_address(str(value))
    except ValueError:
        raise ref.error(f"bad IP address {value!r}") from None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _s(value: object) -> str | None:
    return value if isinstance(value, str) else None
