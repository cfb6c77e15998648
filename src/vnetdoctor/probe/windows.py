"""The Windows code path of ``vnetdoctor probe``: one PowerShell script (fixed text, passed as
``-EncodedCommand`` so no quoting reaches a shell) whose sections each catch their own errors,
plus ``ipconfig /all`` and ``netstat -ano`` as plain fallbacks that need no PowerShell.

The script joins every firewall rule with its port, address, application, service and interface
filters by ``InstanceID``, fetching each filter class once with ``-All`` (the per-rule
``-AssociatedNetFirewallRule`` pattern takes minutes on a few hundred rules), from the
``ActiveStore`` (the effective set, Group Policy included). Enums are cast to strings so Windows
PowerShell 5.1 and PowerShell 7 write the same JSON. Output schema:
``vnetdoctor.windows-probe/1``, read by :mod:`vnetdoctor.guest.windows`.
"""

from __future__ import annotations

import base64
from typing import Final

from vnetdoctor.probe.runner import Command

__all__ = ["POWERSHELL_SCRIPT", "windows_commands"]

POWERSHELL_SCRIPT: Final = r"""
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = [System.Text.Encoding]::UTF8
$sections = [ordered]@{}
function Add-Section([string]$Name, [scriptblock]$Block) {
  try { $sections[$Name] = [ordered]@{ data = @(& $Block); error = $null } }
  catch { $sections[$Name] = [ordered]@{ data = $null; error = [string]$_.Exception.Message } }
}
function Strings($Values) {
  @($Values | Where-Object { $_ -ne $null } | ForEach-Object { [string]$_ })
}
Add-Section 'computer' {
  $os = Get-CimInstance Win32_OperatingSystem
  $me = [Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()
  [pscustomobject]@{ ComputerName = $env:COMPUTERNAME; OsCaption = [string]$os.Caption
    OsVersion = [string]$os.Version
    IsAdmin = $me.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator) }
}
Add-Section 'adapters' {
  Get-NetAdapter -IncludeHidden | ForEach-Object { [pscustomobject]@{
    Name = $_.Name; InterfaceDescription = $_.InterfaceDescription; ifIndex = [int]$_.ifIndex
    Status = [string]$_.Status; MacAddress = $_.MacAddress; Hidden = [bool]$_.Hidden
    HardwareInterface = [bool]$_.HardwareInterface } }
}
Add-Section 'pnp' {
  Get-PnpDevice -Class Net | ForEach-Object { [pscustomobject]@{
    FriendlyName = $_.FriendlyName; InstanceId = $_.InstanceId; Status = [string]$_.Status
    Present = [bool]$_.Present } }
}
Add-Section 'ip_addresses' {
  Get-NetIPAddress | ForEach-Object { [pscustomobject]@{
    InterfaceAlias = $_.InterfaceAlias; IPAddress = $_.IPAddress
    PrefixLength = [int]$_.PrefixLength; PrefixOrigin = [string]$_.PrefixOrigin
    AddressState = [string]$_.AddressState } }
}
Add-Section 'routes' {
  Get-NetRoute -DestinationPrefix '0.0.0.0/0','::/0' -ErrorAction SilentlyContinue |
    ForEach-Object { [pscustomobject]@{ DestinationPrefix = $_.DestinationPrefix
      NextHop = $_.NextHop; InterfaceAlias = $_.InterfaceAlias
      RouteMetric = [int]$_.RouteMetric } }
}
Add-Section 'dns' {
  Get-DnsClientServerAddress | ForEach-Object { [pscustomobject]@{
    InterfaceAlias = $_.InterfaceAlias; ServerAddresses = (Strings $_.ServerAddresses) } }
}
$names = @{}
Get-Process | ForEach-Object { $names[[int]$_.Id] = $_.ProcessName }
Add-Section 'tcp_listeners' {
  Get-NetTCPConnection -State Listen | ForEach-Object { [pscustomobject]@{
    LocalAddress = $_.LocalAddress; LocalPort = [int]$_.LocalPort
    OwningProcess = [int]$_.OwningProcess; ProcessName = $names[[int]$_.OwningProcess] } }
}
Add-Section 'udp_endpoints' {
  Get-NetUDPEndpoint | ForEach-Object { [pscustomobject]@{
    LocalAddress = $_.LocalAddress; LocalPort = [int]$_.LocalPort
    OwningProcess = [int]$_.OwningProcess; ProcessName = $names[[int]$_.OwningProcess] } }
}
Add-Section 'firewall_profiles' {
  Get-NetFirewallProfile -PolicyStore ActiveStore | ForEach-Object { [pscustomobject]@{
    Name = [string]$_.Name; Enabled = [string]$_.Enabled
    DefaultInboundAction = [string]$_.DefaultInboundAction
    DefaultOutboundAction = [string]$_.DefaultOutboundAction
    AllowInboundRules = [string]$_.AllowInboundRules
    AllowLocalFirewallRules = [string]$_.AllowLocalFirewallRules } }
}
Add-Section 'firewall_rules' {
  $store = @{ All = $true; PolicyStore = 'ActiveStore' }
  $pf = @{}; Get-NetFirewallPortFilter @store | ForEach-Object { $pf[$_.InstanceID] = $_ }
  $af = @{}; Get-NetFirewallAddressFilter @store | ForEach-Object { $af[$_.InstanceID] = $_ }
  $ap = @{}; Get-NetFirewallApplicationFilter @store | ForEach-Object { $ap[$_.InstanceID] = $_ }
  $sv = @{}; Get-NetFirewallServiceFilter @store | ForEach-Object { $sv[$_.InstanceID] = $_ }
  $it = @{}
  Get-NetFirewallInterfaceTypeFilter @store | ForEach-Object { $it[$_.InstanceID] = $_ }
  Get-NetFirewallRule -PolicyStore ActiveStore | ForEach-Object {
    $id = $_.Name; $p = $pf[$id]; $a = $af[$id]
    [pscustomobject]@{ Name = $id; DisplayName = $_.DisplayName; Enabled = [string]$_.Enabled
      Direction = [string]$_.Direction; Action = [string]$_.Action; Profile = [string]$_.Profile
      PolicyStoreSource = [string]$_.PolicyStoreSource
      EdgeTraversalPolicy = [string]$_.EdgeTraversalPolicy
      Protocol = [string]$p.Protocol; LocalPort = (Strings $p.LocalPort)
      RemotePort = (Strings $p.RemotePort); LocalAddress = (Strings $a.LocalAddress)
      RemoteAddress = (Strings $a.RemoteAddress); Program = [string]$ap[$id].Program
      Service = [string]$sv[$id].Service; InterfaceType = [string]$it[$id].InterfaceType } }
}
Add-Section 'connection_profiles' {
  Get-NetConnectionProfile | ForEach-Object { [pscustomobject]@{
    InterfaceAlias = $_.InterfaceAlias; NetworkCategory = [string]$_.NetworkCategory } }
}
[ordered]@{ schema = 'vnetdoctor.windows-probe/1'; sections = $sections } | ConvertTo-Json -Depth 6
"""


def encoded_script() -> str:
    """The script as ``-EncodedCommand`` wants it: base64 of UTF-16LE."""
    return base64.b64encode(POWERSHELL_SCRIPT.encode("utf-16-le")).decode("ascii")


def windows_commands(timeout: float) -> tuple[Command, ...]:
    return (
        Command(
            "windows-probe",
            (
                "powershell.exe",
                "-NoProfile",
                "-NonInteractive",
                "-ExecutionPolicy",
                "Bypass",
                "-EncodedCommand",
                encoded_script(),
            ),
            timeout=max(timeout, 60.0),
            shown=(
                "powershell.exe",
                "-NoProfile",
                "-NonInteractive",
                "-ExecutionPolicy",
                "Bypass",
                "-EncodedCommand",
                "<vnetdoctor.probe.windows.POWERSHELL_SCRIPT>",
            ),
        ),
        Command("ipconfig-all", ("ipconfig", "/all"), timeout=timeout),
        Command("netstat-windows", ("netstat", "-ano"), timeout=timeout),
    )
