"""Classic (ASM) VM ingest: Azure's recorded Get Deployment answers, the ARM form, hostile input.

The recorded answers live in ``../shared/fixtures/classic`` (see its README for provenance); tests
that need them skip with the reason when that folder is absent. Inline documents cover the shapes
no recording shows (the documented ``EndpointACL`` spelling, ``Deny`` rules, several rules).
"""

from __future__ import annotations

import contextlib
import json
import re
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vnetdoctor.errors import SnapshotParseError
from vnetdoctor.ingest.classic import (
    classic_vm_from_arm,
    classic_vms_from_xml,
    is_service_management_xml,
)
from vnetdoctor.model.classic import (
    AclAction,
    ClassicEndpoint,
    ClassicVirtualMachine,
    EndpointAclRule,
)
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.warnings import IngestWarning, WarningKind

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "classic"
NS = "http://schemas.microsoft.com/windowsazure"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

needs_fixtures = pytest.mark.fixtures


def fixture_bytes(name: str) -> bytes:
    if not FIXTURES.is_dir():
        pytest.skip(f"classic fixtures not found at {FIXTURES} (../shared is not beside the repo)")
    return (FIXTURES / name).read_bytes()


def read_xml(
    data: bytes, path: str = "deployment.xml"
) -> tuple[list[ClassicVirtualMachine], list[IngestWarning]]:
    warnings: list[IngestWarning] = []
    return classic_vms_from_xml(data, path=path, warn=warnings.append), warnings


def read_fixture(name: str) -> tuple[ClassicVirtualMachine, list[IngestWarning]]:
    vms, warnings = read_xml(fixture_bytes(name), path=name)
    assert len(vms) == 1
    return vms[0], warnings


def by_name(vm: ClassicVirtualMachine) -> dict[str, ClassicEndpoint]:
    return {endpoint.name: endpoint for endpoint in vm.endpoints}


def rule(
    order: int, action: AclAction, subnet: str, description: str | None = None
) -> EndpointAclRule:
    return EndpointAclRule(
        order=order, action=action, remote_subnet=ip_network(subnet), description=description
    )


def unparsed(warnings: list[IngestWarning]) -> list[tuple[str | None, str | None]]:
    return [(w.field, w.value) for w in warnings if w.kind is WarningKind.UNPARSED_VALUE]


def no_warning(warning: IngestWarning) -> None:
    pytest.fail(f"unexpected warning: {warning}")


PERMIT_TESTING = rule(1, AclAction.PERMIT, "23.99.18.228/31", "testing")


# -- a small inline deployment for shapes the recordings lack -------------------------------------


def deployment(endpoints: str = "", *, instance: str | None = None, extra: str = "") -> bytes:
    """A Get Deployment body in the shape of xplatcli-1.xml, cut down to what the reader uses."""
    if instance is None:
        instance = (
            "<RoleInstance><RoleName>vm1</RoleName><InstanceStatus>ReadyRole</InstanceStatus>"
            "<IpAddress>10.0.0.4</IpAddress><PowerState>Started</PowerState></RoleInstance>"
        )
    return (
        f'<Deployment xmlns="{NS}" xmlns:i="{XSI}"><Name>dep1</Name>'
        "<Url>http://svc1.cloudapp.net/</Url>"
        f"<RoleInstanceList>{instance}</RoleInstanceList>"
        '<RoleList><Role i:type="PersistentVMRole"><RoleName>vm1</RoleName>'
        "<RoleType>PersistentVMRole</RoleType><ConfigurationSets>"
        '<ConfigurationSet i:type="NetworkConfigurationSet">'
        "<ConfigurationSetType>NetworkConfiguration</ConfigurationSetType>"
        f"<InputEndpoints>{endpoints}</InputEndpoints><SubnetNames/></ConfigurationSet>"
        f"</ConfigurationSets></Role></RoleList>{extra}</Deployment>"
    ).encode()


def endpoint_xml(
    name: str = "rdp", port: str = "3389", local: str = "3389", acl: str | None = None
) -> str:
    return (
        f"<InputEndpoint><LocalPort>{local}</LocalPort><Name>{name}</Name><Port>{port}</Port>"
        "<Protocol>tcp</Protocol><Vip>13.91.40.238</Vip>"
        "<EnableDirectServerReturn>false</EnableDirectServerReturn>"
        f"{acl or ''}</InputEndpoint>"
    )


def rule_xml(order: str, action: str, subnet: str, description: str | None = None) -> str:
    desc = "" if description is None else f"<Description>{description}</Description>"
    return (
        f"<Rule><Order>{order}</Order><Action>{action}</Action>"
        f"<RemoteSubnet>{subnet}</RemoteSubnet>{desc}</Rule>"
    )


VM1_ID = "/classic/hostedservices/svc1/deployments/dep1/roles/vm1"
ACL_FIELD = "InputEndpoints/InputEndpoint[1]/EndpointAcl/Rules/Rule[1]"


# -- sniffing --------------------------------------------------------------------------------------


@needs_fixtures
@pytest.mark.parametrize("number", range(1, 10))
def test_sniff_accepts_every_recorded_deployment(number: int) -> None:
    assert is_service_management_xml(fixture_bytes(f"xplatcli-{number}.xml"))


@pytest.mark.parametrize(
    "data",
    [
        deployment(),
        b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?>\n<!-- c -->\n' + deployment(),
        deployment().decode().encode("utf-16"),
        f'<a:Deployment xmlns:a="{NS}"><a:Name>d</a:Name></a:Deployment>'.encode(),
        f'<Deployments xmlns="{NS}"></Deployments>'.encode(),
        f"<HostedService xmlns='{NS}'><ServiceName>s</ServiceName></HostedService>".encode(),
    ],
    ids=["plain", "bom-declaration-comment", "utf16", "prefixed", "list", "hosted-service"],
)
def test_sniff_accepts(data: bytes) -> None:
    assert is_service_management_xml(data)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   ",
        b'{"id": "/subscriptions/x"}',
        b"<Deployment><Name>d</Name></Deployment>",
        b'<Deployment xmlns="http://example.com/other"/>',
        f'<a:Deployment xmlns="{NS}" xmlns:a="urn:x"/>'.encode(),
        f'<HostedServices xmlns="{NS}"/>'.encode(),
        f'<Role xmlns="{NS}"/>'.encode(),
        b"\x00\xff\xfe garbage <<<",
    ],
    ids=[
        "empty",
        "blank",
        "json",
        "no-namespace",
        "other-namespace",
        "prefix-bound-elsewhere",
        "service-list",
        "other-root",
        "binary",
    ],
)
def test_sniff_rejects(data: bytes) -> None:
    assert not is_service_management_xml(data)


# -- the recorded Get Deployment answers -----------------------------------------------------------


@needs_fixtures
def test_xplatcli_1_endpoint_with_acl_rule() -> None:
    vm, warnings = read_fixture("xplatcli-1.xml")
    assert warnings == []
    assert vm == ClassicVirtualMachine(
        id=ResourceId(
            "/classic/hostedservices/clitestvm1224/deployments/clitestvm1224/roles/clitestvm1224"
        ),
        name="clitestvm1224",
        source="asm-xml",
        cloud_service="clitestvm1224",
        deployment_name="clitestvm1224",
        instance_status="StartingVM",
        power_state="Starting",
        private_ip_address=ip_address("10.156.90.124"),
        endpoints=(
            ClassicEndpoint(
                name="rdp",
                protocol="tcp",
                public_port=3389,
                local_port=3389,
                vip=ip_address("13.91.40.238"),
                acl=(PERMIT_TESTING,),
                index=0,
            ),
        ),
        path="xplatcli-1.xml",
    )


@needs_fixtures
def test_xplatcli_2_rule_moved_to_order_2() -> None:
    vm, warnings = read_fixture("xplatcli-2.xml")
    assert warnings == []
    (endpoint,) = vm.endpoints
    assert endpoint.acl == (rule(2, AclAction.PERMIT, "23.99.18.228/31", "testing"),)
    assert (vm.instance_status, vm.power_state) == ("RoleStateUnknown", "Started")


@needs_fixtures
def test_xplatcli_3_only_one_endpoint_has_an_acl() -> None:
    vm, warnings = read_fixture("xplatcli-3.xml")
    assert warnings == []
    assert vm.cloud_service == "dndintellij"  # the Url host, not the deployment Name
    assert vm.deployment_name == "DnDIntelliJ"
    assert [(e.name, e.public_port, e.local_port, e.index) for e in vm.endpoints] == [
        ("Remote Desktop", 3389, 3389, 0),
        ("SSH", 22, 22, 1),
        ("tcp-23-23", 23, 23, 2),
    ]
    endpoints = by_name(vm)
    assert endpoints["tcp-23-23"].acl == (rule(1, AclAction.PERMIT, "23.99.18.228/31"),)
    assert endpoints["Remote Desktop"].acl == ()
    assert endpoints["SSH"].acl == ()
    assert {e.vip for e in vm.endpoints} == {ip_address("191.236.114.223")}


@needs_fixtures
def test_xplatcli_4_deallocated_keeps_endpoints_and_acl() -> None:
    vm, warnings = read_fixture("xplatcli-4.xml")
    assert warnings == []
    assert (vm.instance_status, vm.power_state) == ("StoppedDeallocated", "Stopped")
    assert vm.is_running is False
    assert vm.private_ip_address is None
    assert vm.instance_public_ip_addresses == ()
    assert [e.name for e in vm.endpoints] == ["Remote Desktop", "SSH", "tcp-23-23"]
    assert all(e.vip is None for e in vm.endpoints)
    assert by_name(vm)["tcp-23-23"].acl == (rule(1, AclAction.PERMIT, "23.99.18.228/31"),)


@needs_fixtures
def test_xplatcli_5_port_mapping_and_load_balanced_sets() -> None:
    vm, warnings = read_fixture("xplatcli-5.xml")
    assert warnings == []
    assert [
        (e.name, e.public_port, e.local_port, e.load_balanced_endpoint_set_name, e.acl)
        for e in vm.endpoints
    ] == [
        ("PowerShell", 5986, 5986, None, ()),
        ("Remote Desktop", 50890, 3389, None, ()),
        ("vmEndpt", 26, 26, "LbSetTest", ()),
        ("vmEndpt1", 27, 27, "LbSetTest1", ()),
    ]


@needs_fixtures
def test_xplatcli_6_vnet_vm_without_endpoints() -> None:
    vm, warnings = read_fixture("xplatcli-6.xml")
    assert warnings == []
    assert vm.virtual_network_name == "mynetwork"
    assert vm.subnet_names == ("Subnet-1",)
    assert vm.private_ip_address == ip_address("10.4.0.4")
    assert vm.endpoints == ()


@needs_fixtures
def test_static_vnet_address_stands_in_for_a_missing_instance_address() -> None:
    data = fixture_bytes("xplatcli-6.xml").replace(b"<IpAddress>10.4.0.4</IpAddress>", b"")
    (vm,), warnings = read_xml(data)
    assert warnings == []
    assert vm.private_ip_address == ip_address("10.4.0.4")


@needs_fixtures
def test_xplatcli_7_multi_nic_primary_address() -> None:
    vm, warnings = read_fixture("xplatcli-7.xml")
    assert warnings == []
    assert vm.private_ip_address == ip_address("10.0.0.4")
    assert vm.virtual_network_name == "CliTestVnetVm486"
    assert vm.subnet_names == ("CliTestSubnetVm82",)


@needs_fixtures
def test_xplatcli_8_reserved_ip_is_the_endpoint_vip() -> None:
    vm, warnings = read_fixture("xplatcli-8.xml")
    assert warnings == []
    (endpoint,) = vm.endpoints
    assert (endpoint.name, endpoint.vip, endpoint.acl) == ("rdp", ip_address("104.210.34.1"), ())


@needs_fixtures
def test_xplatcli_9_instance_level_public_ip() -> None:
    vm, warnings = read_fixture("xplatcli-9.xml")
    assert warnings == []
    assert vm.instance_public_ip_addresses == (ip_address("52.160.102.34"),)
    assert vm.endpoints == ()


def _recorded_bodies() -> list[str]:
    """Every response body in the nock recording kept as provenance for xplatcli-1."""
    text = fixture_bytes("xplatcli-10.txt").decode()
    literals = re.findall(r'\.reply\(200, ("(?:[^"\\]|\\.)*")', text)
    return [body for body in map(json.loads, literals) if body.startswith("<")]


@needs_fixtures
def test_every_deployment_in_the_recording_reads_and_skips_web_roles() -> None:
    bodies = _recorded_bodies()
    deployments = [b for b in bodies if b.startswith("<Deployment ")]
    assert len(deployments) == 22
    assert all(is_service_management_xml(b.encode()) for b in deployments)
    assert not any(is_service_management_xml(b.encode()) for b in bodies if b not in deployments)
    names: set[str] = set()
    for body in deployments:
        vms, warnings = read_xml(body.encode())
        names.update(vm.name for vm in vms)
        # Web/worker roles share the RoleList; they are reported, never read as VMs.
        assert {w.kind for w in warnings} <= {WarningKind.UNSUPPORTED_TYPE}
    assert "WebRole1" not in names
    assert {"clitestvm1224", "RunnerTestOpenSuse132", "pstestsvc8814"} <= names


# -- wrappers and document-level shapes ------------------------------------------------------------


@needs_fixtures
def test_deployments_wrapper_holds_several() -> None:
    data = (
        f'<Deployments xmlns="{NS}">'.encode()
        + fixture_bytes("xplatcli-1.xml")
        + fixture_bytes("xplatcli-3.xml")
        + b"</Deployments>"
    )
    vms, warnings = read_xml(data)
    assert warnings == []
    assert [vm.name for vm in vms] == ["clitestvm1224", "DnDIntelliJ"]


@needs_fixtures
def test_hosted_service_with_embedded_deployment() -> None:
    inner = fixture_bytes("xplatcli-3.xml")
    data = (
        (
            f'<HostedService xmlns="{NS}"><ServiceName>DnDIntelliJ</ServiceName>'
            "<HostedServiceProperties><Location>West US</Location></HostedServiceProperties>"
            "<Deployments>"
        ).encode()
        + inner
        + b"</Deployments></HostedService>"
    )
    (vm,), warnings = read_xml(data)
    assert warnings == []
    (plain,), _ = read_xml(inner)
    assert vm.id == plain.id
    assert vm.location == "West US"
    assert vm.cloud_service == "dndintellij"


def test_hosted_service_name_used_when_the_deployment_has_no_url() -> None:
    inner = deployment().replace(b"<Url>http://svc1.cloudapp.net/</Url>", b"")
    data = (
        f'<HostedService xmlns="{NS}"><ServiceName>Svc1</ServiceName><Deployments>'.encode()
        + inner
        + b"</Deployments></HostedService>"
    )
    (vm,), warnings = read_xml(data)
    assert warnings == []
    assert vm.cloud_service == "Svc1"
    assert vm.id == VM1_ID


def test_deployment_name_assumed_as_service_without_url() -> None:
    (vm,), warnings = read_xml(deployment().replace(b"<Url>http://svc1.cloudapp.net/</Url>", b""))
    assert vm.cloud_service == "dep1"
    assert [(w.kind, w.field) for w in warnings] == [(WarningKind.DEFAULT_ASSUMED, "Url")]


def test_hosted_service_without_embedded_deployments_warns() -> None:
    data = f'<HostedService xmlns="{NS}"><ServiceName>s</ServiceName></HostedService>'.encode()
    vms, warnings = read_xml(data)
    assert vms == []
    assert [(w.kind, w.field) for w in warnings] == [
        (WarningKind.MISSING_FIELD, "HostedService/Deployments")
    ]


def test_missing_role_list_warns_and_yields_no_vms() -> None:
    data = f'<Deployment xmlns="{NS}"><Name>d</Name><Url>http://s.cloudapp.net/</Url></Deployment>'
    vms, warnings = read_xml(data.encode(), path="d.xml")
    assert vms == []
    (warning,) = warnings
    assert (warning.kind, warning.field, warning.path) == (
        WarningKind.MISSING_FIELD,
        "RoleList",
        "d.xml",
    )
    assert warning.resource == "/classic/hostedservices/s/deployments/d"


def test_web_role_is_not_a_vm() -> None:
    data = deployment().replace(b' i:type="PersistentVMRole"', b"")
    data = data.replace(b"<RoleType>PersistentVMRole</RoleType>", b"")
    vms, warnings = read_xml(data)
    assert vms == []
    assert [(w.kind, w.field) for w in warnings] == [
        (WarningKind.UNSUPPORTED_TYPE, "RoleList/Role[1]")
    ]


def test_role_without_instance_has_unknown_runtime_state() -> None:
    (vm,), warnings = read_xml(deployment(instance=""))
    assert (vm.instance_status, vm.power_state, vm.private_ip_address) == (None, None, None)
    assert vm.is_running is None
    assert [w.kind for w in warnings] == [WarningKind.MISSING_FIELD]


def test_instance_joined_by_role_name() -> None:
    other = (
        "<RoleInstance><RoleName>other</RoleName><InstanceStatus>StoppedVM</InstanceStatus>"
        "</RoleInstance><RoleInstance><RoleName>VM1</RoleName>"
        "<InstanceStatus>ReadyRole</InstanceStatus></RoleInstance>"
    )
    (vm,), _ = read_xml(deployment(instance=other))
    assert vm.instance_status == "ReadyRole"


# -- ACL shapes --------------------------------------------------------------------------------


def test_documented_acl_spelling_deny_and_rule_order() -> None:
    acl = (
        "<EndpointACL><Rules>"
        + rule_xml("200", "Permit", "175.0.0.0/8", "wide")
        + rule_xml("100", "Deny", "175.1.0.1/24")
        + "</Rules></EndpointACL>"
    )
    (vm,), warnings = read_xml(deployment(endpoint_xml(acl=acl)))
    assert warnings == []
    (endpoint,) = vm.endpoints
    assert endpoint.acl == (
        rule(100, AclAction.DENY, "175.1.0.0/24"),
        rule(200, AclAction.PERMIT, "175.0.0.0/8", "wide"),
    )


def test_empty_acl_element_means_no_rules() -> None:
    (vm,), warnings = read_xml(deployment(endpoint_xml(acl="<EndpointAcl><Rules/></EndpointAcl>")))
    assert warnings == []
    assert vm.endpoints[0].acl == ()


@needs_fixtures
def test_bad_remote_subnet_makes_the_acl_unknown() -> None:
    data = fixture_bytes("xplatcli-1.xml").replace(b"23.99.18.228/31", b"10.300.0.0/8")
    (vm,), warnings = read_xml(data, path="bad.xml")
    (warning,) = warnings
    assert warning.kind is WarningKind.UNPARSED_VALUE
    assert warning.field == "InputEndpoints/InputEndpoint[1]/EndpointAcl/Rules/Rule[1]/RemoteSubnet"
    assert warning.value == "10.300.0.0/8"
    assert warning.resource == str(vm.id)
    assert warning.path == "bad.xml"
    assert vm.endpoints[0].acl is None
    assert vm.endpoints[0].public_port == 3389


@needs_fixtures
def test_bad_rule_on_third_endpoint_leaves_the_others_alone() -> None:
    data = fixture_bytes("xplatcli-3.xml").replace(b"<Order>1</Order>", b"<Order>first</Order>")
    (vm,), warnings = read_xml(data)
    assert unparsed(warnings) == [
        ("InputEndpoints/InputEndpoint[3]/EndpointAcl/Rules/Rule[1]/Order", "first")
    ]
    assert [e.acl for e in vm.endpoints] == [(), (), None]


@pytest.mark.parametrize(
    ("rule_text", "field", "value"),
    [
        (rule_xml("1", "allow", "10.0.0.0/8"), "Action", "allow"),
        (rule_xml("1.5", "permit", "10.0.0.0/8"), "Order", "1.5"),
        (rule_xml("1", "deny", "10.0.0.0/33"), "RemoteSubnet", "10.0.0.0/33"),
        (rule_xml("1", "deny", "any"), "RemoteSubnet", "any"),
    ],
)
def test_any_bad_rule_field_makes_the_acl_unknown(rule_text: str, field: str, value: str) -> None:
    first = rule_xml("2", "deny", "10.1.0.0/16")
    acl = f"<EndpointAcl><Rules>{first}{rule_text}</Rules></EndpointAcl>"
    (vm,), warnings = read_xml(deployment(endpoint_xml(acl=acl)))
    assert unparsed(warnings) == [
        (f"InputEndpoints/InputEndpoint[1]/EndpointAcl/Rules/Rule[2]/{field}", value)
    ]
    assert vm.endpoints[0].acl is None


def test_rule_missing_its_subnet_makes_the_acl_unknown() -> None:
    no_subnet = "<Rule><Order>1</Order><Action>deny</Action></Rule>"
    acl = f"<EndpointAcl><Rules>{no_subnet}</Rules></EndpointAcl>"
    (vm,), warnings = read_xml(deployment(endpoint_xml(acl=acl)))
    assert [(w.kind, w.field) for w in warnings] == [
        (WarningKind.MISSING_FIELD, f"{ACL_FIELD}/RemoteSubnet")
    ]
    assert vm.endpoints[0].acl is None


def test_two_rules_with_one_order_make_the_acl_unknown() -> None:
    acl = (
        "<EndpointAcl><Rules>"
        + rule_xml("1", "permit", "10.0.0.0/8")
        + rule_xml("1", "deny", "10.0.0.0/16")
        + "</Rules></EndpointAcl>"
    )
    (vm,), warnings = read_xml(deployment(endpoint_xml(acl=acl)))
    assert unparsed(warnings) == [
        ("InputEndpoints/InputEndpoint[1]/EndpointAcl/Rules/Rule[2]/Order", "1")
    ]
    assert vm.endpoints[0].acl is None


@pytest.mark.parametrize("port", ["99999", "0", "-1", "http", "3389.0"])
def test_bad_port_is_unknown(port: str) -> None:
    (vm,), warnings = read_xml(deployment(endpoint_xml(port=port)))
    assert unparsed(warnings) == [("InputEndpoints/InputEndpoint[1]/Port", port)]
    assert vm.endpoints[0].public_port is None
    assert vm.endpoints[0].local_port == 3389
    assert vm.endpoints[0].acl == ()


def test_bad_addresses_are_reported() -> None:
    data = deployment(endpoint_xml()).replace(b"13.91.40.238", b"13.91.40")
    data = data.replace(b"<IpAddress>10.0.0.4</IpAddress>", b"<IpAddress>ten</IpAddress>")
    (vm,), warnings = read_xml(data)
    assert unparsed(warnings) == [
        ("InputEndpoints/InputEndpoint[1]/Vip", "13.91.40"),
        ("RoleInstance/IpAddress", "ten"),
    ]
    assert (vm.endpoints[0].vip, vm.private_ip_address) == (None, None)


# -- hostile and broken XML --------------------------------------------------------------------


def billion_laughs() -> bytes:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)
    ]
    return (
        f'<?xml version="1.0"?><!DOCTYPE Deployment [{"".join(entities)}]>'
        f'<Deployment xmlns="{NS}"><Name>&lol9;</Name></Deployment>'
    ).encode()


def test_billion_laughs_is_refused() -> None:
    data = billion_laughs()
    assert is_service_management_xml(data)  # routed to the reader, which refuses it by name
    with pytest.raises(SnapshotParseError, match="DTD") as caught:
        classic_vms_from_xml(data, path="laughs.xml", warn=no_warning)
    assert caught.value.path == "laughs.xml"
    assert "laughs.xml" in str(caught.value)


def test_external_entity_is_refused_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    for doctype in (
        f'<!DOCTYPE Deployment [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>',
        f'<!DOCTYPE Deployment SYSTEM "{secret.as_uri()}">',
    ):
        data = f'{doctype}<Deployment xmlns="{NS}"><Name>&xxe;</Name></Deployment>'.encode()
        with pytest.raises(SnapshotParseError) as caught:
            classic_vms_from_xml(data, path="xxe.xml", warn=no_warning)
        assert "TOPSECRET" not in str(caught.value)
        assert caught.value.path == "xxe.xml"


@needs_fixtures
def test_truncated_xml_names_path_and_line() -> None:
    data = fixture_bytes("xplatcli-1.xml")
    with pytest.raises(SnapshotParseError, match="truncated") as caught:
        classic_vms_from_xml(data[: len(data) // 2], path="half.xml", warn=no_warning)
    assert caught.value.path == "half.xml"
    assert caught.value.line == 1
    assert str(caught.value).startswith("half.xml:1: ")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not xml",
        b'<?xml version="1.0" encoding="no-such-codec"?><Deployment/>',
        f'<Role xmlns="{NS}"/>'.encode(),
        f'<HostedServices xmlns="{NS}"/>'.encode(),
    ],
    ids=["empty", "text", "bad-encoding", "wrong-root", "service-list"],
)
def test_unreadable_documents_raise(data: bytes) -> None:
    with pytest.raises(SnapshotParseError) as caught:
        classic_vms_from_xml(data, path="x.xml", warn=no_warning)
    assert caught.value.path == "x.xml"


@settings(max_examples=300, database=None, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_read_or_raise_parse_error(data: bytes) -> None:
    with contextlib.suppress(SnapshotParseError):
        classic_vms_from_xml(data, path="fuzz.xml", warn=lambda _: None)
    is_service_management_xml(data)


XML_TEXT = st.text(
    st.characters(exclude_categories=("Cs", "Cc", "Cn"), include_characters="\t\n"), max_size=20
)


@settings(max_examples=200, database=None, deadline=None)
@given(order=XML_TEXT, action=XML_TEXT, subnet=XML_TEXT, port=XML_TEXT)
def test_random_values_never_crash_and_unknown_always_warns(
    order: str, action: str, subnet: str, port: str
) -> None:
    one_rule = rule_xml(escape(order), escape(action), escape(subnet))
    acl = f"<EndpointAcl><Rules>{one_rule}</Rules></EndpointAcl>"
    warnings: list[IngestWarning] = []
    (vm,) = classic_vms_from_xml(
        deployment(endpoint_xml(port=escape(port), acl=acl)), path="p", warn=warnings.append
    )
    fields = {w.field or "" for w in warnings}
    endpoint = vm.endpoints[0]
    assert (endpoint.acl is None) == any(f.startswith(ACL_FIELD) for f in fields)
    assert (endpoint.public_port is None) == ("InputEndpoints/InputEndpoint[1]/Port" in fields)
    assert all(w.resource == VM1_ID for w in warnings)


# -- the ARM form ------------------------------------------------------------------------------

ARM_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1"
    "/providers/Microsoft.ClassicCompute/virtualMachines/vm1"
)


def arm_body(properties: Any = None, **top: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": ARM_ID,
        "name": "vm1",
        "type": "Microsoft.ClassicCompute/virtualMachines",
    }
    if properties is not None:
        body["properties"] = properties
    body.update(top)
    return body


def read_arm(
    body: Any, path: str | None = "vms.json"
) -> tuple[ClassicVirtualMachine, list[IngestWarning]]:
    warnings: list[IngestWarning] = []
    return classic_vm_from_arm(body, path=path, warn=warnings.append), warnings


def qsissue452_network_profile() -> dict[str, Any]:
    # The issue quotes a bare `"networkProfile": {...}` member; wrap it to make a JSON object.
    text = fixture_bytes("qsissue452-1.txt").decode()
    profile: dict[str, Any] = json.loads("{" + text + "}")["networkProfile"]
    return profile


def one_endpoint(**fields: Any) -> dict[str, Any]:
    endpoint = {
        "endpointName": "Remote Desktop",
        "privatePort": 3389,
        "publicPort": 3389,
        "protocol": "tcp",
        "enableDirectServerReturn": False,
    }
    endpoint.update(fields)
    return arm_body({"networkProfile": {"inputEndpoints": [endpoint]}})


@needs_fixtures
def test_arm_endpoints_from_the_live_sample_have_unknown_acls() -> None:
    vm, warnings = read_arm(
        arm_body(
            {"networkProfile": qsissue452_network_profile()},
            type="microsoft.classiccompute/virtualmachines",
        )
    )
    assert warnings == []
    assert vm.source == "arm"
    assert vm.id == ARM_ID.lower()
    assert vm.endpoints == tuple(
        ClassicEndpoint(
            name=name, protocol="tcp", public_port=port, local_port=port, acl=None, index=n
        )
        for n, (name, port) in enumerate(
            [("ESAdmin", 2113), ("ESTCP", 1113), ("Remote Desktop", 3389), ("WinRM", 5986)]
        )
    )


def test_arm_full_body() -> None:
    body = arm_body(
        {
            "instanceView": {
                "status": "ReadyRole",
                "powerState": "Started",
                "privateIpAddress": "10.0.0.4",
                "publicIpAddresses": ["52.160.102.34"],
            },
            "hardwareProfile": {"size": "Basic_A2", "deploymentName": "dep1"},
            "domainName": {
                "id": "/subscriptions/x/resourceGroups/rg1/providers/Microsoft.ClassicCompute"
                "/domainNames/svc1",
                "name": "svc1",
                "type": "Microsoft.ClassicCompute/domainNames",
            },
            "networkProfile": {
                "inputEndpoints": [
                    {
                        "endpointName": "web",
                        "privatePort": 8080,
                        "publicPort": 80,
                        "protocol": "TCP",
                        "enableDirectServerReturn": True,
                        "publicIpAddress": "13.91.40.238",
                        "loadBalancedEndpointSetName": "web-set",
                    }
                ],
                "virtualNetwork": {
                    "name": "vnet1",
                    "subnetNames": ["Subnet-1"],
                    "staticIpAddress": "10.0.0.9",
                },
            },
        },
        location="westus",
    )
    vm, warnings = read_arm(body)
    assert warnings == []
    assert vm == ClassicVirtualMachine(
        id=ResourceId(ARM_ID),
        name="vm1",
        source="arm",
        cloud_service="svc1",
        deployment_name="dep1",
        location="westus",
        instance_status="ReadyRole",
        power_state="Started",
        private_ip_address=ip_address("10.0.0.4"),
        virtual_ip_addresses=(ip_address("52.160.102.34"),),
        virtual_network_name="vnet1",
        subnet_names=("Subnet-1",),
        endpoints=(
            ClassicEndpoint(
                name="web",
                protocol="tcp",
                public_port=80,
                local_port=8080,
                vip=ip_address("13.91.40.238"),
                load_balanced_endpoint_set_name="web-set",
                enable_direct_server_return=True,
                acl=None,
            ),
        ),
        path="vms.json",
    )


def test_arm_static_ip_stands_in_for_a_missing_instance_view() -> None:
    body = arm_body({"networkProfile": {"virtualNetwork": {"staticIpAddress": "10.0.0.9"}}})
    vm, warnings = read_arm(body, path=None)
    assert warnings == []
    assert vm.private_ip_address == ip_address("10.0.0.9")
    assert vm.path is None


def test_arm_endpoint_acl_rules_are_read_and_sorted() -> None:
    rules = [
        {"order": 200, "action": "Permit", "remoteSubnet": "175.0.0.0/8"},
        {"order": 100, "action": "deny", "remoteSubnet": "175.1.0.0/24", "description": "carve"},
    ]
    vm, warnings = read_arm(one_endpoint(endpointAcl={"rules": rules}))
    assert warnings == []
    assert vm.endpoints[0].acl == (
        rule(100, AclAction.DENY, "175.1.0.0/24", "carve"),
        rule(200, AclAction.PERMIT, "175.0.0.0/8"),
    )


@pytest.mark.parametrize("acl", [{"rules": []}, {}], ids=["empty-list", "no-rules-key"])
def test_arm_endpoint_acl_without_rules_is_empty(acl: dict[str, Any]) -> None:
    vm, warnings = read_arm(one_endpoint(endpointAcl=acl))
    assert warnings == []
    assert vm.endpoints[0].acl == ()


def test_arm_bad_remote_subnet_makes_the_acl_unknown() -> None:
    rules = [{"order": 1, "action": "permit", "remoteSubnet": "10.300.0.0/8"}]
    vm, warnings = read_arm(one_endpoint(endpointAcl={"rules": rules}))
    (warning,) = warnings
    assert warning.kind is WarningKind.UNPARSED_VALUE
    assert (
        warning.field
        == "properties.networkProfile.inputEndpoints[0].endpointAcl.rules[0].remoteSubnet"
    )
    assert warning.value == "10.300.0.0/8"
    assert warning.resource == ARM_ID
    assert warning.path == "vms.json"
    assert vm.endpoints[0].acl is None


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ("permit all", "endpointAcl.rules"),
        (["permit"], "endpointAcl.rules[0]"),
        (
            [{"order": "1st", "action": "permit", "remoteSubnet": "10.0.0.0/8"}],
            "endpointAcl.rules[0].order",
        ),
        (
            [{"order": True, "action": "permit", "remoteSubnet": "10.0.0.0/8"}],
            "endpointAcl.rules[0].order",
        ),
        (
            [{"order": 1, "action": ["permit"], "remoteSubnet": "10.0.0.0/8"}],
            "endpointAcl.rules[0].action",
        ),
    ],
)
def test_arm_wrong_typed_acl_is_unknown(rules: Any, field: str) -> None:
    vm, warnings = read_arm(one_endpoint(endpointAcl={"rules": rules}))
    assert [w.field for w in warnings] == [f"properties.networkProfile.inputEndpoints[0].{field}"]
    assert vm.endpoints[0].acl is None


@pytest.mark.parametrize("port", ["99999", 0, 3389.5, "3389/tcp", [3389], {"port": 3389}, True])
def test_arm_bad_public_port_is_unknown(port: Any) -> None:
    vm, warnings = read_arm(one_endpoint(publicPort=port))
    assert [(w.kind, w.field) for w in warnings] == [
        (WarningKind.UNPARSED_VALUE, "properties.networkProfile.inputEndpoints[0].publicPort")
    ]
    assert vm.endpoints[0].public_port is None
    assert vm.endpoints[0].local_port == 3389


def test_arm_numeric_strings_are_ports() -> None:
    vm, warnings = read_arm(one_endpoint(publicPort="50890", privatePort=3389.0))
    assert warnings == []
    assert (vm.endpoints[0].public_port, vm.endpoints[0].local_port) == (50890, 3389)


@pytest.mark.parametrize(
    ("properties", "fields"),
    [
        (["not", "an", "object"], ["properties"]),
        (
            {"networkProfile": {"inputEndpoints": "rdp"}},
            ["properties.networkProfile.inputEndpoints"],
        ),
        (
            {"networkProfile": {"inputEndpoints": [None]}},
            ["properties.networkProfile.inputEndpoints[0]"],
        ),
        (
            {"networkProfile": {"virtualNetwork": {"subnetNames": ["a", 7], "name": ["v"]}}},
            [
                "properties.networkProfile.virtualNetwork.subnetNames[1]",
                "properties.networkProfile.virtualNetwork.name",
            ],
        ),
        (
            {"instanceView": {"publicIpAddresses": [1, "x"], "status": {"code": 1}}},
            [
                "properties.instanceView.publicIpAddresses[0]",
                "properties.instanceView.publicIpAddresses[1]",
                "properties.instanceView.status",
            ],
        ),
    ],
)
def test_arm_wrong_types_warn(properties: Any, fields: list[str]) -> None:
    _, warnings = read_arm(arm_body(properties))
    assert [w.field for w in warnings] == fields
    assert {w.kind for w in warnings} == {WarningKind.UNPARSED_VALUE}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "vm1", "type": "Microsoft.ClassicCompute/virtualMachines"}, "id"),
        ({"id": "  ", "type": "Microsoft.ClassicCompute/virtualMachines"}, "id"),
        ({"id": ["x"], "type": "Microsoft.ClassicCompute/virtualMachines"}, "id"),
        ({"id": ARM_ID, "type": "Microsoft.Compute/virtualMachines"}, "type"),
        ({"id": ARM_ID, "type": 7}, "type"),
    ],
)
def test_arm_body_that_cannot_be_named_raises(body: dict[str, Any], field: str) -> None:
    with pytest.raises(SnapshotParseError) as caught:
        classic_vm_from_arm(body, path="vms.json", warn=no_warning)
    assert (caught.value.field, caught.value.path) == (field, "vms.json")


def test_arm_type_may_come_from_the_id_alone() -> None:
    vm, warnings = read_arm({"id": ARM_ID})
    assert warnings == []
    assert vm.name == "vm1"


def test_arm_body_must_be_an_object() -> None:
    with pytest.raises(SnapshotParseError):
        classic_vm_from_arm(["not", "a", "vm"], path=None, warn=no_warning)  # type: ignore[arg-type]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return strategy | JSON


def some_of(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


PORTS = maybe(st.integers(-5, 70000) | st.sampled_from(["22", "99999", " 80 "]))
RULES = some_of(
    order=maybe(st.integers(-3, 70000)),
    action=maybe(st.sampled_from(["permit", "Deny", "allow"])),
    remoteSubnet=maybe(st.sampled_from(["10.0.0.0/8", "10.300.0.0/8", "::/0", "1.2.3.4"])),
    description=JSON,
)
ENDPOINTS = some_of(
    endpointName=JSON,
    protocol=maybe(st.sampled_from(["tcp", "UDP"])),
    publicPort=PORTS,
    privatePort=PORTS,
    enableDirectServerReturn=JSON,
    publicIpAddress=maybe(st.sampled_from(["13.91.40.238", "300.1.1.1"])),
    loadBalancedEndpointSetName=JSON,
    endpointAcl=maybe(some_of(rules=maybe(st.lists(maybe(RULES), max_size=3)))),
)
PROPERTIES = some_of(
    instanceView=maybe(
        some_of(
            status=JSON,
            powerState=JSON,
            privateIpAddress=maybe(st.just("10.0.0.4")),
            publicIpAddresses=maybe(st.lists(maybe(st.just("52.160.102.34")), max_size=2)),
        )
    ),
    hardwareProfile=maybe(some_of(deploymentName=JSON)),
    domainName=maybe(some_of(name=JSON)),
    networkProfile=maybe(
        some_of(
            inputEndpoints=maybe(st.lists(maybe(ENDPOINTS), max_size=3)),
            virtualNetwork=maybe(some_of(name=JSON, subnetNames=JSON, staticIpAddress=JSON)),
        )
    ),
)


@settings(max_examples=400, database=None, deadline=None)
@given(properties=maybe(PROPERTIES), name=maybe(st.just("vm1")), location=JSON)
def test_arm_random_bodies_read_or_raise_parse_error(
    properties: Any, name: Any, location: Any
) -> None:
    warnings: list[IngestWarning] = []
    try:
        vm = classic_vm_from_arm(
            arm_body(properties, name=name, location=location),
            path="fuzz.json",
            warn=warnings.append,
        )
    except SnapshotParseError:
        return
    assert isinstance(vm, ClassicVirtualMachine)
    assert all(w.resource == ARM_ID and w.path == "fuzz.json" for w in warnings)
    for endpoint in vm.endpoints:
        assert all(
            p is None or 1 <= p <= 65535 for p in (endpoint.public_port, endpoint.local_port)
        )
        if endpoint.acl is not None:
            orders = [r.order for r in endpoint.acl]
            assert orders == sorted(set(orders))


UTF16_DECLARED = '<?xml version="1.0" encoding="utf-16"?>\n'


@pytest.mark.parametrize(
    "data",
    [
        (UTF16_DECLARED + deployment().decode()).encode("utf-16"),  # BOM, as Windows saves it
        (UTF16_DECLARED + deployment().decode()).encode("utf-16-be").join([b"\xfe\xff", b""]),
        (UTF16_DECLARED + deployment().decode()).encode("utf-16-le"),  # no BOM: by its "<?"
        (UTF16_DECLARED.replace("utf-16", "UTF-16LE") + deployment().decode()).encode("utf-16"),
    ],
    ids=["utf16-bom", "utf16-be-bom", "utf16-le-no-bom", "utf16le-name"],
)
def test_utf16_documents_with_their_declaration_are_read(tmp_path: Path, data: bytes) -> None:
    from vnetdoctor.ingest.loader import load_snapshot

    assert is_service_management_xml(data)
    (vm,) = classic_vms_from_xml(data, path="d.xml", warn=[].append)
    assert vm.name == "vm1"
    (tmp_path / "d.xml").write_bytes(data)  # through the loader, which transcodes UTF-16 first
    assert [v.name for v in load_snapshot([tmp_path / "d.xml"]).classic_virtual_machines] == [
        "vm1"]


def test_an_unknown_declared_encoding_is_still_refused_by_name() -> None:
    data = b'<?xml version="1.0" encoding="x-no-such"?>\n' + deployment()
    with pytest.raises(SnapshotParseError, match=r"d\.xml"):
        classic_vms_from_xml(data, path="d.xml", warn=[].append)
