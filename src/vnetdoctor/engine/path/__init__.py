"""The hop-by-hop path of one packet through Azure (:mod:`.tracer`)."""

from vnetdoctor.engine.path.tracer import (
    MAX_HOPS,
    Hop,
    Issue,
    Outcome,
    Trace,
    Tracer,
    _Builder,
    firewall_interface,
    nsg_command,
)

__all__ = [
    "MAX_HOPS",
    "Hop",
    "Issue",
    "Outcome",
    "Trace",
    "Tracer",
    "_Builder",
    "firewall_interface",
    "nsg_command",
]
