"""Windows artefacts built from Microsoft's documented formats.

No real Windows firewall export exists in ../shared/fixtures/guest (its README: none could be found
in a traceable public repository), so these follow the documented layouts: ``netsh advfirewall
firewall show rule`` as azure-semantics.md 8.4 quotes it (labels padded to column 38, 70 dashes,
``Ok.``), the ``MSFT_NetFirewallRule`` / ``MSFT_NetFirewallProfile`` properties and enum numbers
that ``Get-NetFirewallRule`` / ``Get-NetFirewallProfile`` return (Format-List and ConvertTo-Json
from Windows PowerShell 5.1, which writes enums as numbers, and PowerShell 7), and a German
``netsh``/``netstat`` (localised labels and values). Shared by the parser and evaluator tests.
"""

from __future__ import annotations

import json

NETSH_RULES = """
Rule Name:                            Open Port 61001 for admin router
----------------------------------------------------------------------
Enabled:                              Yes
Direction:                            In
Profiles:                             Domain,Private,Public
Grouping:
LocalIP:                              Any
RemoteIP:                             Any
Protocol:                             TCP
LocalPort:                            61001
RemotePort:                           Any
Edge traversal:                       No
Action:                               Allow

Rule Name:                            SQL Server (TCP-In)
----------------------------------------------------------------------
Enabled:                              Yes
Direction:                            In
Profiles:                             Domain,Private
Grouping:
LocalIP:                              Any
RemoteIP:                             10.1.0.0/255.255.0.0,10.9.0.5
Protocol:                             TCP
LocalPort:                            1433
RemotePort:                           Any
Edge traversal:                       No
Action:                               Allow

Rule Name:                            Block legacy SMB from the DMZ
----------------------------------------------------------------------
Enabled:                              Yes
Direction:                            In
Profiles:                             Domain,Private,Public
Grouping:
LocalIP:                              Any
RemoteIP:                             10.99.0.1-10.99.0.254
Protocol:                             TCP
LocalPort:                            445
RemotePort:                           Any
Edge traversal:                       No
Action:                               Block

Rule Name:                            Core Networking - Destination Unreachable (ICMPv4-In)
----------------------------------------------------------------------
Enabled:                              Yes
Direction:                            In
Profiles:                             Domain,Private,Public
Grouping:                             Core Networking
LocalIP:                              Any
RemoteIP:                             Any
Protocol:                             ICMPv4
                                      Type    Code
                                      3       Any
Edge traversal:                       No
Action:                               Allow
Ok.

"""

NETSH_VERBOSE_RULE = """
Rule Name:                            Contoso App (TCP-In)
Description:                          Inbound rule for the Contoso service.
----------------------------------------------------------------------
Enabled:                              Yes
Direction:                            In
Profiles:                             Public
Grouping:
LocalIP:                              Any
RemoteIP:                             LocalSubnet
Protocol:                             TCP
LocalPort:                            8443
RemotePort:                           Any
Edge traversal:                       No
Program:                              C:\\Program Files\\Contoso\\app.exe
InterfaceTypes:                       Any
Security:                             NotRequired
Rule source:                          Local Setting
Action:                               Allow
Ok.
"""

NETSH_GERMAN = """
Regelname:                            SQL Server (TCP eingehend)
----------------------------------------------------------------------
Aktiviert:                            Ja
Richtung:                             Eingehend
Profile:                              Domäne,Privat
Gruppierung:
Lokale IP:                            Beliebig
Remote-IP:                            Beliebig
Protokoll:                            TCP
Lokaler Port:                         1433
Remoteport:                           Beliebig
Edgeausnahme:                         Nein
Aktion:                               Zulassen
OK.
"""

# Same layout, labels in a language vnetdoctor has no table for: read by position.
NETSH_UNKNOWN_LANGUAGE = """
Nome regola:                          SQL Server (TCP-In)
----------------------------------------------------------------------
Abilitata:                            Sì
Direzione:                            In
Profili:                              Domain,Private
Raggruppamento:
IP locale:                            Qualsiasi
IP remoto:                            Qualsiasi
Protocollo:                           TCP
Porta locale:                         1433
Porta remota:                         Qualsiasi
Attraversamento confini:              No
Azione:                               Consenti
"""

NETSH_PROFILES = """
Domain Profile Settings:
----------------------------------------------------------------------
State                                 ON
Firewall Policy                       BlockInbound,AllowOutbound

Private Profile Settings:
----------------------------------------------------------------------
State                                 ON
Firewall Policy                       BlockInbound,AllowOutbound

Public Profile Settings:
----------------------------------------------------------------------
State                                 OFF
Firewall Policy                       BlockInbound,AllowOutbound
Ok.
"""

FORMAT_LIST_RULES = """
Name                  : OpenSSH-Server-In-TCP
DisplayName           : OpenSSH SSH Server (sshd)
Description           : Inbound rule for OpenSSH SSH Server (sshd)
DisplayGroup          : OpenSSH Server
Group                 : OpenSSH Server
Enabled               : True
Profile               : Any
Platform              : {}
Direction             : Inbound
Action                : Allow
EdgeTraversalPolicy   : Block
LooseSourceMapping    : False
LocalOnlyMapping      : False
Owner                 :
PrimaryStatus         : OK
Status                : The rule was parsed successfully from the store. (65536)
EnforcementStatus     : NotApplicable
PolicyStoreSource     : PersistentStore
PolicyStoreSourceType : Local

Name                  : {A1B2C3D4-0000-4000-8000-000000000001}
DisplayName           : Block all inbound from quarantine
Enabled               : True
Profile               : Domain, Private
Direction             : Inbound
Action                : Block
PolicyStoreSource     : GroupPolicy
"""

FORMAT_LIST_PROFILES = """
Name                            : Domain
Enabled                         : True
DefaultInboundAction            : Block
DefaultOutboundAction           : Allow
AllowInboundRules               : True
AllowLocalFirewallRules         : True

Name                            : Private
Enabled                         : True
DefaultInboundAction            : NotConfigured
DefaultOutboundAction           : NotConfigured
AllowInboundRules               : NotConfigured
AllowLocalFirewallRules         : NotConfigured

Name                            : Public
Enabled                         : False
DefaultInboundAction            : Block
DefaultOutboundAction           : Allow
AllowInboundRules               : False
AllowLocalFirewallRules         : True
"""

# Get-NetFirewallRule | ConvertTo-Json in Windows PowerShell 5.1: enums as numbers
# (Direction 1 Inbound, Action 2 Allow / 4 Block, Enabled 1 True / 2 False, Profile bit flags).
JSON_PS51_RULES = json.dumps(
    [
        {
            "Name": "RemoteDesktop-UserMode-In-TCP",
            "DisplayName": "Remote Desktop - User Mode (TCP-In)",
            "Enabled": 1,
            "Direction": 1,
            "Action": 2,
            "Profile": 0,
            "EdgeTraversalPolicy": 0,
            "PolicyStoreSource": "PersistentStore",
        },
        {
            "Name": "Block-Telnet",
            "DisplayName": "Block Telnet",
            "Enabled": 2,
            "Direction": 1,
            "Action": 4,
            "Profile": 6,
        },
    ],
    indent=4,
)

JSON_PS7_JOINED = json.dumps(
    [
        {
            "Name": "Web-In",
            "DisplayName": "Web (TCP-In)",
            "Enabled": "True",
            "Direction": "Inbound",
            "Action": "Allow",
            "Profile": "Any",
            "Protocol": "TCP",
            "LocalPort": ["80", "443"],
            "RemotePort": ["Any"],
            "LocalAddress": ["Any"],
            "RemoteAddress": ["10.0.0.0/255.0.0.0"],
            "Program": "Any",
            "Service": "Any",
            "InterfaceType": "Any",
            "PolicyStoreSource": "PersistentStore",
        },
        {
            "Name": "Deny-8080-Range",
            "DisplayName": "Deny 8000-8100",
            "Enabled": "True",
            "Direction": "Inbound",
            "Action": "Block",
            "Profile": "Domain, Private, Public",
            "Protocol": "TCP",
            "LocalPort": ["8000-8100"],
            "RemotePort": ["Any"],
            "LocalAddress": ["Any"],
            "RemoteAddress": ["Any"],
            "Program": "Any",
            "Service": "Any",
            "InterfaceType": "Any",
        },
        {
            "Name": "Domain",
            "Enabled": "True",
            "DefaultInboundAction": "Block",
            "DefaultOutboundAction": "Allow",
            "AllowInboundRules": "True",
            "AllowLocalFirewallRules": "True",
        },
    ],
    indent=2,
)

NETSTAT_GERMAN = """
Aktive Verbindungen

  Proto  Lokale Adresse         Remoteadresse          Status           PID
  TCP    0.0.0.0:135            0.0.0.0:0              ABHÖREN         912
  TCP    0.0.0.0:1433           0.0.0.0:0              ABHÖREN         2044
  TCP    10.0.0.4:1433          10.0.1.9:51522         HERGESTELLT     2044
  TCP    [::]:1433              [::]:0                 ABHÖREN         2044
  UDP    0.0.0.0:123            *:*                                    1388
"""

GET_NETADAPTER = "\n".join(
    (
        "",
        "Name                      InterfaceDescription                    "
        "ifIndex Status       MacAddress             LinkSpeed",
        "----                      --------------------                    "
        "------- ------       ----------             ---------",
        "Ethernet 2                Microsoft Hyper-V Network Adapter #2    "
        "      9 Up           00-0D-3A-E7-3E-98        50 Gbps",
        "Ethernet                  Microsoft Hyper-V Network Adapter       "
        "      6 Not Present  00-0D-3A-B4-60-2E          0 bps",
        "Local Area Connection* 1  WAN Miniport (SSTP)                     "
        "      2 Disconnected                            0 bps",
        "",
    )
)


def windows_probe(
    *,
    category: str = "Public",
    rules: list[dict[str, object]] | None = None,
    profiles: list[dict[str, object]] | None = None,
    errors: dict[str, str] | None = None,
) -> str:
    """Output of the probe's PowerShell script (schema vnetdoctor.windows-probe/1)."""
    sections: dict[str, object] = {
        "computer": {
            "data": [
                {
                    "ComputerName": "VM-SQL-01",
                    "OsCaption": "Microsoft Windows Server 2022 Datacenter",
                    "OsVersion": "10.0.20348",
                    "IsAdmin": True,
                }
            ],
            "error": None,
        },
        "adapters": {
            "data": [
                {
                    "Name": "Ethernet 2",
                    "InterfaceDescription": "Microsoft Hyper-V Network Adapter #2",
                    "ifIndex": 9,
                    "Status": "Up",
                    "MacAddress": "00-0D-3A-E7-3E-98",
                    "Hidden": False,
                    "HardwareInterface": True,
                },
                {
                    "Name": "Ethernet",
                    "InterfaceDescription": "Microsoft Hyper-V Network Adapter",
                    "ifIndex": 6,
                    "Status": "Not Present",
                    "MacAddress": "00-0D-3A-B4-60-2E",
                    "Hidden": True,
                    "HardwareInterface": True,
                },
            ],
            "error": None,
        },
        "pnp": {
            "data": [
                {
                    "FriendlyName": "Microsoft Hyper-V Network Adapter",
                    "InstanceId": "VMBUS\\{f8615163}\\1",
                    "Status": "Unknown",
                    "Present": False,
                }
            ],
            "error": None,
        },
        "ip_addresses": {
            "data": [
                {
                    "InterfaceAlias": "Ethernet 2",
                    "IPAddress": "10.0.0.4",
                    "PrefixLength": 24,
                    "PrefixOrigin": "Dhcp",
                    "AddressState": "Preferred",
                },
                {
                    "InterfaceAlias": "Ethernet 2",
                    "IPAddress": "fe80::1%9",
                    "PrefixLength": 64,
                    "PrefixOrigin": "WellKnown",
                    "AddressState": "Preferred",
                },
                {
                    "InterfaceAlias": "Loopback Pseudo-Interface 1",
                    "IPAddress": "127.0.0.1",
                    "PrefixLength": 8,
                    "PrefixOrigin": "WellKnown",
                    "AddressState": "Preferred",
                },
            ],
            "error": None,
        },
        "routes": {
            "data": [
                {
                    "DestinationPrefix": "0.0.0.0/0",
                    "NextHop": "10.0.0.1",
                    "InterfaceAlias": "Ethernet 2",
                    "RouteMetric": 0,
                }
            ],
            "error": None,
        },
        "dns": {
            "data": [{"InterfaceAlias": "Ethernet 2", "ServerAddresses": ["168.63.129.16"]}],
            "error": None,
        },
        "tcp_listeners": {
            "data": [
                {
                    "LocalAddress": "0.0.0.0",
                    "LocalPort": 1433,
                    "OwningProcess": 2044,
                    "ProcessName": "sqlservr",
                },
                {
                    "LocalAddress": "::",
                    "LocalPort": 1433,
                    "OwningProcess": 2044,
                    "ProcessName": "sqlservr",
                },
                {
                    "LocalAddress": "127.0.0.1",
                    "LocalPort": 5000,
                    "OwningProcess": 3000,
                    "ProcessName": "agent",
                },
            ],
            "error": None,
        },
        "udp_endpoints": {
            "data": [
                {
                    "LocalAddress": "0.0.0.0",
                    "LocalPort": 123,
                    "OwningProcess": 1388,
                    "ProcessName": "svchost",
                }
            ],
            "error": None,
        },
        "firewall_profiles": {
            "data": profiles
            if profiles is not None
            else [
                {
                    "Name": "Domain",
                    "Enabled": "True",
                    "DefaultInboundAction": "Block",
                    "DefaultOutboundAction": "Allow",
                    "AllowInboundRules": "True",
                    "AllowLocalFirewallRules": "True",
                },
                {
                    "Name": "Private",
                    "Enabled": "True",
                    "DefaultInboundAction": "Block",
                    "DefaultOutboundAction": "Allow",
                    "AllowInboundRules": "True",
                    "AllowLocalFirewallRules": "True",
                },
                {
                    "Name": "Public",
                    "Enabled": "True",
                    "DefaultInboundAction": "Block",
                    "DefaultOutboundAction": "Allow",
                    "AllowInboundRules": "True",
                    "AllowLocalFirewallRules": "True",
                },
            ],
            "error": None,
        },
        "firewall_rules": {
            "data": rules
            if rules is not None
            else [
                {
                    "Name": "MSSQL-In",
                    "DisplayName": "SQL Server (TCP-In)",
                    "Enabled": "True",
                    "Direction": "Inbound",
                    "Action": "Allow",
                    "Profile": "Domain, Private",
                    "PolicyStoreSource": "PersistentStore",
                    "EdgeTraversalPolicy": "Block",
                    "Protocol": "TCP",
                    "LocalPort": ["1433"],
                    "RemotePort": ["Any"],
                    "LocalAddress": ["Any"],
                    "RemoteAddress": ["Any"],
                    "Program": "Any",
                    "Service": "Any",
                    "InterfaceType": "Any",
                },
            ],
            "error": None,
        },
        "connection_profiles": {
            "data": [{"InterfaceAlias": "Ethernet 2", "NetworkCategory": category}],
            "error": None,
        },
    }
    for name, message in (errors or {}).items():
        sections[name] = {"data": None, "error": message}
    return json.dumps({"schema": "vnetdoctor.windows-probe/1", "sections": sections}, indent=2)
