"""The hop-by-hop path of one packet through Azure, and everything that stops it.

From the source NIC: its outbound NSG layers, the route lookup, then each hop: within the VNet,
across a peering (forwarded traffic needs the receiving side's ``allowForwardedTraffic``),
through a virtual appliance (its NIC must forward IP; its own NSGs apply in and out), to a
gateway or the Internet; into the destination subnet and NIC inbound NSG layers. The trace does
not stop at the first blocker: it carries on as if each were fixed, so that the answer lists every
blocker on the path. Loops are detected. Every decision names the resource and JSON pointer behind
it. The return path is checked for asymmetry through appliances.

Peering and gateway reasons (a missing or disconnected peering, transit) are judged by
:mod:`vnetdoctor.engine.intervnet`; the trace records where the route left the packet.

The modules: :mod:`.records` (what a trace records), :mod:`.tracer` (the walk, route lookups and
NSG steps), :mod:`.lb` (load balancer frontends and backends), :mod:`.appliances` (virtual
appliances, Azure Firewall, the Internet, the return path), :mod:`.peering`, and
:mod:`.oracle` (what the trace asks of guests; the fabric does not evaluate guest evidence).
"""

from vnetdoctor.engine.path.appliances import firewall_interface
from vnetdoctor.engine.path.oracle import (
    FirewallAnswer,
    GuestAccess,
    GuestOracle,
    ListenerAnswer,
    Listening,
)
from vnetdoctor.engine.path.records import Hop, Issue, Outcome, Recorder, Trace
from vnetdoctor.engine.path.tracer import MAX_HOPS, Tracer, nsg_command

__all__ = [
    "MAX_HOPS",
    "FirewallAnswer",
    "GuestAccess",
    "GuestOracle",
    "Hop",
    "Issue",
    "ListenerAnswer",
    "Listening",
    "Outcome",
    "Recorder",
    "Trace",
    "Tracer",
    "firewall_interface",
    "nsg_command",
]
