"""Microsoft's service tags file -> tag name -> address prefixes (``--service-tags FILE``).

The file is the weekly download ``ServiceTags_Public_YYYYMMDD.json`` (or the output of
``az network list-service-tags``): ``{"changeNumber": N, "cloud": "Public", "values": [{"name":
"Storage.WestEurope", "id": ..., "properties": {"region": "westeurope", "addressPrefixes":
[...]}}, ...]}``. Regional tags (``Storage.WestEurope``) are entries of their own, so a lookup is a
case-insensitive name match. ``VirtualNetwork``, ``AzureLoadBalancer`` and ``Internet`` are not in
the file: they depend on the estate and are expanded by :mod:`vnetdoctor.engine.tags`.

The file holds about 100,000 prefixes; they are parsed per tag on first use, so loading costs only
the JSON decode. Every error is a :class:`ServiceTagsError` whose one-line message names the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from os import PathLike
from pathlib import Path

import msgspec

from vnetdoctor.errors import InputError
from vnetdoctor.model.net import IPNetwork, parse_network


class ServiceTagsError(InputError):
    """A service tags file that cannot be read, is not JSON, or has the wrong shape."""


class _Properties(msgspec.Struct, rename="camel"):
    change_number: int | None = None
    region: str | None = None
    platform: str | None = None
    system_service: str | None = None
    address_prefixes: list[str] = msgspec.field(default_factory=list)


class _Value(msgspec.Struct):
    name: str
    id: str | None = None
    properties: _Properties = msgspec.field(default_factory=_Properties)


class _File(msgspec.Struct, rename="camel"):
    values: list[_Value]
    change_number: int | None = None
    cloud: str | None = None


class ServiceTag(msgspec.Struct, frozen=True, kw_only=True):
    """One tag as the file lists it; ``addresses`` holds the prefixes as written."""

    name: str
    region: str | None
    system_service: str | None
    change_number: int | None
    addresses: tuple[str, ...]


class ServiceTags:
    """The tags of one service tags file, looked up by name case-insensitively."""

    __slots__ = ("_parsed", "_tags", "change_number", "cloud", "path")

    def __init__(
        self,
        tags: dict[str, ServiceTag],
        *,
        path: str,
        change_number: int | None = None,
        cloud: str | None = None,
    ) -> None:
        self.path = path
        self.change_number = change_number
        self.cloud = cloud
        self._tags = {name.casefold(): tag for name, tag in tags.items()}
        self._parsed: dict[str, tuple[IPNetwork, ...]] = {}

    def __repr__(self) -> str:
        return (f"<ServiceTags {self.path!r} cloud={self.cloud!r} "
                f"changeNumber={self.change_number} tags={len(self._tags)}>")

    def __len__(self) -> int:
        return len(self._tags)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.casefold() in self._tags

    def __iter__(self) -> Iterator[str]:
        return (tag.name for tag in self._tags.values())

    def tag(self, name: str) -> ServiceTag | None:
        return self._tags.get(name.casefold())

    @property
    def description(self) -> str:
        """How the source is named in messages: the file and its change number."""
        number = f", changeNumber {self.change_number}" if self.change_number is not None else ""
        return f"{self.path}{number}"

    def prefixes(self, name: str) -> tuple[IPNetwork, ...] | None:
        """The tag's prefixes, or ``None`` when the file has no such tag.

        Raises :class:`ServiceTagsError` when one of the tag's prefixes is not a CIDR.
        """
        key = name.casefold()
        found = self._parsed.get(key)
        if found is not None:
            return found
        tag = self._tags.get(key)
        if tag is None:
            return None
        networks = []
        for i, text in enumerate(tag.addresses):
            try:
                networks.append(parse_network(text))
            except ValueError as exc:
                raise ServiceTagsError(
                    f"service tag {tag.name!r}: {exc}", path=self.path,
                    field=f"properties.addressPrefixes[{i}]") from None
        result = tuple(networks)
        self._parsed[key] = result
        return result


def load_service_tags(path: str | PathLike[str]) -> ServiceTags:
    """Read a service tags file. Raises :class:`ServiceTagsError` naming the file."""
    shown = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ServiceTagsError(f"cannot read the service tags file: {reason}",
                               path=shown) from None
    return parse_service_tags(data, path=shown)


def parse_service_tags(data: bytes | str, *, path: str = "<service tags>") -> ServiceTags:
    """Parse the bytes of a service tags file (see :func:`load_service_tags`)."""
    try:
        decoded = msgspec.json.decode(data, type=_File)
    except msgspec.ValidationError as exc:
        raise ServiceTagsError(f"not a service tags file ({exc})", path=path) from None
    except msgspec.DecodeError as exc:
        raise ServiceTagsError(f"not valid JSON ({exc})", path=path) from None
    tags: dict[str, ServiceTag] = {}
    for value in decoded.values:
        name = value.name.strip()
        if not name:
            raise ServiceTagsError("a service tag has an empty name", path=path, field="values")
        if name.casefold() in tags:
            raise ServiceTagsError(f"service tag {name!r} is listed twice", path=path,
                                   field="values")
        props = value.properties
        tags[name.casefold()] = ServiceTag(
            name=name,
            region=props.region or None,
            system_service=props.system_service or None,
            change_number=props.change_number,
            addresses=tuple(props.address_prefixes),
        )
    return ServiceTags(tags, path=path, change_number=decoded.change_number, cloud=decoded.cloud)
