"""Which artefact a pasted file is, from its content (the file name only breaks the tie between
``iptables-save`` and ``ip6tables-save`` when the header does not say)."""

from __future__ import annotations

import re

from vnetdoctor.guest import ipconfig, iproute, iptables, netstat, ss, windows, windows_firewall
from vnetdoctor.model.evidence import ArtefactKind

__all__ = ["decode_text", "detect_kind"]

_NFT_TEXT = re.compile(r"^\s*table\s+(ip|ip6|inet|arp|bridge|netdev)\s+\S+\s*\{", re.M)
_UFW = re.compile(r"^Status:\s+(active|inactive)\s*$", re.M)
_FIREWALLD = re.compile(r"^\s+(services|interfaces|target):", re.M)
_OS_RELEASE = re.compile(r"^(PRETTY_NAME|ID|VERSION_ID)=", re.M)
_SYSCTL = re.compile(r"^net\.ipv[46]\.[\w.]+\s*=\s*\S+\s*$", re.M)


def decode_text(data: bytes) -> str:
    """Bytes of a pasted file as text: UTF-16 with a BOM (Windows PowerShell 5.1 ``>``
    redirection writes that), UTF-8 with or without a BOM, else the Windows code page 1252
    (``netstat`` on a localised console)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def detect_kind(text: str, name: str = "") -> ArtefactKind:
    """The kind of one artefact; :attr:`ArtefactKind.UNKNOWN` when nothing fits."""
    head = text.lstrip("\ufeff \t\r\n")[:4000]
    lowered_name = name.casefold()
    if head.startswith(("{", "[")):
        return _json_kind(head)
    if iptables.looks_like_iptables_save(text):
        legacy = "legacy" in lowered_name
        six = "ip6tables" in head[:200] or "ip6tables" in lowered_name
        if six:
            return ArtefactKind.IP6TABLES_LEGACY_SAVE if legacy else ArtefactKind.IP6TABLES_SAVE
        return ArtefactKind.IPTABLES_LEGACY_SAVE if legacy else ArtefactKind.IPTABLES_SAVE
    if ss.looks_like_ss(text):
        return ArtefactKind.SS
    if netstat.looks_like_linux_netstat(text):
        return ArtefactKind.NETSTAT_LINUX
    if ipconfig.looks_like_ipconfig(text):
        return ArtefactKind.IPCONFIG
    if windows.looks_like_get_netadapter(text):
        return ArtefactKind.GET_NETADAPTER
    if netstat.looks_like_windows_netstat(text):
        return ArtefactKind.NETSTAT_WINDOWS
    if windows_firewall.looks_like_netsh(text):
        return ArtefactKind.NETSH_FIREWALL
    if windows_firewall.looks_like_firewall_list(text):
        return ArtefactKind.WINDOWS_FIREWALL_LIST
    if windows.looks_like_test_netconnection(text):
        return ArtefactKind.TEST_NETCONNECTION
    if windows.looks_like_route_print(text):
        return ArtefactKind.ROUTE_PRINT
    if iproute.looks_like_ip_addr(text):
        return ArtefactKind.IP_ADDR
    if _NFT_TEXT.search(head):
        return ArtefactKind.NFT_TEXT
    if iproute.looks_like_ip_route(text):
        return ArtefactKind.IP_ROUTE
    if _UFW.search(head):
        return ArtefactKind.UFW_STATUS
    if _FIREWALLD.search(head) and len(_FIREWALLD.findall(head)) >= 2:
        return ArtefactKind.FIREWALLD
    if _SYSCTL.search(head):
        return ArtefactKind.SYSCTL
    if iproute.looks_like_resolv_conf(text):
        return ArtefactKind.RESOLV_CONF
    if _OS_RELEASE.search(head):
        return ArtefactKind.OS_RELEASE
    return ArtefactKind.UNKNOWN


def _json_kind(head: str) -> ArtefactKind:
    compact = re.sub(r"\s+", "", head[:1500])
    if '"schema":"vnetdoctor.probe/' in compact:
        return ArtefactKind.PROBE
    if '"schema":"vnetdoctor.windows-probe/' in compact:
        return ArtefactKind.WINDOWS_PROBE
    if '"nftables":' in compact:
        return ArtefactKind.NFT_JSON
    if '"ifname":' in compact:
        return ArtefactKind.IP_ADDR_JSON
    if '"dst":' in compact:
        return ArtefactKind.IP_ROUTE_JSON
    if '"DefaultInboundAction":' in compact or (
        '"Direction":' in compact and '"Action":' in compact
    ):
        return ArtefactKind.WINDOWS_FIREWALL_JSON
    return ArtefactKind.UNKNOWN
