"""Classic (Azure Service Management) VMs, from Get Deployment XML or an ARM body, into the model.

Endpoint ACLs live only in the Service Management XML (``EndpointAcl/Rules/Rule``); ARM never
returns them. So the two readers differ in one deliberate way: in XML an endpoint without an ACL
element has ``acl=()`` (no ACL: permits all), while in ARM an endpoint without an ``endpointAcl``
key has ``acl=None`` (unknown).

A bad value never crashes the reader and is never dropped in silence: it produces an
:class:`IngestWarning` naming the VM, the field and the text, and whatever depends on it becomes
unknown. One bad ACL rule makes the whole ACL unknown rather than dropping the rule, because
dropping a deny would wrongly permit. Only an unreadable document (malformed, hostile, wrong
root) raises :class:`SnapshotParseError`.

No I/O happens here: callers pass the bytes or the decoded JSON object.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as DefusedET

from vnetdoctor.errors import SnapshotParseError
from vnetdoctor.model.classic import (
    AclAction,
    ClassicEndpoint,
    ClassicVirtualMachine,
    EndpointAclRule,
)
from vnetdoctor.model.ids import ResourceId
from vnetdoctor.model.net import MAX_PORT, IPAddress, IPNetwork, parse_ip, parse_network
from vnetdoctor.model.warnings import IngestWarning, WarningKind

__all__ = [
    "ARM_TYPE",
    "ASM_NAMESPACE",
    "Warn",
    "classic_vm_from_arm",
    "classic_vms_from_xml",
    "is_service_management_xml",
]

Warn = Callable[[IngestWarning], None]

ASM_NAMESPACE: Final = "http://schemas.microsoft.com/windowsazure"
ARM_TYPE: Final = "Microsoft.ClassicCompute/virtualMachines"

_ARM_TYPE_KEY: Final = ARM_TYPE.casefold()
_XSI: Final = "{http://www.w3.org/2001/XMLSchema-instance}"
_ROOTS: Final = frozenset({"Deployment", "Deployments", "HostedService"})
_PROTOCOLS: Final = frozenset({"tcp", "udp"})
_SNIFF_BYTES: Final = 4096

_ACL_UNKNOWN: Final = "the endpoint's ACL is treated as unknown"
_PORT_UNKNOWN: Final = "the port is treated as unknown"

_T = TypeVar("_T")
_At = tuple[str, object]
"""A raw value and the field path it was read from, so a warning can point at it."""


# -- reporting ---------------------------------------------------------------------------------


class _Report:
    """Warnings for one resource, so that each call site only names the field and the problem."""

    __slots__ = ("_warn", "path", "resource")

    def __init__(self, warn: Warn, resource: str, path: str | None) -> None:
        self._warn = warn
        self.resource = resource
        self.path = path

    def emit(
        self, kind: WarningKind, message: str, *, field: str | None = None, value: object = None
    ) -> None:
        self._warn(
            IngestWarning.of(
                kind, message, resource=self.resource, field=field, value=value, path=self.path
            )
        )

    def unparsed(self, field: str, value: object, message: str) -> None:
        self.emit(WarningKind.UNPARSED_VALUE, message, field=field, value=value)

    def missing(self, field: str, message: str) -> None:
        self.emit(WarningKind.MISSING_FIELD, message, field=field)


def _value(report: _Report, at: _At, parse: Callable[[object], _T], consequence: str) -> _T | None:
    """Parse an optional value; on bad input warn and return ``None`` (unknown)."""
    field, raw = at
    if raw is None:
        return None
    try:
        return parse(raw)
    except ValueError as exc:
        report.unparsed(field, raw, f"{exc}; {consequence}")
        return None


# -- value parsers (raise ValueError with a message that says what was wrong) --------------------

_INTEGER = re.compile(r"[+-]?[0-9]+")


def _describe(raw: object) -> str:
    return "null" if raw is None else type(raw).__name__


def _int(raw: object) -> int:
    # bool is an int in Python but never a port or an order in Azure's data.
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str) and _INTEGER.fullmatch(raw.strip()):
        return int(raw.strip())
    if isinstance(raw, str):
        raise ValueError(f"{raw!r} is not an integer")
    raise ValueError(f"expected an integer, got {_describe(raw)}")


def _port(raw: object) -> int:
    port = _int(raw)
    if not 1 <= port <= MAX_PORT:
        raise ValueError(f"port {port} is outside 1-{MAX_PORT}")
    return port


def _string(raw: object) -> str:
    if not isinstance(raw, str):
        raise ValueError(f"expected a string, got {_describe(raw)}")
    return raw.strip()


def _ip(raw: object) -> IPAddress:
    return parse_ip(_string(raw))


def _network(raw: object) -> IPNetwork:
    return parse_network(_string(raw))


def _action(raw: object) -> AclAction:
    text = _string(raw).casefold()
    for action in AclAction:
        if action.value == text:
            return action
    raise ValueError(f"unknown ACL action {raw!r} (expected permit or deny)")


def _flag(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = _string(raw).casefold()
    if text in {"true", "1"}:
        return True
    if text in {"false", "0"}:
        return False
    raise ValueError(f"{raw!r} is not a boolean")


# -- shared model building ---------------------------------------------------------------------


def _text_field(report: _Report, at: _At) -> str | None:
    """An optional free-text field: a wrong type is reported and treated as absent."""
    text = _value(report, at, _string, "ignored")
    return text or None


def _endpoint(
    report: _Report,
    index: int,
    *,
    name: _At,
    protocol: _At,
    public_port: _At,
    local_port: _At,
    vip: _At,
    load_balanced_set: _At,
    direct_server_return: _At,
    acl: tuple[EndpointAclRule, ...] | None,
) -> ClassicEndpoint:
    """One endpoint. Name and protocol are required by the model, so an unreadable one is ``""``."""
    endpoint_name = _text_field(report, name)
    if endpoint_name is None:
        report.missing(name[0], "endpoint has no name")
    proto = _text_field(report, protocol)
    if proto is None:
        report.missing(protocol[0], "endpoint has no protocol; it cannot be matched to a flow")
    elif proto.casefold() not in _PROTOCOLS:
        report.unparsed(protocol[0], proto, "endpoint protocol is neither tcp nor udp")
    ports = []
    for at in (public_port, local_port):
        if at[1] is None:
            report.missing(at[0], f"endpoint has no port; {_PORT_UNKNOWN}")
        ports.append(_value(report, at, _port, _PORT_UNKNOWN))
    dsr = _value(report, direct_server_return, _flag, "assumed false")
    return ClassicEndpoint(
        name=endpoint_name or "",
        protocol=(proto or "").casefold(),
        public_port=ports[0],
        local_port=ports[1],
        vip=_value(report, vip, _ip, "the endpoint's VIP is treated as unknown"),
        load_balanced_endpoint_set_name=_text_field(report, load_balanced_set),
        enable_direct_server_return=bool(dsr),
        acl=acl,
        index=index,
    )


def _rule(
    report: _Report, *, order: _At, action: _At, remote_subnet: _At, description: _At
) -> EndpointAclRule | None:
    """One ACL rule, or ``None`` (after warnings) when any field that decides a match is bad."""
    parsed: list[object] = []
    for at, parse in ((order, _int), (action, _action), (remote_subnet, _network)):
        if at[1] is None:
            report.missing(at[0], f"ACL rule lacks this field; {_ACL_UNKNOWN}")
        parsed.append(_value(report, at, parse, _ACL_UNKNOWN))
    rule_order, rule_action, subnet = parsed
    if not (
        isinstance(rule_order, int)
        and isinstance(rule_action, AclAction)
        and isinstance(subnet, IPNetwork)
    ):
        return None
    return EndpointAclRule(
        order=rule_order,
        action=rule_action,
        remote_subnet=subnet,
        description=_text_field(report, description),
    )


def _acl(
    report: _Report, rules: Sequence[tuple[str, EndpointAclRule | None]]
) -> tuple[EndpointAclRule, ...] | None:
    """The rules sorted by order (first match wins), or ``None`` when any rule is unknown.

    Two rules with the same order make the first match ambiguous, so that too is unknown.
    """
    if any(rule is None for _, rule in rules):
        return None
    seen: dict[int, EndpointAclRule] = {}
    for field, rule in rules:
        assert rule is not None
        if rule.order in seen:
            problem = f"two ACL rules have order {rule.order}; {_ACL_UNKNOWN}"
            report.unparsed(field, rule.order, problem)
            return None
        seen[rule.order] = rule
    return tuple(seen[order] for order in sorted(seen))


def _classic_id(service: str, deployment: str, role: str) -> ResourceId:
    return ResourceId(
        f"/classic/hostedservices/{_segment(service)}/deployments/{_segment(deployment)}"
        f"/roles/{_segment(role)}"
    )


def _segment(name: str) -> str:
    # Azure names never hold "/", but a hand-edited file might; keep the id's shape intact.
    return name.replace("/", "%2F")


# -- ASM XML: sniffing ---------------------------------------------------------------------------

_PROLOG = re.compile(r"\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>", re.DOTALL)
_START_TAG = re.compile(r"<(?:([A-Za-z_][\w.-]*):)?([A-Za-z_][\w.-]*)(\s[^>]*)?/?>")
_XMLNS = re.compile(r"""\sxmlns(?::([\w.-]+))?\s*=\s*(["'])(.*?)\2""", re.DOTALL)


_UTF16_STARTS: Final = {b"<\x00?\x00": "utf-16-le", b"\x00<\x00?": "utf-16-be"}
_DECLARED_ENCODING = re.compile(rb"""(\s*<\?xml\s[^>]*?encoding\s*=\s*)(["'])([\w.:-]+)\2""")


def _utf16_codec(data: bytes) -> str | None:
    """The codec of a UTF-16 document: with its byte order mark, or (without one) recognised by
    its ``<?`` as the XML specification's appendix F does."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return _UTF16_STARTS.get(bytes(data[:4]))


def _as_utf8(data: bytes, path: str) -> bytes:
    """The document as UTF-8 bytes whose declaration (if any) says UTF-8.

    Windows tools save XML as UTF-16 with ``<?xml ... encoding="utf-16"?>``; the snapshot loader
    may already have turned such a file into UTF-8 bytes, which leaves the declaration naming an
    encoding the bytes no longer have (expat then refuses the document). Either way, the text is
    given to the parser as UTF-8 and the declaration is made to agree.
    """
    codec = _utf16_codec(data)
    if codec is not None:
        try:
            data = bytes(data).decode(codec).encode("utf-8")
        except UnicodeError:
            raise SnapshotParseError("unreadable UTF-16 XML", path=path) from None
    data = bytes(data).removeprefix(codecs.BOM_UTF8)
    declared = _DECLARED_ENCODING.match(data)
    if declared is not None:
        try:
            name = codecs.lookup(declared.group(3).decode("ascii")).name
        except (LookupError, UnicodeError):
            return data  # expat names the unknown encoding
        if name.startswith("utf-16"):
            data = data[: declared.start(3)] + b"utf-8" + data[declared.end(3):]
    return data


def _head(data: bytes) -> str:
    head = bytes(data[:_SNIFF_BYTES])
    codec = _utf16_codec(head)
    if codec is not None:
        return head[: len(head) // 2 * 2].decode(codec, errors="replace").removeprefix("\ufeff")
    return head.decode("utf-8", errors="replace").removeprefix("\ufeff")


def is_service_management_xml(data: bytes) -> bool:
    """Whether ``data`` looks like a Service Management Deployment document (reads 4 KiB at most).

    Only the root start tag is examined: ``Deployment``, ``Deployments`` or ``HostedService``
    bound to the Service Management namespace. A List Cloud Services answer (``HostedServices``)
    holds no deployments, so it is not one. A DOCTYPE is skipped here, so a hostile document is
    still routed to :func:`classic_vms_from_xml`, which refuses it by name.
    """
    text = _head(data)
    pos = 0
    while match := _PROLOG.match(text, pos):
        pos = match.end()
    start = _START_TAG.match(text, pos)
    if start is None or start.group(2) not in _ROOTS:
        return False
    declared = {m.group(1) or "": m.group(3) for m in _XMLNS.finditer(start.group(3) or "")}
    return declared.get(start.group(1) or "") == ASM_NAMESPACE


# -- ASM XML: navigation -------------------------------------------------------------------------


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _children(parent: Element | None, name: str) -> list[Element]:
    """Children by local name, any namespace, any case (the ACL element is spelled two ways)."""
    if parent is None:
        return []
    key = name.casefold()
    return [child for child in parent if _local(child.tag).casefold() == key]


def _child(parent: Element | None, *names: str) -> Element | None:
    node = parent
    for name in names:
        found = _children(node, name)
        if not found:
            return None
        node = found[0]
    return node


def _text(parent: Element | None, *names: str) -> str | None:
    """The stripped text of a descendant; ``None`` when absent, empty or ``i:nil``."""
    node = _child(parent, *names)
    if node is None or node.get(_XSI + "nil", "").strip().casefold() == "true":
        return None
    text = (node.text or "").strip()
    return text or None


def _parse_xml(data: bytes, path: str) -> Element:
    try:
        root: Element = DefusedET.fromstring(data, forbid_dtd=True)
    except defusedxml.DefusedXmlException as exc:
        raise SnapshotParseError(
            f"refused XML with a DTD or entity declaration ({type(exc).__name__}); Service"
            " Management responses never carry one",
            path=path,
        ) from None
    except ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise SnapshotParseError(
            f"malformed or truncated XML: {exc.msg}", path=path, line=line
        ) from None
    except (LookupError, ValueError) as exc:  # e.g. an unknown encoding in the XML declaration
        raise SnapshotParseError(f"unreadable XML: {exc}", path=path) from None
    return root


class _Hosted:
    """What an enclosing ``HostedService`` says about its deployments."""

    __slots__ = ("location", "service_name")

    def __init__(self, service_name: str | None, location: str | None) -> None:
        self.service_name = service_name
        self.location = location


def _deployments(root: Element, path: str, warn: Warn) -> Iterator[tuple[Element, _Hosted]]:
    kind = _local(root.tag)
    if kind == "Deployment":
        yield root, _Hosted(None, None)
    elif kind == "Deployments":
        for deployment in _children(root, "Deployment"):
            yield deployment, _Hosted(None, None)
    elif kind == "HostedService":
        hosted = _Hosted(
            _text(root, "ServiceName"), _text(root, "HostedServiceProperties", "Location")
        )
        holder = _child(root, "Deployments")
        if holder is None:
            _Report(warn, hosted.service_name or path, path).missing(
                "HostedService/Deployments",
                "hosted service lists no deployments (fetch it with embed-detail=true);"
                " no classic VMs read from it",
            )
            return
        for deployment in _children(holder, "Deployment"):
            yield deployment, hosted
    else:
        hint = " (a service list holds no deployments)" if kind == "HostedServices" else ""
        raise SnapshotParseError(
            f"root element <{kind}> is not a Service Management Deployment, Deployments or"
            f" HostedService document{hint}",
            path=path,
        )


# -- ASM XML: deployments and roles --------------------------------------------------------------


def classic_vms_from_xml(data: bytes, *, path: str, warn: Warn) -> list[ClassicVirtualMachine]:
    """Classic VMs, one per ``RoleList/Role``, from a Get Deployment (or Get Hosted Service) body.

    Raises :class:`SnapshotParseError` for malformed, truncated or hostile XML and for a root that
    is not a deployment; everything else is a warning.
    """
    root = _parse_xml(_as_utf8(data, path), path)
    vms: list[ClassicVirtualMachine] = []
    seen: set[ResourceId] = set()
    for deployment, hosted in _deployments(root, path, warn):
        for vm in _deployment_vms(deployment, hosted, path, warn):
            if vm.id in seen:
                _Report(warn, str(vm.id), path).emit(
                    WarningKind.DUPLICATE_RESOURCE, "the same role appears twice; the first is kept"
                )
                continue
            seen.add(vm.id)
            vms.append(vm)
    return vms


def _cloud_service(
    deployment: Element, deployment_name: str, hosted: _Hosted, report: _Report
) -> str:
    """The cloud service name: the ``Url`` host's first label, which Azure derives from it."""
    url = _text(deployment, "Url")
    if url is not None:
        try:
            host = urlsplit(url).hostname
        except ValueError:
            host = None
        label = (host or "").partition(".")[0]
        if label:
            return label
        report.unparsed("Url", url, "no host name in the deployment Url")
    if hosted.service_name:
        return hosted.service_name
    report.emit(
        WarningKind.DEFAULT_ASSUMED,
        "no deployment Url: the deployment name is used as the cloud service name",
        field="Url",
    )
    return deployment_name


def _deployment_vms(
    deployment: Element, hosted: _Hosted, path: str, warn: Warn
) -> Iterator[ClassicVirtualMachine]:
    deployment_name = _text(deployment, "Name")
    if deployment_name is None:
        _Report(warn, hosted.service_name or path, path).missing(
            "Deployment/Name", "deployment has no Name; no classic VMs read from it"
        )
        return
    report = _Report(warn, f"/classic/deployments/{deployment_name}", path)
    service = _cloud_service(deployment, deployment_name, hosted, report)
    report.resource = f"/classic/hostedservices/{service}/deployments/{deployment_name}"

    role_list = _child(deployment, "RoleList")
    if role_list is None:
        report.missing("RoleList", "deployment has no RoleList; no classic VMs read from it")
        return
    instances: dict[str, Element] = {}
    for instance in _children(_child(deployment, "RoleInstanceList"), "RoleInstance"):
        role_name = _text(instance, "RoleName")
        if role_name is not None:
            instances.setdefault(role_name.casefold(), instance)

    for n, role in enumerate(_children(role_list, "Role"), 1):
        role_name = _text(role, "RoleName")
        if role_name is None:
            report.missing(f"RoleList/Role[{n}]/RoleName", "role has no RoleName; it is skipped")
            continue
        # Web and worker roles (PaaS) share the RoleList but carry neither marker.
        role_type = role.get(_XSI + "type") or _text(role, "RoleType") or ""
        if role_type.rpartition(":")[2] != "PersistentVMRole":
            report.emit(
                WarningKind.UNSUPPORTED_TYPE,
                f"role {role_name!r} is a web/worker role, not a VM (PersistentVMRole); skipped",
                field=f"RoleList/Role[{n}]",
                value=role_type or None,
            )
            continue
        yield _role_vm(
            role,
            role_name,
            instances.get(role_name.casefold()),
            deployment=deployment,
            deployment_name=deployment_name,
            service=service,
            hosted=hosted,
            report=_Report(warn, str(_classic_id(service, deployment_name, role_name)), path),
            path=path,
        )


def _is_network_set(config: Element) -> bool:
    declared = config.get(_XSI + "type") or ""
    return (
        declared.rpartition(":")[2] == "NetworkConfigurationSet"
        or (_text(config, "ConfigurationSetType") or "").casefold() == "networkconfiguration"
    )


def _role_vm(
    role: Element,
    role_name: str,
    instance: Element | None,
    *,
    deployment: Element,
    deployment_name: str,
    service: str,
    hosted: _Hosted,
    report: _Report,
    path: str,
) -> ClassicVirtualMachine:
    network_sets = [
        c
        for c in _children(_child(role, "ConfigurationSets"), "ConfigurationSet")
        if _is_network_set(c)
    ]
    endpoints: list[ClassicEndpoint] = []
    subnets: list[str] = []
    static_ip: _At = ("StaticVirtualNetworkIPAddress", None)
    for config in network_sets:
        listed = _children(_child(config, "InputEndpoints"), "InputEndpoint")
        for n, element in enumerate(listed, 1):
            at = f"InputEndpoints/InputEndpoint[{n}]"
            endpoints.append(_xml_endpoint(element, at, len(endpoints), report))
        subnets.extend(
            name
            for element in _children(_child(config, "SubnetNames"), "SubnetName")
            if (name := (element.text or "").strip())
        )
        if static_ip[1] is None:
            static_ip = (static_ip[0], _text(config, "StaticVirtualNetworkIPAddress"))

    if instance is None:
        report.missing(
            "RoleInstanceList/RoleInstance",
            "no RoleInstance for this role: its power state and runtime addresses are unknown",
        )
    private_ip = _value(
        report,
        ("RoleInstance/IpAddress", _text(instance, "IpAddress")),
        _ip,
        "the private IP is treated as unknown",
    )
    if private_ip is None:
        private_ip = _value(report, static_ip, _ip, "the private IP is treated as unknown")
    public_ips: list[IPAddress] = []
    for n, public in enumerate(_children(_child(instance, "PublicIPs"), "PublicIP"), 1):
        address = _value(
            report,
            (f"RoleInstance/PublicIPs/PublicIP[{n}]/Address", _text(public, "Address")),
            _ip,
            "this public IP is ignored",
        )
        if address is not None:
            public_ips.append(address)

    return ClassicVirtualMachine(
        id=_classic_id(service, deployment_name, role_name),
        name=role_name,
        source="asm-xml",
        cloud_service=service,
        deployment_name=deployment_name,
        location=hosted.location,
        instance_status=_text(instance, "InstanceStatus"),
        power_state=_text(instance, "PowerState"),
        private_ip_address=private_ip,
        instance_public_ip_addresses=tuple(public_ips),
        virtual_network_name=_text(deployment, "VirtualNetworkName"),
        subnet_names=tuple(subnets),
        endpoints=tuple(endpoints),
        path=path,
    )


def _xml_endpoint(element: Element, at: str, index: int, report: _Report) -> ClassicEndpoint:
    acl_elements = _children(element, "EndpointAcl")
    acl: tuple[EndpointAclRule, ...] | None = ()
    if acl_elements:
        acl_element = acl_elements[0]
        acl_at = f"{at}/{_local(acl_element.tag)}/Rules/Rule"
        rules = [
            (
                f"{acl_at}[{n}]/Order",
                _rule(
                    report,
                    order=(f"{acl_at}[{n}]/Order", _text(rule, "Order")),
                    action=(f"{acl_at}[{n}]/Action", _text(rule, "Action")),
                    remote_subnet=(f"{acl_at}[{n}]/RemoteSubnet", _text(rule, "RemoteSubnet")),
                    description=(f"{acl_at}[{n}]/Description", _text(rule, "Description")),
                ),
            )
            for n, rule in enumerate(_children(_child(acl_element, "Rules"), "Rule"), 1)
        ]
        acl = _acl(report, rules)
    return _endpoint(
        report,
        index,
        name=(f"{at}/Name", _text(element, "Name")),
        protocol=(f"{at}/Protocol", _text(element, "Protocol")),
        public_port=(f"{at}/Port", _text(element, "Port")),
        local_port=(f"{at}/LocalPort", _text(element, "LocalPort")),
        vip=(f"{at}/Vip", _text(element, "Vip")),
        load_balanced_set=(
            f"{at}/LoadBalancedEndpointSetName",
            _text(element, "LoadBalancedEndpointSetName"),
        ),
        direct_server_return=(
            f"{at}/EnableDirectServerReturn",
            _text(element, "EnableDirectServerReturn"),
        ),
        acl=acl,
    )


# -- ARM -----------------------------------------------------------------------------------------


def _mapping(report: _Report, field: str, raw: object) -> Mapping[str, Any]:
    """A JSON object, or ``{}`` (after a warning) when the value has another type."""
    if raw is None:
        return {}
    if isinstance(raw, Mapping):
        return raw
    report.unparsed(field, raw, f"expected an object, got {_describe(raw)}; ignored")
    return {}


def _items(report: _Report, field: str, raw: object) -> Sequence[object]:
    """A JSON array, or ``[]`` (after a warning) when the value has another type."""
    if raw is None:
        return []
    if isinstance(raw, list | tuple):
        return raw
    report.unparsed(field, raw, f"expected an array, got {_describe(raw)}; ignored")
    return []


def classic_vm_from_arm(
    obj: Mapping[str, Any], *, path: str | None, warn: Warn
) -> ClassicVirtualMachine:
    """A classic VM from its ARM body (``Microsoft.ClassicCompute/virtualMachines``, any case).

    Raises :class:`SnapshotParseError` only when the body cannot be named (no usable ``id``) or is
    not a classic VM; every other problem is a warning.
    """
    if not isinstance(obj, Mapping):
        raise SnapshotParseError(
            f"a classic VM must be a JSON object, got {_describe(obj)}", path=path
        )
    raw_id = obj.get("id")
    if not isinstance(raw_id, str) or not raw_id.strip():
        raise SnapshotParseError("classic VM has no id", path=path, field="id")
    vm_id = ResourceId(raw_id)
    raw_type = obj.get("type")
    vm_type = vm_id.type if raw_type is None else raw_type  # a bare body: the id says the type
    if not isinstance(vm_type, str) or vm_type.strip().casefold() != _ARM_TYPE_KEY:
        shown = raw_type if isinstance(raw_type, str) else _describe(raw_type)
        raise SnapshotParseError(
            f"type {shown[:80]!r} is not {ARM_TYPE}", path=path, resource_id=raw_id, field="type"
        )
    report = _Report(warn, raw_id, path)
    name = _text_field(report, ("name", obj.get("name"))) or vm_id.name

    props = _mapping(report, "properties", obj.get("properties"))
    view = _mapping(report, "properties.instanceView", props.get("instanceView"))
    hardware = _mapping(report, "properties.hardwareProfile", props.get("hardwareProfile"))
    domain = _mapping(report, "properties.domainName", props.get("domainName"))
    network = _mapping(report, "properties.networkProfile", props.get("networkProfile"))
    vnet_at = "properties.networkProfile.virtualNetwork"
    vnet = _mapping(report, vnet_at, network.get("virtualNetwork"))

    private_ip = _value(
        report,
        ("properties.instanceView.privateIpAddress", view.get("privateIpAddress")),
        _ip,
        "the private IP is treated as unknown",
    )
    if private_ip is None:
        private_ip = _value(
            report,
            (f"{vnet_at}.staticIpAddress", vnet.get("staticIpAddress")),
            _ip,
            "the private IP is treated as unknown",
        )

    public_at = "properties.instanceView.publicIpAddresses"
    raw_public = view.get("publicIpAddresses")
    if isinstance(raw_public, str):  # one address written as a bare string
        raw_public = [raw_public]
    public_ips: list[IPAddress] = []
    for n, raw in enumerate(_items(report, public_at, raw_public)):
        address = _value(report, (f"{public_at}[{n}]", raw), _ip, "this address is ignored")
        if address is not None:
            public_ips.append(address)

    subnets_at = f"{vnet_at}.subnetNames"
    subnets: list[str] = []
    for n, raw in enumerate(_items(report, subnets_at, vnet.get("subnetNames"))):
        subnet = _text_field(report, (f"{subnets_at}[{n}]", raw))
        if subnet is not None:
            subnets.append(subnet)

    endpoints_at = "properties.networkProfile.inputEndpoints"
    endpoints: list[ClassicEndpoint] = []
    dropped = 0
    for n, raw in enumerate(_items(report, endpoints_at, network.get("inputEndpoints"))):
        at = f"{endpoints_at}[{n}]"
        if not isinstance(raw, Mapping):
            dropped += 1
            report.unparsed(
                at,
                raw,
                f"expected an endpoint object, got {_describe(raw)}; this endpoint is ignored",
            )
            continue
        endpoints.append(_arm_endpoint(raw, at, len(endpoints), report))

    return ClassicVirtualMachine(
        id=vm_id,
        name=name,
        source="arm",
        cloud_service=_text_field(report, ("properties.domainName.name", domain.get("name"))),
        deployment_name=_text_field(
            report, ("properties.hardwareProfile.deploymentName", hardware.get("deploymentName"))
        ),
        location=_text_field(report, ("location", obj.get("location"))),
        instance_status=_text_field(report, ("properties.instanceView.status", view.get("status"))),
        power_state=_text_field(
            report, ("properties.instanceView.powerState", view.get("powerState"))
        ),
        private_ip_address=private_ip,
        virtual_ip_addresses=tuple(public_ips),
        endpoints_complete=dropped == 0,
        virtual_network_name=_text_field(report, (f"{vnet_at}.name", vnet.get("name"))),
        subnet_names=tuple(subnets),
        endpoints=tuple(endpoints),
        path=path,
    )


def _arm_acl(
    endpoint: Mapping[str, Any], at: str, report: _Report
) -> tuple[EndpointAclRule, ...] | None:
    """The inferred ``endpointAcl.rules`` rendering; absent means unknown, never "no ACL"."""
    if "endpointAcl" not in endpoint or endpoint["endpointAcl"] is None:
        return None
    acl_at = f"{at}.endpointAcl"
    container = endpoint["endpointAcl"]
    if not isinstance(container, Mapping):
        report.unparsed(
            acl_at, container, f"expected an object, got {_describe(container)}; {_ACL_UNKNOWN}"
        )
        return None
    raw_rules = container.get("rules")
    if raw_rules is None:
        return ()
    if not isinstance(raw_rules, list | tuple):
        report.unparsed(
            f"{acl_at}.rules",
            raw_rules,
            f"expected an array, got {_describe(raw_rules)}; {_ACL_UNKNOWN}",
        )
        return None
    rules: list[tuple[str, EndpointAclRule | None]] = []
    for n, raw in enumerate(raw_rules):
        rule_at = f"{acl_at}.rules[{n}]"
        if not isinstance(raw, Mapping):
            report.unparsed(
                rule_at, raw, f"expected a rule object, got {_describe(raw)}; {_ACL_UNKNOWN}"
            )
            rules.append((rule_at, None))
            continue
        rules.append(
            (
                f"{rule_at}.order",
                _rule(
                    report,
                    order=(f"{rule_at}.order", raw.get("order")),
                    action=(f"{rule_at}.action", raw.get("action")),
                    remote_subnet=(f"{rule_at}.remoteSubnet", raw.get("remoteSubnet")),
                    description=(f"{rule_at}.description", raw.get("description")),
                ),
            )
        )
    return _acl(report, rules)


def _arm_endpoint(
    endpoint: Mapping[str, Any], at: str, index: int, report: _Report
) -> ClassicEndpoint:
    return _endpoint(
        report,
        index,
        name=(f"{at}.endpointName", endpoint.get("endpointName")),
        protocol=(f"{at}.protocol", endpoint.get("protocol")),
        public_port=(f"{at}.publicPort", endpoint.get("publicPort")),
        local_port=(f"{at}.privatePort", endpoint.get("privatePort")),
        vip=(f"{at}.publicIpAddress", endpoint.get("publicIpAddress")),
        load_balanced_set=(
            f"{at}.loadBalancedEndpointSetName",
            endpoint.get("loadBalancedEndpointSetName"),
        ),
        direct_server_return=(
            f"{at}.enableDirectServerReturn",
            endpoint.get("enableDirectServerReturn"),
        ),
        acl=_arm_acl(endpoint, at, report),
    )
