"""A fake Azure Resource Manager that answers from real recorded Azure responses.

The recordings in ``../shared/fixtures/recordings`` are Azure CLI test cassettes (vcrpy YAML) and
.NET SDK session records (JSON ``Entries``), made against live subscriptions. :class:`FakeArm`
replays them to the *real* SDK clients through azure-core's own ``RequestsTransport``: only the
socket is replaced (a ``requests`` adapter), so the SDK's policies, retries, long-running-operation
polling and deserialisation all run as they do against Azure.

What is served:

- resource GETs (``?$expand=instanceView`` included): the last recorded 2xx body of that id,
  byte for byte, with its recorded headers;
- the effective-route/NSG POSTs: the recorded exchange, byte for byte: the POST's answer (``202``
  with a ``Location`` header) and then, for that ``Location``, the recorded polling answers in
  order (``202``... ``200``). Old .NET records hold a ``200`` with a ``Location`` (recorded once
  the operation had finished); the SDK polls that ``Location`` and gets the same answer again;
- Resource Graph queries: no recording has one, so the fake evaluates the few KQL forms the
  collector sends (and answers ``400`` to anything else) over the recorded resource bodies,
  shaped as Resource Graph rows (lower-case ``type``, ``resourceGroup``, ``subscriptionId``; a
  VM's power state under ``properties.extended`` when ``arg_power_state``), in pages with skip
  tokens;
- the effective security admin rules of a VNet (``POST .../listNetworkManagerEffectiveSecurity
  AdminRules``): no recording has one either, so the answers are built from the REST spec example
  (``NetworkManagerEffectiveSecurityAdminRulesList.json``, azure-semantics-2.md §2.4): the pages
  :meth:`FakeArm.admin_rules` sets, each but the last with a ``skipToken`` that the next request's
  body must carry; for any other VNet of the recordings ``{"value": []}`` (no Virtual Network
  Manager applies to it; an assumption: no recording shows what Azure answers then);
- injected faults first (:meth:`FakeArm.inject`): throttling with ``Retry-After``, the recorded
  ``5xx`` answers, ``403`` on a subscription;
- anything else: ``404`` ``NotRecorded``, listed in :attr:`FakeArm.unmatched`.

Every request is kept (:attr:`FakeArm.requests`) so tests can assert what was sent; sleeps the SDK
asks of the transport (Retry-After, backoff, polling) are recorded in :attr:`FakeArm.sleeps`, not
slept.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import urllib3
import yaml
from azure.core.pipeline.transport import RequestsTransport
from requests.adapters import HTTPAdapter

from vnetdoctor.model.ids import ResourceId, fold

ARG_PATH = "/providers/microsoft.resourcegraph/resources"
_EFFECTIVE = re.compile(r"/(effectiveroutetable|effectivenetworksecuritygroups)$", re.I)
ADMIN_RULES = "/listnetworkmanagereffectivesecurityadminrules"
_DROP_HEADERS = {"content-encoding", "transfer-encoding", "content-length", "connection"}


# ---------------------------------------------------------------------------------------------
# Recordings
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Exchange:
    """One recorded request and Azure's answer."""

    method: str
    url: str
    status: int
    reason: str
    headers: Mapping[str, tuple[str, ...]]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def header(self, name: str) -> str | None:
        for key, values in self.headers.items():
            if key.casefold() == name.casefold() and values:
                return values[0]
        return None


class _CassetteLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A safe loader (libyaml's when available) that also reads old cassettes' strings, tagged
    ``!!python/unicode``."""


_CassetteLoader.add_constructor(
    "tag:yaml.org,2002:python/unicode", lambda loader, node: loader.construct_scalar(node)
)


def _bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    return str(value).encode()


def _headers(raw: Mapping[str, Any] | None) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for key, value in (raw or {}).items():
        values = value if isinstance(value, list) else [value]
        out[str(key)] = tuple(str(v) for v in values)
    return out


@functools.lru_cache(maxsize=32)
def load_recording(path: Path) -> tuple[Exchange, ...]:
    """A vcrpy cassette (``interactions``) or a .NET session record (``Entries``)."""
    return tuple(_load(path))


def _load(path: Path) -> list[Exchange]:
    out = []
    if path.suffix == ".yaml":
        doc = yaml.load(path.read_text(), Loader=_CassetteLoader)
        for item in doc["interactions"]:
            request, response = item["request"], item["response"]
            body = response.get("body")
            body = body.get("string") if isinstance(body, dict) else body
            status = response["status"]
            out.append(
                Exchange(
                    method=request["method"].upper(),
                    url=request["uri"],
                    status=int(status["code"]),
                    reason=str(status.get("message") or ""),
                    headers=_headers(response.get("headers")),
                    body=_bytes(body),
                )
            )
        return out
    doc = json.loads(path.read_text())
    for entry in doc["Entries"]:
        url = entry["RequestUri"]
        if url.startswith("/"):
            url = "https://management.azure.com" + url
        out.append(
            Exchange(
                method=entry["RequestMethod"].upper(),
                url=url,
                status=int(entry["StatusCode"]),
                reason="",
                headers=_headers(entry.get("ResponseHeaders")),
                body=_bytes(entry.get("ResponseBody")),
            )
        )
    return out


def _is_resource(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("id"), str)
        and obj["id"].startswith("/subscriptions/")
        and ("type" in obj or "properties" in obj)
        and ResourceId(obj["id"]).parent is None
        and ResourceId(obj["id"]).type is not None
    )


# ---------------------------------------------------------------------------------------------
# Resource Graph: the KQL forms the collector sends
# ---------------------------------------------------------------------------------------------
class UnsupportedQuery(ValueError):
    pass


_STRING = re.compile(r"'((?:[^'\\]|\\.)*)'")


def _strings(text: str) -> list[str]:
    return [re.sub(r"\\(.)", r"\1", m) for m in _STRING.findall(text)]


def evaluate(query: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    lines = [line.strip() for line in query.splitlines() if line.strip()]
    if not lines or lines[0] != "Resources":
        raise UnsupportedQuery(f"query must start with 'Resources': {query[:60]!r}")
    items: list[tuple[dict[str, Any], Any]] = [(row, None) for row in rows]
    ordered = False
    for line in lines[1:]:
        if not line.startswith("| "):
            raise UnsupportedQuery(f"one clause per line, each starting with '| ': {line!r}")
        clause = line[2:]
        if m := re.fullmatch(r"where (type|resourceGroup|id|name) (in~ \(.*\)|=~ '.*')", clause):
            column, values = m.group(1), {v.casefold() for v in _strings(m.group(2))}
            items = [(r, x) for r, x in items if str(r.get(column, "")).casefold() in values]
        elif m := re.fullmatch(r"mv-expand (\w+) = properties\.ipConfigurations", clause):
            items = [
                (r, ipc)
                for r, _ in items
                for ipc in (r.get("properties") or {}).get("ipConfigurations") or []
            ]
        elif m := re.fullmatch(
            r"where tostring\(\w+\.properties\.privateIPAddress\) in \((.*)\)", clause
        ):
            wanted = set(_strings(m.group(1)))
            items = [
                (r, x)
                for r, x in items
                if isinstance(x, dict) and (x.get("properties") or {}).get("privateIPAddress")
                in wanted
            ]
        elif m := re.fullmatch(r"project (.+)", clause):
            columns = [c.strip() for c in m.group(1).split(",")]
            items = [({c: r.get(c) for c in columns}, x) for r, x in items]
        elif clause == "order by id asc":
            items.sort(key=lambda item: str(item[0].get("id")))
            ordered = True
        else:
            raise UnsupportedQuery(f"the replay does not evaluate {clause!r}")
    if not ordered:
        raise UnsupportedQuery("paged queries must be ordered by a unique column (id)")
    return [r for r, _ in items]


# ---------------------------------------------------------------------------------------------
# The fake server
# ---------------------------------------------------------------------------------------------
@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    reason: str = ""

    @classmethod
    def of(cls, exchange: Exchange) -> Reply:
        headers = {
            k: v[0]
            for k, v in exchange.headers.items()
            if v and k.casefold() not in _DROP_HEADERS
        }
        return cls(exchange.status, exchange.body, headers, exchange.reason)

    @classmethod
    def json(cls, status: int, document: Any, headers: Mapping[str, str] | None = None) -> Reply:
        merged = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, json.dumps(document).encode(), merged)


@dataclass
class Sent:
    """A request as it reached the wire."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Fault:
    matches: Callable[[Sent], bool]
    replies: deque[Reply]
    repeat: bool = False


class FakeArm:
    """Azure Resource Manager, replayed from recordings (see the module docstring)."""

    def __init__(
        self,
        recordings: Iterable[Path] = (),
        *,
        page_size: int = 1000,
        arg_power_state: bool = True,
    ) -> None:
        self.page_size = page_size
        self.arg_power_state = arg_power_state
        self.resources: dict[str, Exchange | dict[str, Any]] = {}
        self.instance_views: dict[str, Exchange] = {}
        self.effective: dict[str, list[Exchange]] = {}
        self.polls: dict[str, deque[Exchange]] = {}
        self.forbidden: set[str] = set()
        self.admin_pages: dict[str, list[list[Any]]] = {}
        self.faults: list[Fault] = []
        self.requests: list[Sent] = []
        self.sleeps: list[float] = []
        self.unmatched: list[str] = []
        self._lock = threading.Lock()
        for path in recordings:
            self.add_recording(path)

    # -- loading --------------------------------------------------------------------------------
    def add_recording(self, path: Path) -> None:
        exchanges = load_recording(path)
        for i, ex in enumerate(exchanges):
            parts = urlsplit(ex.url)
            if ex.method == "POST" and _EFFECTIVE.search(parts.path):
                self.effective[fold(parts.path)] = self._chain(ex, exchanges[i + 1 :])
                continue
            if ex.method != "GET" or not 200 <= ex.status < 300:
                continue
            body = ex.json()
            if _is_resource(body) and fold(body["id"]) == fold(parts.path):
                if "instanceview" in parts.query.casefold():
                    self.instance_views[fold(body["id"])] = ex
                self.resources[fold(body["id"])] = ex
            elif isinstance(body, dict) and isinstance(body.get("value"), list):
                for item in body["value"]:
                    if _is_resource(item):
                        self.resources[fold(item["id"])] = item

    @staticmethod
    def _chain(post: Exchange, rest: Iterable[Exchange]) -> list[Exchange]:
        chain = [post]
        location = post.header("Azure-AsyncOperation") or post.header("Location")
        if post.status == 200 and location:
            # Recorded after the operation had finished: the SDK still polls the Location, where
            # Azure answers the finished operation's result, the same body.
            chain.append(post)
        elif post.status == 202 and location:
            target = fold(urlsplit(location).path)
            for ex in rest:
                if ex.method == "GET" and fold(urlsplit(ex.url).path) == target:
                    chain.append(ex)
                    if ex.status != 202:
                        break
        return chain

    def body(self, rid: str) -> dict[str, Any]:
        item = self.resources[fold(rid)]
        body = item.json() if isinstance(item, Exchange) else item
        assert isinstance(body, dict)
        return body

    def rows(self) -> list[dict[str, Any]]:
        """The recorded resources as Resource Graph rows."""
        out = []
        for key in self.resources:
            body = json.loads(json.dumps(self.body(key)))
            rid = ResourceId(body["id"])
            row = {
                "id": body["id"],
                "name": body.get("name") or rid.name,
                "type": str(body.get("type") or rid.type).lower(),
                "kind": body.get("kind", ""),
                "location": body.get("location", ""),
                "resourceGroup": (rid.resource_group or "").lower(),
                "subscriptionId": rid.subscription,
                "tags": body.get("tags") or {},
                "sku": body.get("sku"),
                "zones": body.get("zones"),
                "properties": body.get("properties") or {},
            }
            row["properties"].pop("instanceView", None)  # Resource Graph rows never hold it
            view = self.instance_views.get(key)
            if self.arg_power_state and view is not None:
                statuses = ((view.json() or {}).get("properties") or {}).get("instanceView") or {}
                for status in statuses.get("statuses") or []:
                    if str(status.get("code", "")).startswith("PowerState/"):
                        row["properties"]["extended"] = {
                            "instanceView": {"powerState": {"code": status["code"]}}
                        }
            out.append(row)
        return out

    # -- faults ---------------------------------------------------------------------------------
    def inject(
        self, matches: Callable[[Sent], bool], *replies: Reply, repeat: bool = False
    ) -> None:
        """Answer the next requests that match with ``replies`` (all of them, if ``repeat``)."""
        self.faults.append(Fault(matches, deque(replies), repeat))

    def admin_rules(self, vnet_id: str, *pages: list[Any]) -> None:
        """The effective security admin rules of ``vnet_id``, as Azure pages them."""
        self.admin_pages[fold(vnet_id.rstrip("/"))] = [list(p) for p in pages] or [[]]

    def forbid(self, subscription: str) -> None:
        """Resource Graph answers 403 to any query over ``subscription``."""
        self.forbidden.add(subscription.casefold())

    # -- serving --------------------------------------------------------------------------------
    def handle(self, sent: Sent) -> Reply:
        with self._lock:
            self.requests.append(sent)
            for fault in self.faults:
                if fault.replies and fault.matches(sent):
                    reply = fault.replies[0]
                    if not fault.repeat:
                        fault.replies.popleft()
                    return reply
            return self._route(sent)

    def _route(self, sent: Sent) -> Reply:
        parts = urlsplit(sent.url)
        key = fold(parts.path.rstrip("/"))
        if sent.method == "POST" and key == fold(ARG_PATH):
            return self._resource_graph(sent)
        if sent.method == "POST" and key.endswith(ADMIN_RULES):
            return self._admin_rules(sent, key[: -len(ADMIN_RULES)])
        if sent.method == "POST" and key in self.effective:
            chain = self.effective[key]
            if len(chain) > 1:
                location = chain[0].header("Azure-AsyncOperation") or chain[0].header("Location")
                self.polls[fold(urlsplit(location or "").path)] = deque(chain[1:])
            return Reply.of(chain[0])
        if sent.method == "GET" and key in self.polls:
            queue = self.polls[key]
            return Reply.of(queue.popleft() if len(queue) > 1 else queue[0])
        if sent.method == "GET" and key in self.resources:
            expand = parse_qs(parts.query).get("$expand", [""])[0].casefold()
            if expand == "instanceview":
                view = self.instance_views.get(key)
                if view is not None:
                    return Reply.of(view)
            else:
                item = self.resources[key]
                if isinstance(item, Exchange):
                    return Reply.of(item)
                return Reply.json(200, item)
        self.unmatched.append(f"{sent.method} {parts.path}")
        return Reply.json(
            404,
            {"error": {"code": "NotRecorded", "message": f"no recording for {parts.path}"}},
        )

    def _admin_rules(self, sent: Sent, vnet: str) -> Reply:
        pages = self.admin_pages.get(vnet)
        if pages is None:
            if vnet not in self.resources:
                self.unmatched.append(f"POST {urlsplit(sent.url).path}")
                return Reply.json(404, {"error": {"code": "ResourceNotFound",
                                                  "message": f"no virtual network {vnet}"}})
            pages = [[]]
        token = (sent.json() or {}).get("skipToken")
        index = int(token.rsplit("-", 1)[1]) if token else 0
        answer: dict[str, Any] = {"value": pages[index]}
        if index + 1 < len(pages):
            answer["skipToken"] = f"FakeSkipTokenCode-{index + 1}"
        return Reply.json(200, answer)

    def _resource_graph(self, sent: Sent) -> Reply:
        request = sent.json() or {}
        subscriptions = [str(s).casefold() for s in request.get("subscriptions") or []]
        for sub in subscriptions:
            if sub in self.forbidden:
                return forbidden_reply(sub)
        options = request.get("options") or {}
        try:
            rows = evaluate(
                request.get("query", ""),
                [r for r in self.rows() if str(r["subscriptionId"]).casefold() in subscriptions],
            )
        except UnsupportedQuery as exc:
            return Reply.json(400, {"error": {"code": "BadRequest", "message": str(exc)}})
        start = int(base64.b64decode(options["$skipToken"])) if options.get("$skipToken") else 0
        top = min(int(options.get("$top") or 100), self.page_size)
        page = rows[start : start + top]
        answer: dict[str, Any] = {
            "totalRecords": len(rows),
            "count": len(page),
            "data": page,
            "facets": [],
            "resultTruncated": "false",
        }
        if start + top < len(rows):
            answer["$skipToken"] = base64.b64encode(str(start + top).encode()).decode()
        return Reply.json(
            200,
            answer,
            {"x-ms-user-quota-remaining": "14", "x-ms-user-quota-resets-after": "00:00:05"},
        )

    # -- requests seen --------------------------------------------------------------------------
    def graph_queries(self) -> list[dict[str, Any]]:
        return [s.json() for s in self.requests if fold(s.path) == fold(ARG_PATH)]


# ---------------------------------------------------------------------------------------------
# Canned answers shaped as Azure's (for faults no recording holds)
# ---------------------------------------------------------------------------------------------
def forbidden_reply(subscription: str) -> Reply:
    return Reply.json(
        403,
        {
            "error": {
                "code": "AuthorizationFailed",
                "message": "The client 'reader@contoso.example' with object id "
                "'11111111-1111-1111-1111-111111111111' does not have authorization to perform "
                "action 'Microsoft.ResourceGraph/resources/read' over scope "
                f"'/subscriptions/{subscription}' or the scope is invalid. If access was "
                "recently granted, please refresh your credentials.",
            }
        },
    )


def throttled_reply(retry_after: int | None = 7, *, resets_after: str | None = None) -> Reply:
    headers = {"x-ms-user-quota-remaining": "0"}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if resets_after is not None:
        headers["x-ms-user-quota-resets-after"] = resets_after
    return Reply.json(
        429,
        {
            "error": {
                "code": "RateLimiting",
                "message": "Please provide below info when asking for support: timestamp = "
                "2026-11-26T10:00:00Z, correlationId = 00000000-0000-0000-0000-000000000000.",
            }
        },
        headers,
    )


def recorded_reply(fixtures: Path, status: int) -> Reply:
    """The first real recorded Azure answer with ``status`` (the recordings hold 500 and 504)."""
    for path in sorted((fixtures / "recordings").glob("*/verdicts/*.yaml")):
        for ex in load_recording(path):
            if ex.status == status:
                return Reply.of(ex)
    raise LookupError(f"no recorded answer with status {status}")


# ---------------------------------------------------------------------------------------------
# The transport: azure-core's RequestsTransport with the socket replaced
# ---------------------------------------------------------------------------------------------
class _ReplayAdapter(HTTPAdapter):
    def __init__(self, fake: FakeArm) -> None:
        super().__init__()
        self.fake = fake

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        body = request.body
        sent = Sent(
            method=str(request.method).upper(),
            url=str(request.url),
            headers=dict(request.headers),
            body=body.encode() if isinstance(body, str) else bytes(body or b""),
        )
        reply = self.fake.handle(sent)
        headers = {**reply.headers, "Content-Length": str(len(reply.body))}
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(reply.body),
            headers=headers,
            status=reply.status,
            reason=reply.reason or None,
            preload_content=False,
            decode_content=False,
        )
        return self.build_response(request, raw)


class ReplayTransport(RequestsTransport):
    """azure-core's ``RequestsTransport`` whose session talks to a :class:`FakeArm`."""

    def __init__(self, fake: FakeArm) -> None:
        session = requests.Session()
        session.trust_env = False
        adapter = _ReplayAdapter(fake)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        super().__init__(session=session, session_owner=False)
        self.fake = fake

    def sleep(self, duration: float) -> None:
        self.fake.sleeps.append(duration)
