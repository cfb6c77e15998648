"""Azure Resource Manager resource ids.

ARM treats ids case-insensitively (Resource Graph even lower-cases them), while people want to see
the spelling they typed. A :class:`ResourceId` therefore keeps the original text for display and
compares and hashes on a folded key.
"""

from __future__ import annotations

from typing import Any

_SUBSCRIPTIONS = "subscriptions"
_RESOURCE_GROUPS = "resourcegroups"
_PROVIDERS = "providers"


def fold(text: str) -> str:
    """Case-insensitive key, as ARM compares ids (ordinal, ignoring case).

    Upper-casing first maps characters such as the dotless ``ı`` onto ``I`` the way an ordinal
    ignore-case comparison does; ``casefold`` alone would keep them apart.
    """
    return text.upper().casefold()


class ResourceId:
    """An ARM id such as ``/subscriptions/S/resourceGroups/RG/providers/NS/T/N[/T2/N2...]``.

    Equality and hashing ignore case; ``str()`` gives the original spelling. Ids that do not follow
    the ARM grammar (ids from other tools, test monikers) are still accepted and compared on their
    folded text: ``parse`` never raises on a non-empty string, because one odd id must not stop a
    whole snapshot from loading.
    """

    __slots__ = ("_key", "_text")

    def __init__(self, text: str) -> None:
        if not isinstance(text, str) or not text.strip():
            raise ValueError("a resource id must be a non-empty string")
        text = text.strip()
        if len(text) > 1 and text.endswith("/"):
            text = text.rstrip("/")
        self._text = text
        self._key = fold(text)

    @classmethod
    def parse(cls, text: str) -> ResourceId:
        return cls(text)

    # -- value semantics -------------------------------------------------------------------------
    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"ResourceId({self._text!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ResourceId):
            return self._key == other._key
        if isinstance(other, str):
            return self._key == fold(other.strip().rstrip("/"))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._key)

    def __lt__(self, other: ResourceId) -> bool:
        return self._key < other._key

    def __reduce__(self) -> tuple[Any, ...]:
        return (ResourceId, (self._text,))

    @property
    def key(self) -> str:
        """The case-folded form used for comparison and indexing."""
        return self._key

    # -- structure -------------------------------------------------------------------------------
    @property
    def _parts(self) -> tuple[str, ...]:
        return tuple(p for p in self._text.split("/") if p)

    def _segment_after(self, marker: str) -> str | None:
        parts = self._parts
        for i, part in enumerate(parts[:-1]):
            if part.casefold() == marker:
                return parts[i + 1]
        return None

    @property
    def subscription(self) -> str | None:
        return self._segment_after(_SUBSCRIPTIONS)

    @property
    def resource_group(self) -> str | None:
        return self._segment_after(_RESOURCE_GROUPS)

    @property
    def _provider_tail(self) -> tuple[str, ...]:
        parts = self._parts
        for i in range(len(parts) - 1, -1, -1):
            if parts[i].casefold() == _PROVIDERS:
                return parts[i + 1 :]
        return ()

    @property
    def namespace(self) -> str | None:
        tail = self._provider_tail
        return tail[0] if tail else None

    @property
    def type(self) -> str | None:
        """The full resource type, e.g. ``Microsoft.Network/virtualNetworks/subnets``."""
        tail = self._provider_tail
        if len(tail) < 3:
            return None
        types = [tail[0], *tail[1::2][: (len(tail) - 1) // 2]]
        return "/".join(types)

    @property
    def name(self) -> str:
        """The last name segment (for ids outside the grammar: the last segment)."""
        return self._parts[-1] if self._parts else self._text

    @property
    def parent(self) -> ResourceId | None:
        """The parent resource for a child id (a subnet's VNet), else ``None``."""
        tail = self._provider_tail
        if len(tail) < 5:
            return None
        parts = self._text.rstrip("/").split("/")
        return ResourceId("/".join(parts[:-2]))

    def child(self, child_type: str, name: str) -> ResourceId:
        return ResourceId(f"{self._text}/{child_type}/{name}")
