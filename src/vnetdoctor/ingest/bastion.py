"""Bastion hosts (``Microsoft.Network/bastionHosts``) -> :class:`BastionHost`.

The same body comes from ARM (``GET .../bastionHosts/{name}``, ``az network bastion show``) and
Resource Graph's ``resources`` table: a top-level ``sku: {name}`` and ``properties`` with
``ipConfigurations`` (subnet, public IP), ``virtualNetwork`` (Developer) and the feature flags.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from vnetdoctor.ingest.fields import Json, Reader, props
from vnetdoctor.model.bastion import (
    BASTION_SUBNET_NAME as _SUBNET,
)
from vnetdoctor.model.bastion import (
    BastionHost,
    BastionIpConfiguration,
    BastionSku,
)
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.warnings import WarningKind

BASTION_HOSTS: Final = "microsoft.network/bastionhosts"


def _ip_configuration(r: Reader, obj: Json, owner: ResourceId) -> BastionIpConfiguration:
    p = props(obj)
    raw_id = obj.get("id")
    return BastionIpConfiguration(
        id=r.rid(raw_id) if isinstance(raw_id, str) and raw_id.strip() else None,
        name=r.str_(obj, "name", owner) or "",
        subnet=r.ref(p, "subnet", owner),
        public_ip_address=r.ref(p, "publicIPAddress", owner),
    )


def bastion_from_arm(r: Reader, obj: Json, rid: ResourceId) -> BastionHost:
    p = props(obj)
    sku_obj = obj.get("sku")
    sku_text = r.str_(sku_obj, "name", rid) if isinstance(sku_obj, dict) else None
    sku = BastionSku.parse(sku_text)
    if sku_text is not None and sku is None:
        r.bad(rid, "sku.name", sku_text, "expected Developer, Basic, Standard or Premium")
    configs = []
    for i, item in enumerate(r.list_(p, "ipConfigurations", rid)):
        if not isinstance(item, dict):
            r.bad(rid, f"properties.ipConfigurations[{i}]", item, "expected an object")
            continue
        configs.append(_ip_configuration(r, item, rid))
    name = obj.get("name")
    location = obj.get("location")
    for i, config in enumerate(configs):
        if config.subnet is not None and config.subnet.name.casefold() != _SUBNET.casefold():
            r.warn(
                WarningKind.UNPARSED_VALUE,
                f"Bastion host's subnet is {config.subnet.name!r}, not {_SUBNET} (the only "
                "subnet a Bastion can use): its sessions are not checked",
                resource=rid, field=f"properties.ipConfigurations[{i}].properties.subnet",
                value=str(config.subnet),
            )
    return BastionHost(
        id=rid,
        name=name if isinstance(name, str) and name else rid.name,
        location=location if isinstance(location, str) else None,
        sku=sku,
        sku_text=sku_text,
        ip_configurations=tuple(configs),
        virtual_network=r.ref(p, "virtualNetwork", rid),
        dns_name=r.str_(p, "dnsName", rid),
        scale_units=r.int_(p, "scaleUnits", rid),
        enable_tunneling=r.bool_(p, "enableTunneling", rid),
        enable_ip_connect=r.bool_(p, "enableIpConnect", rid),
        enable_shareable_link=r.bool_(p, "enableShareableLink", rid),
        enable_file_copy=r.bool_(p, "enableFileCopy", rid),
        enable_kerberos=r.bool_(p, "enableKerberos", rid),
        enable_session_recording=r.bool_(p, "enableSessionRecording", rid),
        enable_private_only=r.bool_(p, "enablePrivateOnlyBastion", rid),
        disable_copy_paste=r.bool_(p, "disableCopyPaste", rid),
        provisioning_state=r.str_(p, "provisioningState", rid),
    )


# Type -> (Snapshot attribute, converter); the loader adds these to its converters.
CONVERTERS: Final[Mapping[str, tuple[str, Callable[[Reader, Json, ResourceId], Any]]]] = {
    BASTION_HOSTS: ("bastion_hosts", bastion_from_arm),
}
