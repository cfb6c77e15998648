"""The library entry points: what the CLI calls, for people who import vnetdoctor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from vnetdoctor.engine import routes as routing
from vnetdoctor.engine.bastion import find_bastion
from vnetdoctor.engine.destination import resolve_destination
from vnetdoctor.engine.endpoints import resolve_endpoint
from vnetdoctor.engine.fabric import Fabric
from vnetdoctor.engine.guest.oracle import EvidenceOracle
from vnetdoctor.engine.path import Tracer
from vnetdoctor.errors import ResourceNotFound, UsageError
from vnetdoctor.model.evidence import GuestEvidence
from vnetdoctor.model.net import MAX_PORT, IPAddress, Protocol
from vnetdoctor.model.snapshot import Snapshot
from vnetdoctor.runbook.bastion import diagnose_session
from vnetdoctor.runbook.context import DiagnosisContext, Query
from vnetdoctor.runbook.runner import Diagnosis, run

if TYPE_CHECKING:
    from vnetdoctor.flowlogs.api import PathArg
    from vnetdoctor.ingest.servicetags import ServiceTags

# What a diagnosis traces: ESP and AH (which NSG rules may name) have no ports and no path model.
DIAGNOSED_PROTOCOLS: Final = frozenset({Protocol.TCP, Protocol.UDP, Protocol.ICMP, Protocol.ANY})


def parse_protocol(protocol: str | Protocol) -> Protocol:
    """``protocol`` as :func:`diagnose` takes it: Tcp, Udp, Icmp or ``*``/``any`` (any case)."""
    try:
        proto = protocol if isinstance(protocol, Protocol) else Protocol.parse(protocol)
    except ValueError:
        proto = None
    if proto not in DIAGNOSED_PROTOCOLS:
        raise UsageError(f"unknown protocol {protocol!r} (expected tcp, udp or icmp)")
    return proto


def load_guest(paths: Sequence[Path]) -> GuestEvidence:
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
    guest: Mapping[str, GuestEvidence] | None = None,
    concurrent: int | None = None,
    service_tags: ServiceTags | None = None,
    profile: routing.RouteProfile = routing.DEFAULT_PROFILE,
    flow_logs: Sequence[PathArg] | None = None,
    fqdn: str | None = None,
    inputs: Sequence[str] = (),
    fabric: Fabric | None = None,
    pins: Mapping[str, IPAddress] | None = None,
) -> Diagnosis:
    """Why can (or can't) ``source`` reach ``destination`` on ``port``? All nine steps.

    ``source``/``destination`` are VM names or ids, NIC names, classic VM names, or IPs; the
    destination may also be a private endpoint's name or a DNS name, resolved with the source's
    DNS settings in a step 0 (``pins``: answers given with ``--resolve NAME=IP``). ``source``
    may also name an Azure Bastion host (a session to ``destination`` on ``port``; the
    destination is then a VM, NIC or IP).
    ``guest`` maps VM names to loaded guest evidence (see :func:`load_guest`), ``service_tags``
    is :func:`vnetdoctor.load_service_tags`'s answer, ``flow_logs`` the flow-log files or folders
    to read (see :func:`vnetdoctor.flowlogs.pair_evidence`).

    Bad input raises :class:`~vnetdoctor.errors.UsageError` (or
    :class:`~vnetdoctor.errors.ResourceNotFound`). A step that raises does not: its status is
    :attr:`Status.ERROR <vnetdoctor.codes.Status.ERROR>` with an ``INTERNAL_ERROR`` finding, the
    other steps still run, and :attr:`Diagnosis.internal_error` holds what it raised.
    ``fabric``: the snapshot's :class:`~vnetdoctor.engine.fabric.Fabric`, to share compiled NSGs
    and route tables between many diagnoses of one snapshot (a new one otherwise).
    """
    proto = parse_protocol(protocol)
    if port is not None and not 0 <= port <= MAX_PORT:
        raise UsageError(f"port {port} is outside 0-65535")
    if concurrent is not None and concurrent < 0:
        raise UsageError("--concurrent must not be negative")
    host = find_bastion(snapshot, source)
    if host is None:
        src = resolve_endpoint(snapshot, source)
        dst, resolution = resolve_destination(snapshot, src, destination, pins)
        query = Query(source=src, destination=dst, protocol=proto, port=port,
                      concurrent=concurrent, resolution=resolution)
    else:
        dst = resolve_endpoint(snapshot, destination)
    folded = {k.casefold(): v for k, v in check_guest_names(snapshot, guest or {}).items()}
    # The tracer asks the guest evidence too: a load balancer backend's listener (L3).
    tracer = Tracer(
        snapshot,
        Fabric(snapshot) if fabric is None else fabric,
        profile,
        service_tags,
        fqdn=fqdn,
        oracle=EvidenceOracle(folded),
    )
    if host is not None:  # an Azure Bastion session (B1-B7)
        return diagnose_session(snapshot, host, dst, proto, port, tracer, concurrent=concurrent,
                                guest=folded, flow_logs=flow_logs, inputs=tuple(inputs))
    ctx = DiagnosisContext(snapshot, query, tracer, folded, flow_logs)
    return run(ctx, tuple(inputs))


def check_guest_names(
    snapshot: Snapshot, guest: Mapping[str, GuestEvidence]
) -> dict[str, GuestEvidence]:
    """Refuse guest evidence given for a name that is no VM of the snapshot; the evidence keyed
    by each VM's own name, so that a scale-set instance may be named any way ``--from`` takes
    (``vmss/3``, its computer name, its id)."""
    return {_check_guest_name(snapshot, name): evidence for name, evidence in guest.items()}


def _check_guest_name(snapshot: Snapshot, name: str) -> str:
    """Evidence given for a VM the snapshot does not have would be silently unused: refuse it."""
    tables: tuple[Any, ...] = (snapshot.virtual_machines, snapshot.classic_virtual_machines)
    for table in tables:
        try:
            found = table.find(name)
        except ResourceNotFound as exc:
            if exc.candidates:
                raise
            continue
        return str(found.name) if table is snapshot.virtual_machines else name
    raise UsageError(
        f"--guest {name}: no VM of that name in the snapshot (guest evidence is given per VM name)"
    )
