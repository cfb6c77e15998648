"""The Linux code path of ``vnetdoctor probe``.

JSON where the tool offers it (``ip -j``, ``nft -j``), text otherwise. Both ``iptables-save``
and ``nft -j list ruleset`` are collected (dependencies.md 6.1: on iptables-nft systems nft's
JSON hides match details behind ``xt`` objects, while native nft tables appear only in nft's
output); ``iptables-legacy-save`` follows when ``iptables-save`` warns that legacy tables exist.
Reading the firewall needs root; without it those captures record "permission denied", and
everything else is still collected. ``LC_ALL=C`` keeps the output unlocalised.
"""

from __future__ import annotations

from typing import Final

from vnetdoctor.probe.runner import Command

__all__ = ["LINUX_ENV", "LINUX_FILES", "legacy_commands", "linux_commands"]

LINUX_ENV: Final = {"LC_ALL": "C", "LANG": "C"}
LINUX_FILES: Final = (("resolv-conf", "/etc/resolv.conf"), ("os-release", "/etc/os-release"))


def linux_commands(timeout: float) -> tuple[Command, ...]:
    return (
        Command("ip-addr-json", ("ip", "-j", "addr", "show"), timeout=timeout),
        Command(
            "ip-route-json", ("ip", "-j", "-4", "route", "show", "table", "main"), timeout=timeout
        ),
        Command(
            "ip-route-json", ("ip", "-j", "-6", "route", "show", "table", "main"), timeout=timeout
        ),
        Command("ss", ("ss", "-l", "-t", "-u", "-n", "-p"), timeout=timeout),
        Command("iptables-save", ("iptables-save",), timeout=timeout, needs_admin=True),
        Command("ip6tables-save", ("ip6tables-save",), timeout=timeout, needs_admin=True),
        Command("nft-json", ("nft", "-j", "list", "ruleset"), timeout=timeout, needs_admin=True),
        Command(
            "sysctl",
            ("sysctl", "net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"),
            timeout=timeout,
        ),
    )


def fallback_listeners(timeout: float) -> Command:
    """``netstat`` when ``ss`` is missing (very old or minimal images)."""
    return Command("netstat-linux", ("netstat", "-l", "-t", "-u", "-n", "-p"), timeout=timeout)


def legacy_commands(timeout: float) -> tuple[Command, ...]:
    return (
        Command(
            "iptables-legacy-save", ("iptables-legacy-save",), timeout=timeout, needs_admin=True
        ),
        Command(
            "ip6tables-legacy-save", ("ip6tables-legacy-save",), timeout=timeout, needs_admin=True
        ),
    )
