"""Azure Bastion hosts (``Microsoft.Network/bastionHosts``): the SKU, the subnet the host's
instances take their addresses in, and the features that decide which sessions it can open
(docs/semantics/bastion.md)."""

from __future__ import annotations

from enum import StrEnum

import msgspec

from vnetdoctor.model.ids import ResourceId

BASTION_SUBNET_NAME = "AzureBastionSubnet"


class BastionSku(StrEnum):
    DEVELOPER = "Developer"
    BASIC = "Basic"
    STANDARD = "Standard"
    PREMIUM = "Premium"

    @classmethod
    def parse(cls, text: str | None) -> BastionSku | None:
        folded = (text or "").strip().casefold()
        return next((s for s in cls if s.value.casefold() == folded), None)


class BastionIpConfiguration(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: ResourceId | None = None
    name: str = ""
    subnet: ResourceId | None = None
    public_ip_address: ResourceId | None = None  # None for a private-only (Premium) host


class BastionHost(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A Bastion host. ``sku`` is ``None`` when the row has none or an unknown one (ARM's default
    is Basic, but a row without it is more likely cut short than Basic); ``virtual_network`` is
    set for a Developer host, which has no subnet of its own."""

    id: ResourceId
    name: str
    location: str | None = None
    sku: BastionSku | None = None
    sku_text: str | None = None
    ip_configurations: tuple[BastionIpConfiguration, ...] = ()
    virtual_network: ResourceId | None = None
    dns_name: str | None = None
    scale_units: int | None = None
    enable_tunneling: bool = False
    enable_ip_connect: bool = False
    enable_shareable_link: bool = False
    enable_file_copy: bool = False
    enable_kerberos: bool = False
    enable_session_recording: bool = False
    enable_private_only: bool = False
    disable_copy_paste: bool = False
    provisioning_state: str | None = None

    @property
    def subnet(self) -> ResourceId | None:
        """The subnet of the first IP configuration (a host has one)."""
        return next((c.subnet for c in self.ip_configurations if c.subnet is not None), None)

    @property
    def custom_ports(self) -> bool:
        """Whether the host can open a session on a port other than 22 and 3389: Standard or
        Premium (their connect page takes any port; native client and IP connect too)."""
        return self.sku in (BastionSku.STANDARD, BastionSku.PREMIUM)

    @property
    def reaches_peered_vnets(self) -> bool | None:
        """Basic, Standard and Premium reach VMs in directly peered VNets; Developer does not."""
        if self.sku is None:
            return None
        return self.sku is not BastionSku.DEVELOPER
