"""The library entry points: what the CLI calls, for people who import vnetdoctor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vnetdoctor.engine import routes as routing
from vnetdoctor.engine.endpoints import resolve_endpoint
from vnetdoctor.engine.guest_oracle import EvidenceOracle
from vnetdoctor.engine.nsg import engine_for
from vnetdoctor.engine.path import Tracer
from vnetdoctor.errors import ResourceNotFound, UsageError
from vnetdoctor.model.net import MAX_PORT, Protocol
from vnetdoctor.model.snapshot import Snapshot
from vnetdoctor.runbook.context import DiagnosisContext, Query
from vnetdoctor.runbook.runner import Diagnosis, run

PROTOCOLS = {
    "tcp": Protocol.TCP,
    "udp": Protocol.UDP,
    "icmp": Protocol.ICMP,
    "*": Protocol.ANY,
    "any": Protocol.ANY,
}


def load_guest(paths: Sequence[Path]) -> Any:
    """Guest evidence for one VM from probe files, artefact folders or artefact files."""
    from vnetdoctor.guest.load import load_guest_evidence

    return load_guest_evidence(list(paths))


def diagnose(
    snapshot: Snapshot,
    source: str,
    destination: str,
    port: int | None = None,
    protocol: str | Protocol = "tcp",
    *,
    guest: Mapping[str, Any] | None = None,
    concurrent: int | None = None,
    service_tags: Any = None,
    profile: routing.RouteProfile = routing.DEFAULT_PROFILE,
    flow_logs: Any = None,
    fqdn: str | None = None,
    inputs: Sequence[str] = (),
) -> Diagnosis:
    """Why can (or can't) ``source`` reach ``destination`` on ``port``? All nine steps.

    ``source``/``destination`` are VM names or ids, NIC names, classic VM names, or IPs.
    ``guest`` maps VM names to loaded guest evidence (see :func:`load_guest`).
    """
    proto = protocol if isinstance(protocol, Protocol) else PROTOCOLS.get(protocol.casefold())
    if proto is None:
        raise UsageError(f"unknown protocol {protocol!r} (expected tcp, udp or icmp)")
    if port is not None and not 0 <= port <= MAX_PORT:
        raise UsageError(f"port {port} is outside 0-65535")
    if concurrent is not None and concurrent < 0:
        raise UsageError("--concurrent must not be negative")
    src = resolve_endpoint(snapshot, source)
    dst = resolve_endpoint(snapshot, destination)
    query = Query(source=src, destination=dst, protocol=proto, port=port, concurrent=concurrent)
    check_guest_names(snapshot, guest or {})
    folded = {k.casefold(): v for k, v in (guest or {}).items()}
    # The tracer asks the guest evidence too: a load balancer backend's listener (L3).
    tracer = Tracer(
        snapshot,
        engine_for(snapshot, service_tags),
        profile,
        service_tags,
        fqdn=fqdn,
        oracle=EvidenceOracle(folded),
    )
    ctx = DiagnosisContext(snapshot, query, tracer, folded, flow_logs)
    return run(ctx, tuple(inputs))


def check_guest_names(snapshot: Snapshot, guest: Mapping[str, Any]) -> None:
    """Refuse guest evidence given for a name that is no VM of the snapshot."""
    for name in guest:
        _check_guest_name(snapshot, name)


def _check_guest_name(snapshot: Snapshot, name: str) -> None:
    """Evidence given for a VM the snapshot does not have would be silently unused: refuse it."""
    for table in (snapshot.virtual_machines, snapshot.classic_virtual_machines):
        try:
            table.find(name)
        except ResourceNotFound as exc:
            if exc.candidates:
                raise
            continue
        return
    raise UsageError(
        f"--guest {name}: no VM of that name in the snapshot (guest evidence is given per VM name)"
    )
