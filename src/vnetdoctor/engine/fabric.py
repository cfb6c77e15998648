"""The evaluated fabric of one snapshot: its NSG engines and its effective route tables.

A snapshot is immutable, so what its NSGs compile to and what its route tables hold never change
between questions. A :class:`Fabric` keeps them for whoever asks many questions of one snapshot
(a matrix over many pairs, ``diff`` over many pairs, the intents of ``verify``): the caller
creates it, passes it to :func:`vnetdoctor.diagnose` or the :class:`~vnetdoctor.engine.path.Tracer`,
and drops it when done, and the memory goes with it. Nothing is kept at module level.

One NSG engine per service tags source (a tag expands differently with and without the file),
one set of route tables per profile and service tags source; a route table is built once per
subnet (:func:`~vnetdoctor.engine.routes.table_key`).
"""

from __future__ import annotations

from vnetdoctor.engine.nsg.layers import NsgEngine
from vnetdoctor.engine.routes import (
    DEFAULT_PROFILE,
    EffectiveRouteTable,
    RouteProfile,
    TableKey,
    effective_routes,
    table_key,
)
from vnetdoctor.engine.tags import ServiceTagSource
from vnetdoctor.model.compute import IpConfiguration, NetworkInterface
from vnetdoctor.model.snapshot import Snapshot

__all__ = ["Fabric", "RouteTables"]


class RouteTables:
    """The effective route tables of one snapshot under one profile and service tags source,
    each built on first use; ``built`` counts the builds."""

    def __init__(self, snapshot: Snapshot, profile: RouteProfile,
                 service_tags: ServiceTagSource | None) -> None:
        self.snapshot = snapshot
        self.profile = profile
        self.service_tags = service_tags
        self.built = 0
        self._tables: dict[TableKey, EffectiveRouteTable] = {}

    def table(self, nic: NetworkInterface, ipc: IpConfiguration | None,
              key: TableKey | None = None) -> EffectiveRouteTable:
        """The routes of ``nic`` (of ``ipc``'s subnet, else the primary one's); ``key`` is
        :func:`~vnetdoctor.engine.routes.table_key` of the two when the caller has it."""
        found_key = table_key(nic, ipc) if key is None else key
        found = self._tables.get(found_key)
        if found is None:
            found = self._tables[found_key] = effective_routes(
                self.snapshot, nic, self.profile, service_tags=self.service_tags,
                ip_configuration=ipc)
            self.built += 1
        return found


class Fabric:
    """The evaluated fabric of ``snapshot``: its NSG engines per service tags source, its
    effective route tables per profile (and service tags source)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        # Keyed by the id of the service tags object, which the entry holds alive: an id cannot
        # be reused while its entry exists.
        self._engines: dict[int, tuple[ServiceTagSource | None, NsgEngine]] = {}
        self._routes: dict[tuple[str, int], tuple[ServiceTagSource | None, RouteTables]] = {}

    def nsgs(self, service_tags: ServiceTagSource | None = None) -> NsgEngine:
        """The NSG engine of the snapshot with ``service_tags``, built on first use."""
        found = self._engines.get(id(service_tags))
        if found is None:
            found = (service_tags, NsgEngine(self.snapshot, service_tags))
            self._engines[id(service_tags)] = found
        return found[1]

    def route_tables(self, profile: RouteProfile = DEFAULT_PROFILE,
                     service_tags: ServiceTagSource | None = None) -> RouteTables:
        """The route tables of the snapshot under ``profile`` with ``service_tags``."""
        key = (profile.name, id(service_tags))
        found = self._routes.get(key)
        if found is None:
            found = (service_tags, RouteTables(self.snapshot, profile, service_tags))
            self._routes[key] = found
        return found[1]

    def check(self, snapshot: Snapshot) -> Fabric:
        """Refuse a fabric passed with another snapshot than its own (its answers would be that
        snapshot's)."""
        if snapshot is not self.snapshot:
            raise ValueError("this Fabric belongs to another snapshot")
        return self
