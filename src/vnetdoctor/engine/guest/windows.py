"""Windows Firewall (Windows Defender Firewall with Advanced Security) evaluation.

Semantics (Microsoft Learn, "Windows Firewall rules" and ``Set-NetFirewallProfile``):

- The profile that applies is the one of the network the traffic arrives on (the interface's
  network category: Domain, Private or Public). An Azure VM's NIC is usually Public, or Domain
  when the VM is domain joined. When the category is not in the evidence, the answer must hold
  for every profile, else it is unknown.
- A profile that is off (``Enabled: False``) filters nothing.
- ``AllowInboundRules: False`` ("block all incoming connections") blocks every inbound
  connection whatever the allow rules say.
- ``AllowLocalFirewallRules: False`` (set by Group Policy) ignores rules from the local store
  (``PolicyStoreSource: PersistentStore``).
- Block rules take precedence over allow rules; an allow rule that matches lets the connection
  in; otherwise the profile's default action decides (``NotConfigured`` means Windows' default:
  inbound Block, outbound Allow). The firewall is stateful: replies need no rule.
- A rule matches on protocol, local and remote port and address (``Any``, lists, ranges,
  ``a.b.c.d/mask``, ``LocalSubnet``...), program, service and interface type. A field that the
  export did not carry, or a keyword whose members are not in the evidence (``Internet``,
  ``DNS``, ``RPC``...), matches *maybe*, and a verdict that depends on it is unknown.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Final

from vnetdoctor.engine.guest.common import Decision, GuestVerdict, Tri, tri_and
from vnetdoctor.model.evidence import (
    GuestEvidence,
    WindowsFirewall,
    WindowsFirewallProfile,
    WindowsFirewallRule,
)
from vnetdoctor.model.net import WINDOWS_PROTOCOL_NUMBERS, Flow, IPAddress, Protocol
from vnetdoctor.model.security import Direction

__all__ = ["PROFILES", "windows_decision"]

PROFILES: Final = ("Domain", "Private", "Public")
_MODELLED: Final = frozenset({Protocol.TCP, Protocol.UDP, Protocol.ICMP})
_ADDRESS_KEYWORDS: Final = frozenset(
    {
        "internet",
        "intranet",
        "intranetremoteaccess",
        "dns",
        "dhcp",
        "wins",
        "defaultgateway",
        "playtodevice",
        "remotecorpnetwork",
        "ply2renders",
        "captiveportaladdresses",
        "localintranet",
        "cloudresources",
        "emptyset",
    }
)


def _profile_names(rule: WindowsFirewallRule) -> set[str] | None:
    if rule.profiles is None:
        return None
    names = set(rule.profiles)
    if "Any" in names:
        return set(PROFILES)
    return names


def _port_tri(specs: tuple[str, ...] | None, port: int | None, what: str) -> tuple[Tri, str | None]:
    if specs is None:
        return Tri.MAYBE, f"the export does not show the rule's {what}s"
    best = Tri.NO
    for spec in specs:
        text = spec.strip()
        if text.casefold() in ("any", "*"):
            return Tri.YES, None
        lo, sep, hi = text.partition("-")
        if lo.isdigit() and (not sep or hi.isdigit()):
            if port is None:
                best = max(best, Tri.MAYBE)
                continue
            if int(lo) <= port <= int(hi if sep else lo):
                return Tri.YES, None
            continue
        best = max(best, Tri.MAYBE)  # RPC, RPC-EPMap, IPHTTPSIn, PlayToDiscovery...
    reason = None
    if best is Tri.MAYBE:
        reason = f"{what} {', '.join(specs)} depends on something not in the evidence"
    return best, reason


def _address_tri(
    specs: tuple[str, ...] | None, address: IPAddress, evidence: GuestEvidence, what: str
) -> tuple[Tri, str | None]:
    if specs is None:
        return Tri.MAYBE, f"the export does not show the rule's {what}es"
    best = Tri.NO
    reason: str | None = None
    for spec in specs:
        text = spec.strip()
        folded = text.casefold()
        if folded in ("any", "*"):
            return Tri.YES, None
        if folded in ("localsubnet", "localsubnet4", "localsubnet6"):
            result = _in_local_subnet(address, evidence)
        elif folded in _ADDRESS_KEYWORDS:
            result = Tri.MAYBE
        else:
            result = _address_spec(text, address)
        if result is Tri.YES:
            return Tri.YES, None
        if result is Tri.MAYBE and reason is None:
            reason = f"{what} {text!r} depends on something not in the evidence"
        best = max(best, result)
    return best, reason


def _address_spec(text: str, address: IPAddress) -> Tri:
    try:
        if "-" in text:
            lo_text, _, hi_text = text.partition("-")
            lo, hi = ipaddress.ip_address(lo_text.strip()), ipaddress.ip_address(hi_text.strip())
            if lo.version != address.version:
                return Tri.NO
            return Tri.YES if lo <= address <= hi else Tri.NO  # type: ignore[operator]
        network = ipaddress.ip_network(text, strict=False)  # also a.b.c.d/255.255.255.0
    except ValueError:
        return Tri.MAYBE
    if network.version != address.version:
        return Tri.NO
    return Tri.YES if address in network else Tri.NO


def _in_local_subnet(address: IPAddress, evidence: GuestEvidence) -> Tri:
    if evidence.adapters is None:
        return Tri.MAYBE
    unknown = False
    for adapter in evidence.adapters:
        for configured in adapter.addresses:
            if configured.prefix_length is None:
                unknown = True
                continue
            network = ipaddress.ip_network(
                f"{configured.address}/{configured.prefix_length}", strict=False
            )
            if network.version == address.version and address in network:
                return Tri.YES
    return Tri.MAYBE if unknown else Tri.NO


def _program_tri(
    rule: WindowsFirewallRule, evidence: GuestEvidence, local_port: int | None, protocol: Protocol
) -> tuple[Tri, str | None]:
    program, service = rule.program, rule.service
    results: list[tuple[Tri, str | None]] = []
    for label, value in (("program", program), ("service", service)):
        if value is None:
            # Not in the export (netsh without `verbose`, rule objects without their filters):
            # with the port filter known this is read as "any", and the caller states it as an
            # assumption; with the port filter unknown too, the rule is only a maybe.
            if rule.local_ports is None or rule.protocol is None:
                results.append((Tri.MAYBE, f"the export does not show the rule's {label}"))
            continue
        if value.casefold() in ("any", "*", ""):
            continue
        if label == "program" and local_port is not None:
            owner = _listener_process(evidence, local_port, protocol)
            base = value.replace("/", "\\").rsplit("\\", 1)[-1].casefold().removesuffix(".exe")
            if owner is not None:
                same = owner.casefold().removesuffix(".exe") == base or (
                    value.casefold() == "system" and owner.casefold() == "system"
                )
                results.append((Tri.YES if same else Tri.NO, None))
                continue
        results.append((Tri.MAYBE, f"the rule applies only to {label} {value!r}"))
    return (
        tri_and(*(r[0] for r in results)),
        next((r[1] for r in results if r[0] is Tri.MAYBE), None),
    )


def _listener_process(evidence: GuestEvidence, port: int, protocol: Protocol) -> str | None:
    names = {
        s.process
        for s in evidence.sockets
        if s.port == port and s.protocol is protocol and s.process
    }
    return names.pop() if len(names) == 1 else None


def _rule_tri(
    rule: WindowsFirewallRule,
    flow: Flow,
    direction: Direction,
    profile: str,
    evidence: GuestEvidence,
    fw: WindowsFirewall,
) -> tuple[Tri, str | None]:
    want = "Inbound" if direction is Direction.INBOUND else "Outbound"
    if rule.direction is not None and rule.direction != want:
        return Tri.NO, None
    conditions: list[tuple[Tri, str | None]] = []
    if rule.direction is None:
        conditions.append((Tri.MAYBE, "the rule's direction is not readable"))
    if rule.enabled is False:
        return Tri.NO, None
    if rule.enabled is None:
        conditions.append((Tri.MAYBE, "whether the rule is enabled is not readable"))
    profiles = _profile_names(rule)
    if profiles is None:
        conditions.append((Tri.MAYBE, "the rule's profiles are not readable"))
    elif profile not in profiles:
        return Tri.NO, None
    local_rules_off = any(
        p.allow_local_firewall_rules is False for p in fw.profiles if p.name == profile
    )
    if local_rules_off:
        if rule.policy_store is None:
            conditions.append(
                (Tri.MAYBE, "local rules are ignored by policy, and this rule's store is not known")
            )
        elif rule.policy_store.casefold() in ("persistentstore", "local"):
            return Tri.NO, None
    # protocol
    number = flow.protocol.ip_number(flow.destination.version)
    if rule.protocol is None:
        conditions.append((Tri.MAYBE, "the export does not show the rule's protocol"))
    else:
        text = rule.protocol.strip().casefold()
        if text not in ("any", "*", "256"):
            wanted = int(text) if text.isdigit() else WINDOWS_PROTOCOL_NUMBERS.get(text)
            if wanted is None:
                conditions.append((Tri.MAYBE, f"protocol {rule.protocol!r}"))
            elif wanted != number:
                return Tri.NO, None
    inbound = direction is Direction.INBOUND
    local_ip, remote_ip = (
        (flow.destination, flow.source) if inbound else (flow.source, flow.destination)
    )
    local_port = flow.destination_port if inbound else flow.source_port
    remote_port = flow.source_port if inbound else flow.destination_port
    if flow.protocol in (Protocol.TCP, Protocol.UDP):
        conditions.append(_port_tri(rule.local_ports, local_port, "local port"))
        conditions.append(_port_tri(rule.remote_ports, remote_port, "remote port"))
    conditions.append(_address_tri(rule.local_addresses, local_ip, evidence, "local address"))
    conditions.append(_address_tri(rule.remote_addresses, remote_ip, evidence, "remote address"))
    conditions.append(_program_tri(rule, evidence, local_port if inbound else None, flow.protocol))
    if rule.interface_types is not None:
        kinds = {t.casefold() for t in rule.interface_types}
        if not kinds & {"any", "wired", "lan"}:
            return Tri.NO, None  # an Azure NIC is a wired (Hyper-V Ethernet) adapter
    result = tri_and(*(c[0] for c in conditions))
    return result, next((c[1] for c in conditions if c[0] is Tri.MAYBE and c[1]), None)


def _profile_decision(
    fw: WindowsFirewall, evidence: GuestEvidence, flow: Flow, direction: Direction, profile: str
) -> Decision:
    settings = next((p for p in fw.profiles if p.name == profile), None)
    source = settings.source if settings else fw.source
    if settings is not None and settings.enabled is False:
        return Decision(GuestVerdict.ALLOW, f"Windows Firewall {profile} profile is off", source)
    inbound = direction is Direction.INBOUND
    way = "inbound" if inbound else "outbound"
    if inbound and settings is not None and settings.allow_inbound_rules is False:
        return Decision(
            GuestVerdict.DENY,
            f"Windows Firewall {profile} profile blocks all incoming connections "
            "(AllowInboundRules False)",
            source,
        )
    block: list[tuple[WindowsFirewallRule, Tri, str | None]] = []
    allow: list[tuple[WindowsFirewallRule, Tri, str | None]] = []
    unreadable: list[tuple[WindowsFirewallRule, Tri, str | None]] = []
    for rule in fw.rules:
        tri, why = _rule_tri(rule, flow, direction, profile, evidence, fw)
        if tri is Tri.NO:
            continue
        if rule.action == "Block":
            block.append((rule, tri, why))
        elif rule.action in ("Allow", "Bypass"):
            allow.append(
                (
                    rule,
                    tri if rule.action == "Allow" else Tri.MAYBE,
                    why
                    or (
                        "an authenticated-bypass rule applies only to IPsec-secured traffic"
                        if rule.action == "Bypass"
                        else None
                    ),
                )
            )
        else:
            unreadable.append(
                (rule, Tri.MAYBE, f"the rule's action {rule.action!r} is not readable")
            )
    for rule, tri, _ in block:
        if tri is Tri.YES:
            return Decision(
                GuestVerdict.DENY,
                f'Windows Firewall rule "{rule.label}" (Block)',
                rule.source,
                ("block rules take precedence over allow rules",),
            )
    default = _default(settings, inbound)
    base: Decision
    sure_allow = next((r for r, t, _ in allow if t is Tri.YES), None)
    if sure_allow is not None:
        base = Decision(
            GuestVerdict.ALLOW,
            f'Windows Firewall rule "{sure_allow.label}" (Allow)',
            sure_allow.source,
        )
    else:
        maybe_allow = next(((r, why) for r, t, why in allow if t is Tri.MAYBE), None)
        if default is GuestVerdict.ALLOW:
            base = Decision(
                GuestVerdict.ALLOW,
                f"Windows Firewall {profile} profile default {way} action Allow",
                source,
            )
        elif maybe_allow is not None and default is GuestVerdict.DENY:
            rule, why = maybe_allow
            base = Decision(
                GuestVerdict.UNKNOWN,
                f'Windows Firewall rule "{rule.label}" (Allow)',
                rule.source,
                (f"cannot tell whether this allow rule matches ({why})",),
            )
        elif default is GuestVerdict.DENY:
            base = Decision(
                GuestVerdict.DENY,
                f"Windows Firewall {profile} profile default {way} action "
                f"{_action_text(settings, inbound)} (no allow rule matches)",
                source,
            )
        else:
            base = Decision(
                GuestVerdict.UNKNOWN,
                None,
                source,
                (f"the {profile} profile's default action is not in the evidence",),
            )
    if base.verdict is GuestVerdict.ALLOW:
        doubt = next(((r, why) for r, t, why in [*block, *unreadable] if t is Tri.MAYBE), None)
        if doubt is not None:
            rule, why = doubt
            return Decision(
                GuestVerdict.UNKNOWN,
                f'Windows Firewall rule "{rule.label}" ({rule.action})',
                rule.source,
                (f"cannot tell whether this rule matches ({why})",),
            )
    if (settings is None or settings.enabled is None) and base.verdict is GuestVerdict.DENY:
        return Decision(
            GuestVerdict.UNKNOWN,
            base.rule,
            base.source,
            (f"whether the {profile} profile is on is not in the evidence", *base.reasons),
        )
    return base


def _action_text(settings: WindowsFirewallProfile | None, inbound: bool) -> str:
    if settings is None:
        return "unknown"
    action = settings.default_inbound_action if inbound else settings.default_outbound_action
    return action or "unknown"


def _default(settings: WindowsFirewallProfile | None, inbound: bool) -> GuestVerdict:
    if settings is None:
        return GuestVerdict.UNKNOWN
    action = settings.default_inbound_action if inbound else settings.default_outbound_action
    if action is None:
        return GuestVerdict.UNKNOWN
    if action == "NotConfigured":
        return GuestVerdict.DENY if inbound else GuestVerdict.ALLOW
    return GuestVerdict.ALLOW if action == "Allow" else GuestVerdict.DENY


def windows_decision(
    fw: WindowsFirewall, evidence: GuestEvidence, flow: Flow, direction: Direction
) -> Decision:
    """The Windows Firewall's answer for ``flow`` arriving (``INBOUND``) or leaving."""
    if flow.protocol not in _MODELLED:
        return Decision(
            GuestVerdict.UNKNOWN,
            None,
            fw.source,
            (f"protocol {flow.protocol.value} is not modelled for Windows Firewall",),
        )
    local_ip = flow.destination if direction is Direction.INBOUND else flow.source
    profiles = _active_profiles(fw, evidence, local_ip)
    decisions = [(p, _profile_decision(fw, evidence, flow, direction, p)) for p in profiles]
    verdicts = {d.verdict for _, d in decisions}
    if len(verdicts) == 1:
        decision = decisions[0][1]
        if len(profiles) > 1:
            return Decision(
                decision.verdict,
                decision.rule,
                decision.source,
                (
                    *decision.reasons,
                    "the same in every profile (the NIC's network category is not in the evidence)",
                ),
            )
        return decision
    return Decision(
        GuestVerdict.UNKNOWN,
        None,
        fw.source,
        (
            "the answer depends on which profile applies, and the NIC's network category is not in "
            "the evidence: " + "; ".join(f"{p}: {d.verdict.value}" for p, d in decisions),
        ),
    )


def _active_profiles(
    fw: WindowsFirewall, evidence: GuestEvidence, local_ip: IPAddress
) -> Sequence[str]:
    adapter = evidence.adapter_with(local_ip)
    if adapter is not None:
        for alias, category in fw.interface_categories:
            if alias == adapter.name and category in PROFILES:
                return (category,)
    if len(fw.interface_categories) == 1 and fw.interface_categories[0][1] in PROFILES:
        return (fw.interface_categories[0][1],)
    return PROFILES
