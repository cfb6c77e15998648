"""The words of routing: route sources, states, next hop types, and the platform route profiles.

Azure's platform routes changed over the years; a :class:`RouteProfile` names the set Azure
showed at a period (the newest, :data:`DEFAULT_PROFILE`, unless asked otherwise).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum, StrEnum
from functools import cached_property
from typing import Final, Protocol

from vnetdoctor.errors import UsageError
from vnetdoctor.model.net import IPNetwork

SYSTEM_ROUTE: Final = "System Route"



class ServiceTagLookup(Protocol):
    """Microsoft's service tags file, as far as routing needs it (``vnetdoctor.ingest.servicetags``
    provides one): a tag's prefixes by name, case-insensitively, ``None`` for an unknown tag."""

    def prefixes(self, name: str) -> Sequence[IPNetwork] | None: ...


# ---------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------
class RouteSource(StrEnum):
    """``EffectiveRoute.source`` as the effective route table API spells it."""

    DEFAULT = "Default"
    USER = "User"
    VIRTUAL_NETWORK_GATEWAY = "VirtualNetworkGateway"


class RouteState(StrEnum):
    """``Active`` routes take part in selection; ``Invalid`` ones are overridden."""

    ACTIVE = "Active"
    INVALID = "Invalid"


class EffectiveNextHopType(StrEnum):
    """``nextHopType`` in the effective route table (the API's own spellings)."""

    VNET_LOCAL = "VnetLocal"
    INTERNET = "Internet"
    NONE = "None"
    VIRTUAL_APPLIANCE = "VirtualAppliance"
    VIRTUAL_NETWORK_GATEWAY = "VirtualNetworkGateway"
    VNET_PEERING = "VNetPeering"
    VNET_GLOBAL_PEERING = "VNetGlobalPeering"
    VIRTUAL_NETWORK_SERVICE_ENDPOINT = "VirtualNetworkServiceEndpoint"
    INTERFACE_ENDPOINT = "InterfaceEndpoint"  # a private endpoint's /32 (private-endpoints.md)


class WatcherNextHopType(StrEnum):
    """``nextHopType`` in Network Watcher's next hop answer.

    Network Watcher renames some effective-route types: ``VnetLocal`` is ``VirtualNetwork`` in
    every answer recorded since 2018 (``VnetLocal`` in 2017), peering routes are
    ``VirtualNetworkPeering`` (Microsoft's next hop overview lists these names).
    """

    INTERNET = "Internet"
    VIRTUAL_APPLIANCE = "VirtualAppliance"
    VIRTUAL_NETWORK_GATEWAY = "VirtualNetworkGateway"
    VIRTUAL_NETWORK = "VirtualNetwork"
    VNET_LOCAL = "VnetLocal"
    VIRTUAL_NETWORK_PEERING = "VirtualNetworkPeering"
    VIRTUAL_NETWORK_SERVICE_ENDPOINT = "VirtualNetworkServiceEndpoint"
    NONE = "None"


class RouteKind(StrEnum):
    """Where an effective route comes from (finer than ``source``)."""

    VIRTUAL_NETWORK = "virtual_network"
    PLATFORM = "platform"  # 0.0.0.0/0 Internet and the profile's None routes
    PEERING = "peering"
    GATEWAY = "gateway"
    SERVICE_ENDPOINT = "service_endpoint"
    INTERFACE_ENDPOINT = "interface_endpoint"
    USER = "user"


# ---------------------------------------------------------------------------------------------
# Profiles: Azure's platform routes changed over the years
# ---------------------------------------------------------------------------------------------
# The system routes Microsoft's documentation lists (the others are undocumented platform routes).
DOCUMENTED_PREFIXES: Final = frozenset(
    {"0.0.0.0/0", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"}
)
_I = EffectiveNextHopType.INTERNET
_N = EffectiveNextHopType.NONE


def _nones(*prefixes: str) -> tuple[tuple[str, EffectiveNextHopType], ...]:
    return tuple((p, _N) for p in prefixes)


_V4_DOCUMENTED: Final = (("0.0.0.0/0", _I), *_nones("10.0.0.0/8", "100.64.0.0/10",
                                                   "172.16.0.0/12", "192.168.0.0/16"))
_V6_2018: Final = (("::/0", _I), *_nones(
    "2603:1080::/25", "fd35:eef2::/32", "fde4:8dba::/32", "2001:4898::/33", "2404:f801::/33",
    "2a01:110::/33", "2a01:4180:8000::/33", "2001:489a::/35", "2001:489a:e000::/35",
    "2a01:111::/36", "2a01:111:e000::/36", "2001:506:28::/48", "2801:80:1d0:2000::/52"))


@dataclass(frozen=True)
class ProfileSpec:
    """One profile's data. ``defaults`` are the platform routes after the VNet's own ranges, in the
    order Azure lists them; ``observed_in`` names the recorded cases (``../shared/fixtures/cases``)
    whose answers show this profile."""

    name: str
    summary: str
    defaults: tuple[tuple[str, EffectiveNextHopType], ...]
    vnet_next_hop: WatcherNextHopType
    peering_next_hop: WatcherNextHopType
    observed_in: tuple[str, ...]
    # The period Azure answered with this set (dates of the answers, YYYY-MM-DD or YYYY-MM; an
    # answer's date is its HTTP Date header, not the day its recording was committed).
    observed: str = ""

    @cached_property
    def networks(self) -> tuple[tuple[IPNetwork, EffectiveNextHopType, bool], ...]:
        """``(prefix, next hop type, documented by Microsoft)`` per default route."""
        return tuple((ipaddress.ip_network(p), t, p in DOCUMENTED_PREFIXES)
                     for p, t in self.defaults)


class RouteProfile(Enum):
    """Azure's platform route set and Network Watcher's names, as observed at a period.

    Microsoft documents four reserved ``None`` prefixes (10/8, 172.16/12, 192.168/16, 100.64/10,
    §2.1); the effective route tables Azure returned between 2016 and 2024 differ from that and
    from each other. Each profile reproduces one observed set (decision 4); the newest,
    :attr:`AZURE_2024`, is the default. The differences:

    * ``azure-2016``: the documented four plus ``25.0.0.0/8 -> None`` (7 routes for a one-range
      VNet); next hop answers of the time name the VNet ``VnetLocal`` (assumed: none recorded).
    * ``azure-2017``: exactly the documented four (6 routes); next hop names the VNet ``VnetLocal``
      (answers of 2017-06-01 and 2017-06-30).
    * ``azure-2018``: the documented four plus IPv6 ``::/0 -> Internet`` and 13 IPv6 ``None``
      prefixes, even for an IPv4-only VNet (20 routes); next hop says ``VirtualNetwork`` from then
      on.
    * ``azure-2018-03``: the documented four plus IPv6 ``::/0 -> Internet`` only (7 routes),
      answered in 2018-03 before the 13 IPv6 ``None`` prefixes appeared.
    * ``documented``: exactly the documented four, with today's names; Azure answered this from
      2018-07 to 2019-02 (and, by the names, from 2017-09), and the REST specification's example
      shows it.
    * ``azure-2020``: ``172.16.0.0/12`` is missing (5 routes; users reported the same in
      MicrosoftDocs/azure-docs#42222).
    * ``azure-2020-07``: ``azure-2020``'s five plus ``25.33.80.0/20`` and ``25.41.3.0/25 -> None``
      (7 routes), answered from 2020-07-14 to 2021-03-09.
    * ``azure-2021``: still no ``172.16.0.0/12``, plus 12 platform ``None`` prefixes in
      25/8, 40.108/15, 104.146/15, 157.59/16, 198.18/15, 23.103/18, 20.35.252/22 (17 routes).
    * ``azure-2023``: the 2021 set plus ``172.16.0.0/12`` again (18 routes).
    * ``azure-2024``: 23 routes: ``127.0.0.0/8`` and a different set of ``25.x`` prefixes
      (25.176/13, 25.152/14, 25.184/14, 25.148/15, 25.150/16, 25.156/16, 25.159/16 instead of
      25.48/12, 25.33/16, 25.41/20); the same list a third party published in August 2024.

    :meth:`as_of` picks the profile for a snapshot's date from these periods (:data:`AS_OF`).

    The undocumented ``None`` prefixes are reported to vanish when a user route for 0.0.0.0/0
    exists (third party, unverified): with such a route, a lookup they would decide is unknown.
    """

    AZURE_2024 = ProfileSpec(
        name="azure-2024",
        summary="23 platform routes incl. 127/8 and 25.x/40.x/104.x None prefixes (newest)",
        defaults=(("0.0.0.0/0", _I), *_nones(
            "10.0.0.0/8", "127.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "25.176.0.0/13",
            "25.152.0.0/14", "25.184.0.0/14", "25.4.0.0/14", "25.148.0.0/15", "198.18.0.0/15",
            "25.150.0.0/16", "25.156.0.0/16", "25.159.0.0/16", "40.109.0.0/16", "192.168.0.0/16",
            "104.147.0.0/16", "157.59.0.0/16", "40.108.0.0/17", "104.146.0.0/17", "23.103.0.0/18",
            "20.35.252.0/22")),
        vnet_next_hop=WatcherNextHopType.VIRTUAL_NETWORK,
        peering_next_hop=WatcherNextHopType.VIRTUAL_NETWORK_PEERING,
        observed_in=(
            "effectiveroutetable-cli-nic-convenience-2024-08-27-1",
            "effectiveroutetable-cli-nic-convenience-2024-08-27-2",
            "nexthop-cli-watcher-vm-2024-08-27-1",
        ),
        observed="from 2024-08 (answers of 2024-08-26)",
    )
    AZURE_2023 = ProfileSpec(
        name="azure-2023",
        summary="18 routes: the 2021 set plus 172.16/12",
        defaults=(("0.0.0.0/0", _I), *_nones(
            "10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "25.48.0.0/12", "25.4.0.0/14",
            "198.18.0.0/15", "157.59.0.0/16", "192.168.0.0/16", "25.33.0.0/16", "40.109.0.0/16",
            "104.147.0.0/16", "104.146.0.0/17", "40.108.0.0/17", "23.103.0.0/18", "25.41.0.0/20",
            "20.35.252.0/22")),
        vnet_next_hop=WatcherNextHopType.VIRTUAL_NETWORK,
        peering_next_hop=WatcherNextHopType.VIRTUAL_NETWORK_PEERING,
        observed_in=(
            "effectiveroutetable-cli-nic-convenience-2023-03-03-1",
            "nexthop-cli-watcher-vm-2023-02-24-1",
        ),
        observed="2023-02-24 to 2024-08 (answers of 2023-02-24 and 2023-03-01)",
    )
    AZURE_2021 = ProfileSpec(
        name="azure-2021",
        summary="17 routes: no 172.16/12, 12 undocumented None prefixes",
        defaults=(("0.0.0.0/0", _I), *_nones(
            "10.0.0.0/8", "100.64.0.0/10", "25.48.0.0/12", "25.4.0.0/14", "198.18.0.0/15",
            "157.59.0.0/16", "192.168.0.0/16", "25.33.0.0/16", "40.109.0.0/16", "104.147.0.0/16",
            "40.108.0.0/17", "104.146.0.0/17", "23.103.0.0/18", "25.41.0.0/20",
            "20.35.252.0/22")),
        vnet_next_hop=WatcherNextHopType.VIRTUAL_NETWORK,
        peering_next_hop=WatcherNextHopType.VIRTUAL_NETWORK_PEERING,
        observed_in=(
            "effectiveroutetable-cli-nic-convenience-2021-05-19-1",
            "nexthop-cli-watcher-vm-2021-05-27-1",
        ),
        observed="2021-03-10 to 2023-02 (answers of 2021-05-14 and 2021-05-26)",
    )
    AZURE_2020_07 = ProfileSpec(
        name="azure-2020-07",
        summary="7 routes: the 2020 set plus 25.33.80/20 and 25.41.3/25 None",
        defaults=(("0.0.0.0/0", _I), *_nones("10.0.0.0/8", "100.64.0.0/10", "192.168.0.0/16",
                                             "25.33.80.0/20", "25.41.3.0/25")),
        vnet_next_hop=WatcherNextHopType.VIRTUAL_NETWORK,
        peering_next_hop=WatcherNextHopType.VIRTUAL_NETWORK_PEERING,
        observed_in=(),  # Azure's effective route tables of the period; no recorded case here
        observed="2020-07-14 to 2021-03-09",
    )
    AZURE_2020 = ProfileSpec(
        name="azure-2020",
        summary="5 routes: the documented set without 172.16/12",
        defaults=(("0.0.0.0/0", _I), *_nones("10.0.0.0/8", "100.64.0.0/10", "192.168.0.0/16")),
        vnet_next_hop=WatcherNextHopType.VIRTUAL_NETWORK,
        peering_next_hop=WatcherNextHopType.VIRTUAL_NETWORK_PEERING,
        observed_in=(
            "effectiveroutetable-cli-nic-convenience-2020-07-09-1",
            "nexthop-javafluent-watcher-functions-2020-07-21-1",
            "nexthop-cli-watcher-vm-2020-09-11-1",
            "nexthop-netfluent-canwatchnetwork-2020-11-27-1",
            "nexthop-netfluent-manage-watcher-2020-11-27-1",
            "nexthop-cli-watcher-vm-2020-12-20-1",
        ),
        observed="2019-04 to 2020-07-13 (answers of 2020-01-02 and 2020-07-07)",
    )
    DOCUMENTED = ProfileSpec(
        name="documented",
        summary="the four documented None prefixes (10/8, 172.16/12, 192.168/16, 100.64/10)",
        defaults=_V4_DOCUMENTED,
        vnet_next_hop=WatcherNextHopType.VIRTUAL_NETWORK,
        peering_next_hop=WatcherNextHopType.VIRTUAL_NETWORK_PEERING,
        observed_in=(
            "effectiveroutetable-netsdk-effective-route-acls-2019-08-24-1",
            "nexthop-netsdk-nexthop-2019-08-24-1",
            "nexthop-netsdk-nexthop-2019-08-24-2",
            "effectiveroutetable-restspec-2021-02-01-1",
        ),
        observed="2018-07 to 2019-02 (an answer of 2018-08-18); from 2017-09 by the names",
    )
    AZURE_2018 = ProfileSpec(
        name="azure-2018",
        summary="20 routes: the documented set plus ::/0 Internet and 13 IPv6 None prefixes",
        defaults=(*_V4_DOCUMENTED, *_V6_2018),
        vnet_next_hop=WatcherNextHopType.VIRTUAL_NETWORK,
        peering_next_hop=WatcherNextHopType.VIRTUAL_NETWORK_PEERING,
        observed_in=(
            "nexthop-cli-watcher-2018-03-13-1",
            "effectiveroutetable-netsdk-effective-route-acls-2018-03-24-1",
            "effectiveroutetable-cli-nic-convenience-2018-04-04-1",
            "nexthop-cli-watcher-vm-2018-09-11-1",
            "nexthop-cli-watcher-vm-2018-12-04-1",
        ),
        observed="2018-03-21 to 2018-06 (answers of 2018-03-21 and 2018-03-30)",
    )
    AZURE_2018_03 = ProfileSpec(
        name="azure-2018-03",
        summary="7 routes: the documented set plus ::/0 Internet",
        defaults=(*_V4_DOCUMENTED, ("::/0", _I)),
        vnet_next_hop=WatcherNextHopType.VIRTUAL_NETWORK,
        peering_next_hop=WatcherNextHopType.VIRTUAL_NETWORK_PEERING,
        observed_in=(),  # Azure's effective route tables of the period; no recorded case here
        observed="2018-03 (before 2018-03-21)",
    )
    AZURE_2017 = ProfileSpec(
        name="azure-2017",
        summary="the documented four; next hop names the VNet VnetLocal",
        defaults=_V4_DOCUMENTED,
        vnet_next_hop=WatcherNextHopType.VNET_LOCAL,
        # Assumption: the 2017 API had no peering value in its enum (§2.7, unverified).
        peering_next_hop=WatcherNextHopType.VNET_LOCAL,
        observed_in=(
            "nexthop-netsdk-nexthop-2017-02-09-1",
            "nexthop-netsdk-nexthop-2017-02-09-2",
            "effectiveroutetable-cli-nic-convenience-2017-03-09-1",
            "nexthop-cli-watcher-2017-06-01-1",
            "nexthop-cli-watcher-2017-06-30-1",
            "nexthop-javafluent-watcher-functions-2017-09-22-1",
        ),
        observed="2017-01 to 2017-08 (answers of 2017-01-21 to 2017-08-30)",
    )
    AZURE_2016 = ProfileSpec(
        name="azure-2016",
        summary="the documented four plus 25.0.0.0/8 None",
        defaults=(("0.0.0.0/0", _I), *_nones("10.0.0.0/8", "25.0.0.0/8", "100.64.0.0/10",
                                             "172.16.0.0/12", "192.168.0.0/16")),
        vnet_next_hop=WatcherNextHopType.VNET_LOCAL,
        peering_next_hop=WatcherNextHopType.VNET_LOCAL,
        observed_in=(
            "effectiveroutetable-netsdk-effective-route-acls-2016-08-02-1",
            "effectiveroutetable-cli-nic-convenience-2016-09-16-1",
            "effectiveroutetable-cli-nic-convenience-2016-11-21-1",
        ),
        observed="to 2016-12 (answers of 2016-08-03 to 2016-11-16)",
    )

    @property
    def spec(self) -> ProfileSpec:
        value: ProfileSpec = self.value
        return value

    def __str__(self) -> str:
        return self.spec.name

    @classmethod
    def parse(cls, name: str) -> RouteProfile:
        """A profile by its name (``azure-2024``, ``documented``, ...), case-insensitively."""
        folded = name.strip().casefold().replace("_", "-")
        for member in cls:
            if member.spec.name == folded:
                return member
        known = ", ".join(m.spec.name for m in cls)
        raise UsageError(f"unknown route profile {name!r}; known profiles: {known}")

    @classmethod
    def names(cls) -> list[str]:
        return [m.spec.name for m in cls]

    @classmethod
    def as_of(cls, day: str | date) -> RouteProfile:
        """The profile a snapshot taken on ``day`` (``YYYY-MM-DD``) needs: the set Azure answered
        with at that date (:data:`AS_OF`). A date between two observed periods gets the set of
        the last period that began before it; a date before 2016 the oldest set."""
        when = _parse_day(day) if isinstance(day, str) else day
        chosen = AS_OF[0][1]
        for start, profile in AS_OF:
            if when >= start:
                chosen = profile
        return chosen


def _parse_day(text: str) -> date:
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            return date.fromisoformat(text.strip())
    except ValueError:
        pass
    raise UsageError(f"--as-of: {text!r} is not a date (YYYY-MM-DD)")


# Where each profile's period begins, oldest first (the answers behind each are in the profile's
# ``observed``). ``documented`` holds twice: Network Watcher said VirtualNetwork (not VnetLocal)
# by 2017-09 while the routes were still the documented four, and again from 2018-07.
AS_OF: Final[tuple[tuple[date, RouteProfile], ...]] = (
    (date(2016, 1, 1), RouteProfile.AZURE_2016),
    (date(2017, 1, 1), RouteProfile.AZURE_2017),
    (date(2017, 9, 1), RouteProfile.DOCUMENTED),
    (date(2018, 3, 1), RouteProfile.AZURE_2018_03),
    (date(2018, 3, 21), RouteProfile.AZURE_2018),
    (date(2018, 7, 1), RouteProfile.DOCUMENTED),
    (date(2019, 4, 1), RouteProfile.AZURE_2020),
    (date(2020, 7, 14), RouteProfile.AZURE_2020_07),
    (date(2021, 3, 10), RouteProfile.AZURE_2021),
    (date(2023, 2, 24), RouteProfile.AZURE_2023),
    (date(2024, 8, 26), RouteProfile.AZURE_2024),
)

DEFAULT_PROFILE: Final = RouteProfile.AZURE_2024
