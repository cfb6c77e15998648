"""The guest evaluators' shared types, under their old module path: the fabric trace
(:mod:`vnetdoctor.engine.path`) still imports :class:`GuestVerdict` from here. They live in
:mod:`vnetdoctor.engine.guest.common`; this module goes once nothing imports it."""

from __future__ import annotations

from vnetdoctor.engine.guest.common import GuestVerdict

__all__ = ["GuestVerdict"]
