"""Guest findings: the guest evaluators' answers (:mod:`vnetdoctor.engine.guest`) for one flow,
as findings of steps 1, 3, 4 and 8 with their evidence file and line, remediation and command."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from vnetdoctor.engine.guest import (
    SMB_PORT,
    GhostNicCheck,
    GhostStatus,
    GuestFirewallDecision,
    GuestVerdict,
    ListenerCheck,
    ListenerStatus,
    NicIpCheck,
    NicIpStatus,
    SmbCheck,
    firewall_verdict,
    ghost_nic_check,
    listener_check,
    nic_ip_check,
    smb_check,
)
from vnetdoctor.model.evidence import GuestEvidence, SourceRef
from vnetdoctor.model.net import Flow, IPAddress, Protocol
from vnetdoctor.model.security import Direction
from vnetdoctor.runbook.findings import Status, finding

__all__ = ["GuestFinding", "guest_findings"]


class GuestFinding(msgspec.Struct, frozen=True, kw_only=True):
    """One guest finding. ``status`` is the step status it implies (``pass``, ``fail``,
    ``warn``, ``unknown``); ``code`` is stable API: the failing codes are DESIGN.md's
    (``GUEST_FIREWALL_DENY``, ``NO_LISTENER``, ``LISTENER_LOOPBACK_ONLY``,
    ``NIC_GUEST_IP_MISMATCH``, ``GHOST_NIC``, ``SMB_BLOCKED``); the others say what passed
    (``GUEST_FIREWALL_ALLOW``, ``LISTENER_OK``, ``NIC_GUEST_IP_MATCH``, ``GHOST_NIC_NONE``,
    ``SMB_OK``) or could
    not be told (``GUEST_FIREWALL_UNKNOWN``, ``LISTENER_UNKNOWN``, ``NIC_GUEST_IP_UNKNOWN``,
    ``GHOST_NIC_UNKNOWN``, ``SMB_UNKNOWN``). ``resource`` is the evidence file and line. Step,
    status and severity are the catalogue's (:data:`vnetdoctor.codes.CODES`), as for every
    other finding; ``role`` says which end of the flow the guest is."""

    code: str
    step: int
    status: str
    severity: str
    message: str
    role: str
    resource: str | None = None
    pointer: str | None = None
    remediation: str = ""
    command: str | None = None
    evidence: SourceRef | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity,
            "step": self.step,
            "status": self.status,
            "message": self.message,
            "resource": self.resource,
            "pointer": self.pointer,
            "remediation": self.remediation,
            "command": self.command,
        }


def guest_findings(
    flow: Flow,
    *,
    source: GuestEvidence | None = None,
    destination: GuestEvidence | None = None,
    source_nic_ips: Sequence[IPAddress] = (),
    destination_nic_ips: Sequence[IPAddress] = (),
) -> tuple[GuestFinding, ...]:
    """Every guest finding for ``flow``, in path order (source, then destination; steps 1, 3, 4,
    8). An end without evidence yields nothing: the caller reports that step as unknown."""
    found: list[GuestFinding] = []
    for role, evidence, nic_ips in (
        ("source", source, source_nic_ips),
        ("destination", destination, destination_nic_ips),
    ):
        if evidence is None:
            continue
        if nic_ips:
            found.append(_nic_finding(nic_ip_check(evidence, nic_ips), role, evidence))
        way = Direction.OUTBOUND if role == "source" else Direction.INBOUND
        found.append(_firewall_finding(firewall_verdict(evidence, flow, way), flow, role))
        if (
            role == "destination"
            and flow.destination_port is not None
            and flow.protocol in (Protocol.TCP, Protocol.UDP)
        ):
            found.append(
                _listener_finding(
                    listener_check(
                        evidence, flow.destination, flow.destination_port, flow.protocol
                    ),
                    role,
                )
            )
        ghost = ghost_nic_check(evidence, nic_ips)
        if ghost.status is not GhostStatus.NOT_APPLICABLE:
            found.append(_ghost_finding(ghost, role))
    if (
        flow.destination_port == SMB_PORT
        and flow.protocol is Protocol.TCP
        and destination is not None
    ):
        found.append(_smb_finding(smb_check(flow, destination=destination, source=source)))
    return tuple(found)


def _finding(
    code: str,
    role: str,
    message: str,
    *,
    evidence: SourceRef | None = None,
    remediation: str = "",
    command: str | None = None,
    status: Status | None = None,
) -> GuestFinding:
    """A guest finding whose step, status and severity are the catalogue's for ``code``
    (``status`` overrides the default, as :func:`~vnetdoctor.runbook.findings.finding` allows)."""
    base = finding(code, message, status=status)
    return GuestFinding(
        code=code,
        step=base.step,
        status=base.status.value,
        severity=base.severity.value,
        message=message,
        role=role,
        resource=None if evidence is None else str(evidence),
        pointer=None if evidence is None else evidence.pointer,
        remediation=remediation,
        command=command,
        evidence=evidence,
    )


def _nic_finding(check: NicIpCheck, role: str, evidence: GuestEvidence) -> GuestFinding:
    if check.status is NicIpStatus.MATCH:
        return _finding(
            "NIC_GUEST_IP_MATCH",
            role,
            f"The {role} guest holds its Azure IP {', '.join(map(str, check.azure_addresses))}.",
            evidence=check.source,
        )
    if check.status is NicIpStatus.UNKNOWN:
        return _finding(
            "NIC_GUEST_IP_UNKNOWN",
            role,
            f"Cannot compare the {role} guest's IP with Azure's: {'; '.join(check.reasons)}.",
            evidence=check.source,
        )
    ip = check.missing[0]
    return _finding(
        "NIC_GUEST_IP_MISMATCH",
        role,
        f"The {role} guest ({evidence.hostname or evidence.source}) does not use its "
        "Azure IP: " + "; ".join(check.reasons) + ". Azure delivers traffic only to the NIC's IP.",
        evidence=check.source,
        remediation=f"Configure the guest for DHCP so it takes {ip} from Azure; to pin an "
        "address, set "
        "it static on the NIC in Azure, not inside the VM. If the VM is unreachable, reset "
        "the NIC (Azure portal: change the NIC's private IP, or `az vm repair reset-nic`).",
        command="az vm repair reset-nic --resource-group <rg> --name <vm> --yes",
    )


def _firewall_finding(decision: GuestFirewallDecision, flow: Flow, role: str) -> GuestFinding:
    what = f"{flow.protocol.value.upper()} {flow.source} -> {flow.destination}" + (
        f":{flow.destination_port}" if flow.destination_port is not None else ""
    )
    side = "outbound on the source" if role == "source" else "inbound on the destination"
    assumed = (
        (" Assumption: " + "; ".join(decision.assumptions) + ".") if decision.assumptions else ""
    )
    if decision.verdict is GuestVerdict.ALLOW:
        return _finding(
            "GUEST_FIREWALL_ALLOW",
            role,
            f"The {role} guest firewall ({decision.engine}) allows {what} {side}.{assumed}",
            evidence=decision.source,
        )
    if decision.verdict is GuestVerdict.UNKNOWN:
        return _finding(
            "GUEST_FIREWALL_UNKNOWN",
            role,
            f"Cannot tell whether the {role} guest firewall allows {what} {side}: "
            + "; ".join(decision.reasons)
            + (f" (at {decision.rule})" if decision.rule else "")
            + f".{assumed}",
            evidence=decision.source,
        )
    packet = " (it drops the reply packets)" if decision.packet == "reply" else ""
    remediation, command = _firewall_fix(decision, flow, role)
    return _finding(
        "GUEST_FIREWALL_DENY",
        role,
        f"The {role} guest firewall ({decision.engine}) blocks {what} {side}{packet}: "
        f"{decision.rule}.{assumed}",
        evidence=decision.source,
        remediation=remediation,
        command=command,
    )


def _firewall_fix(decision: GuestFirewallDecision, flow: Flow, role: str) -> tuple[str, str | None]:
    port = flow.destination_port
    proto = flow.protocol.value.lower()
    inbound = role == "destination"
    where = f" ({decision.resource})" if decision.resource else ""
    if decision.engine == "windows-firewall":
        rule = decision.rule or ""
        if "(Block)" in rule:
            name = rule.split('"')[1] if '"' in rule else rule
            return (
                "Block rules win over allow rules in Windows Firewall: disable or narrow "
                f"{rule}{where}.",
                f'Disable-NetFirewallRule -DisplayName "{name}"',
            )
        if "blocks all incoming" in rule:
            return (
                "Turn off 'Block all incoming connections' for the profile.",
                "Set-NetFirewallProfile -Profile Domain,Private,Public -AllowInboundRules True",
            )
        direction = "Inbound" if inbound else "Outbound"
        port_flag = (
            f" -{'LocalPort' if inbound else 'RemotePort'} {port}" if port is not None else ""
        )
        peer = flow.source if inbound else flow.destination
        return (
            f"Add an allow rule for the flow{where}.",
            f'New-NetFirewallRule -DisplayName "Allow {proto.upper()} {port} '
            f'{"from" if inbound else "to"} {peer}" '
            f"-Direction {direction} -Protocol {proto.upper()}{port_flag} "
            f"-RemoteAddress {peer} -Action Allow",
        )
    if decision.packet == "reply":
        chain = "OUTPUT" if inbound else "INPUT"
        return (
            "The firewall drops the connection's replies: accept established traffic in "
            f"{chain}{where}.",
            f"iptables -I {chain} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
        )
    chain_label = decision.chain or ""
    if chain_label.startswith("nft "):
        _, family, table, chain = [*chain_label.split(), "", "", "", ""][:4]
        field = "saddr" if inbound else "daddr"
        nft_peer = flow.source if inbound else flow.destination
        ip_kw = "ip" if flow.destination.version == 4 else "ip6"
        port_part = f" {proto} dport {port}" if port is not None else ""
        return (
            f"Accept the flow before the rule that drops it{where} (and persist it in "
            "/etc/nftables.conf "
            "or your firewall manager).",
            f"nft insert rule {family} {table} {chain} {ip_kw} {field} {nft_peer}{port_part} "
            "accept",
        )
    chain = "INPUT" if inbound else "OUTPUT"
    flag = "-s" if inbound else "-d"
    peer_ip = flow.source if inbound else flow.destination
    binary = "iptables" if flow.destination.version == 4 else "ip6tables"
    port_part = f" -p {proto} --dport {port}" if port is not None else ""
    return (
        f"Accept the flow before the rule that drops it{where}, then persist it "
        "(netfilter-persistent, "
        "firewalld or ufw, whichever manages this VM's firewall).",
        f"{binary} -I {chain} {flag} {peer_ip}{port_part} -j ACCEPT",
    )


def _proto(protocol: Protocol) -> str:
    return protocol.value.upper()


def _listener_finding(check: ListenerCheck, role: str) -> GuestFinding:
    target = f"{_proto(check.protocol)} {check.address}:{check.port}"
    if check.status is ListenerStatus.LISTENING:
        process = f" ({check.socket.process})" if check.socket and check.socket.process else ""
        return _finding(
            "LISTENER_OK",
            role,
            f"Something listens on {target}{process}, bound to "
            f"{check.socket.address_text if check.socket else '?'}.",
            evidence=check.source,
        )
    if check.status is ListenerStatus.UNKNOWN:
        return _finding(
            "LISTENER_UNKNOWN",
            role,
            f"Cannot tell whether anything listens on {target}: {'; '.join(check.reasons)}.",
            evidence=check.source,
        )
    if check.status is ListenerStatus.LOOPBACK_ONLY:
        return _finding(
            "LISTENER_LOOPBACK_ONLY",
            role,
            f"The service on port {check.port} listens on "
            f"{check.socket.address_text if check.socket else 'loopback'} "
            f"only: it works locally but not from other machines.",
            evidence=check.source,
            remediation="Bind the service to 0.0.0.0 (all addresses) or to "
            f"{check.address} in its configuration "
            "(bind-address, listen_addresses, Listen...), then restart it.",
        )
    return _finding(
        "NO_LISTENER",
        role,
        f"Nothing listens on {target}: {'; '.join(check.reasons)}.",
        evidence=check.source,
        remediation="Start the service that should answer on this port, or correct the port or "
        "address it is "
        "configured to listen on.",
        command="ss -ltnp   # Windows: Get-NetTCPConnection -State Listen",
    )


def _ghost_finding(check: GhostNicCheck, role: str) -> GuestFinding:
    if check.status is GhostStatus.NONE:
        return _finding(
            "GHOST_NIC_NONE",
            role,
            f"No unavailable (ghost) network adapters in the {role} guest.",
        )
    if check.status is GhostStatus.UNKNOWN:
        return _finding(
            "GHOST_NIC_UNKNOWN",
            role,
            f"Cannot check the {role} guest for ghost NICs: {'; '.join(check.reasons)}.",
        )
    return _finding(
        "GHOST_NIC",
        role,
        f"The {role} guest has {'; '.join(check.reasons)}"
        + (", one of which still holds the NIC's IP" if check.holds_azure_ip else "")
        + ".",
        evidence=check.source,
        remediation="Device Manager > View > Show hidden devices: uninstall the greyed-out "
        "'Microsoft Hyper-V Network Adapter' entries (only those), then reconfigure the active "
        "adapter.",
        command="pnputil /enum-devices /class Net /disconnected   "
        "# then: pnputil /remove-device <InstanceId>",
        status=Status.FAIL if check.holds_azure_ip else None,  # an adapter holding the IP breaks it
    )


def _smb_finding(check: SmbCheck) -> GuestFinding:
    role = "destination"
    if check.status is GuestVerdict.ALLOW:
        return _finding(
            "SMB_OK",
            role,
            "SMB (TCP 445) is open in the guests' firewalls and served on the destination.",
        )
    if check.status is GuestVerdict.UNKNOWN:
        return _finding(
            "SMB_UNKNOWN",
            role,
            f"Cannot tell whether SMB (TCP 445) works: {'; '.join(check.reasons)}.",
        )
    return _finding(
        "SMB_BLOCKED",
        role,
        f"SMB (TCP 445) cannot work: {'; '.join(check.reasons)}.",
        evidence=check.source,
        remediation="Allow TCP 445 in the file server's firewall and make sure the Server service "
        "(LanmanServer) runs; outbound 445 must be open on the client too.",
        command='Enable-NetFirewallRule -DisplayGroup "File and Printer Sharing"; '
        "Start-Service LanmanServer",
    )
