"""The ASGI face of the S/4HANA sandbox: SAP Gateway's HTTP conventions for OData V2.

Routing, Basic authentication, CSRF token/session handling, system query
options and JSON verbose rendering. Business rules live in ``app.py``.
A plain ASGI callable (not a framework app) because OData resource paths
(``A_Product('X')/to_Description``) and the ``MERGE`` method do not fit a
router, and because it is an upstream in load benchmarks.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote
from xml.sax.saxutils import escape, quoteattr

import msgspec

from sandboxes.asgi import (
    BodyTooLarge,
    Message,
    Receive,
    SandboxRequest,
    Scope,
    inject_latency,
    read_request,
    send_response,
    serve_lifespan,
)
from sandboxes.sap_s4hana.metadata import SERVICES, EntityType, Service, edmx
from sandboxes.sap_s4hana.odata import (
    ALL,
    SERVICE_ROOT,
    Formatter,
    ODataError,
    Projection,
    QueryOptions,
    Row,
    bad_request,
    build_projection,
    compile_filter,
    error_document,
    etag,
    formatters,
    key_predicate,
    next_link,
    not_found,
    parse_key,
    parse_orderby,
    parse_query,
    sort_rows,
    split_segment,
)

if TYPE_CHECKING:
    from sandboxes.sap_s4hana.app import SapSandbox

Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SESSION_COOKIE: Final = "SAP_SESSIONID_S4H_100"
REALM: Final = 'Basic realm="SAP NetWeaver Application Server [S4H/100]"'
WRITE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "MERGE", "DELETE"})
JSON_TYPE: Final = "application/json; charset=utf-8"
MAX_BODY: Final = 16 * 1024 * 1024
MAX_SESSIONS: Final = 100_000
_ROOT_PREFIX: Final = SERVICE_ROOT + "/"
ADMIN_PREFIX: Final = "/sandbox/admin/"
ADMIN_ORDER_BLOCK: Final = "01"
_json_decoder: Final = msgspec.json.Decoder(float_hook=Decimal)


@dataclass(slots=True)
class _Response:
    status: int
    body: bytes = b""
    content_type: str | None = JSON_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)

    async def send(self, send: Send, head: bool) -> None:
        await send_response(send, self.status, self.headers, self.body, head=head,
                            content_type=self.content_type or None, framing_first=True)


@dataclass(slots=True)
class _Target:
    """What a resource path addresses."""

    etype: EntityType
    row: Row | None = None  # a single entity
    rows: Iterable[Row] | None = None  # a navigation collection
    root: bool = False  # the whole entity set
    prop: str | None = None
    value: bool = False
    count: bool = False


def _json(status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> _Response:
    return _Response(status, msgspec.json.encode(payload), headers=headers or [])


class SandboxApp:
    """ASGI application over one ``SapSandbox``."""

    def __init__(self, sandbox: SapSandbox) -> None:
        self.sandbox = sandbox
        self._sessions: dict[str, tuple[str, str]] = {}
        self._formatters: dict[str, list[tuple[str, Formatter]]] = {
            t.name: formatters(t) for s in SERVICES.values() for t in s.types
        }
        self._by_name: dict[str, dict[str, Formatter]] = {
            name: dict(items) for name, items in self._formatters.items()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:  # a disconnect mid-body still gets an answer to what arrived
            request = await read_request(
                scope, receive, path_fallback=lambda path: path.split("?", 1)[0],
                host_from_server=True, max_body=MAX_BODY, drop_on_disconnect=False,
            )
        except BodyTooLarge:
            await _Response(413, b"Request entity too large", "text/plain").send(send, head=False)
            return
        assert request is not None  # drop_on_disconnect=False always reads a request
        tunnelled = request.headers.get("x-http-method", "").upper()
        if request.method == "POST" and tunnelled in ("MERGE", "PATCH", "PUT", "DELETE"):
            request.method = tunnelled
        response = await self._handle(request)
        await response.send(send, head=request.method == "HEAD")

    # -- request pipeline -----------------------------------------------------------------

    async def _handle(self, request: SandboxRequest) -> _Response:
        faults = self.sandbox.faults
        await inject_latency(faults)
        if request.path.startswith(ADMIN_PREFIX):
            return self._admin(request)
        segments: list[str] = []
        service: Service | None = None
        if request.path.startswith(_ROOT_PREFIX):
            segments = [unquote(s) for s in request.path[len(_ROOT_PREFIX):].split("/")]
            service = SERVICES.get(segments[0])
        try:
            if faults.fail_next > 0:
                faults.fail_next -= 1
                raise ODataError(503, "/IWFND/CM_BEC/026",
                                 "Service is temporarily unavailable (sandbox fault injection)")
            user = self._authenticate(request)
            if user is None:
                return _Response(
                    401, b"<html><body><h1>Logon failed</h1></body></html>",
                    "text/html; charset=utf-8", [("www-authenticate", REALM)],
                )
            extra: list[tuple[str, str]] = []
            token = request.headers.get("x-csrf-token", "")
            if request.method in ("GET", "HEAD") and token.lower() == "fetch":
                extra = self._fetch_token(request, user)
            elif request.method in WRITE_METHODS and not self._token_valid(request, user):
                return _Response(
                    403, b"CSRF token validation failed", "text/plain; charset=utf-8",
                    [("x-csrf-token", "Required")],
                )
            if service is None:
                name = segments[0] if segments else request.path
                raise ODataError(
                    404, "/IWFND/MED/170",
                    f"No service found for namespace '/SAP/', name '{name}', version '0001'",
                )
            response = self._dispatch(request, service, segments[1:], user)
            response.headers += extra
            response.headers.append(("dataserviceversion", "2.0"))
            return response
        except ODataError as error:
            return _Response(
                error.status, error_document(error, service, self.sandbox.now()),
                headers=[("dataserviceversion", "1.0")],
            )

    def _authenticate(self, request: SandboxRequest) -> str | None:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, sep, password = decoded.partition(":")
        expected_user = self.sandbox.user.upper()
        user_ok = secrets.compare_digest(user.upper().encode(), expected_user.encode())
        password_ok = secrets.compare_digest(password.encode(), self.sandbox.password.encode())
        return expected_user if sep and user_ok and password_ok else None

    @staticmethod
    def _session_of(request: SandboxRequest) -> str | None:
        for part in request.headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == SESSION_COOKIE and value:
                return value
        return None

    def _fetch_token(self, request: SandboxRequest, user: str) -> list[tuple[str, str]]:
        session = self._session_of(request)
        known = self._sessions.get(session) if session else None
        if session and known and known[0] == user:
            return [("x-csrf-token", known[1])]
        session = secrets.token_urlsafe(32)
        token = base64.b64encode(secrets.token_bytes(16)).decode()
        if len(self._sessions) >= MAX_SESSIONS:
            self._sessions.pop(next(iter(self._sessions)))
        self._sessions[session] = (user, token)
        return [
            ("x-csrf-token", token),
            ("set-cookie", f"{SESSION_COOKIE}={session}; path=/; HttpOnly"),
            ("set-cookie", "sap-usercontext=sap-client=100; path=/"),
        ]

    def _token_valid(self, request: SandboxRequest, user: str) -> bool:
        token = request.headers.get("x-csrf-token", "")
        session = self._session_of(request)
        known = self._sessions.get(session) if session else None
        return bool(
            token and known and known[0] == user and secrets.compare_digest(known[1], token)
        )

    # -- dispatch -------------------------------------------------------------------------

    def _dispatch(
        self, request: SandboxRequest, service: Service, segments: list[str], user: str
    ) -> _Response:
        method = request.method
        if not segments or segments == [""]:
            self._only(method, ("GET", "HEAD"), "the service document")
            return self._service_document(request, service)
        if segments == ["$metadata"]:
            self._only(method, ("GET", "HEAD"), "$metadata")
            return _Response(200, edmx(service.name), "application/xml",
                             [("sap-metadata-last-modified", "Mon, 15 Jan 2024 00:00:00 GMT")])
        if segments[0] == "$batch":
            raise ODataError(501, "/IWBEP/CM_MGW_RT/000",
                             "$batch is not supported by the sandbox; send single requests")
        options = parse_query(request.query)
        if options.format not in (None, "json"):
            raise bad_request(f"Format '{options.format}' is not supported by the sandbox;"
                              " use $format=json")
        target = self._resolve(service, segments)
        if method in ("GET", "HEAD"):
            return self._read_target(request, service, target, options)
        if method == "POST" and target.root and len(segments) == 1:
            self._only_if(target.etype.creatable, method, target.etype)
            return self._create(request, service, target.etype, user)
        if method in ("PUT", "PATCH", "MERGE") and target.row is not None and len(segments) == 1:
            self._only_if(target.etype.updatable, method, target.etype)
            self._check_precondition(request, target.etype, target.row)
            return self._update(request, target, user, replace=method == "PUT")
        if method == "DELETE" and target.row is not None and len(segments) == 1:
            self._only_if(target.etype.deletable, method, target.etype)
            self._check_precondition(request, target.etype, target.row)
            return self._delete(target)
        raise self._not_allowed(method, segments[-1])

    @staticmethod
    def _check_precondition(request: SandboxRequest, etype: EntityType, row: Row) -> None:
        """Optimistic concurrency for types with a ``ConcurrencyMode="Fixed"`` property:
        a change needs ``If-Match`` (428 without it) naming the current ETag (412 if not)."""
        current = etag(etype, row)
        if current is None:
            return
        wanted = request.headers.get("if-match", "").strip()
        if not wanted:
            raise ODataError(428, "/IWBEP/CM_MGW_RT/089",
                             f"Precondition required for entity {etype.set_name}"
                             " (If-Match missing); read the entity for its ETag")
        tags = [tag.strip() for tag in wanted.split(",")]
        if "*" not in tags and current not in tags:
            raise ODataError(412, "/IWBEP/CM_MGW_RT/090",
                             f"Precondition failed for entity {etype.set_name}: it was changed"
                             " since it was read (ETag mismatch)")

    @staticmethod
    def _only(method: str, allowed: tuple[str, ...], what: str) -> None:
        if method not in allowed:
            raise ODataError(405, "/IWBEP/CM_MGW_RT/010",
                             f"Method '{method}' is not allowed for {what}")

    def _only_if(self, allowed: bool, method: str, etype: EntityType) -> None:
        if not allowed:
            raise self._not_allowed(method, etype.set_name)

    @staticmethod
    def _not_allowed(method: str, resource: str) -> ODataError:
        return ODataError(405, "/IWBEP/CM_MGW_RT/010",
                          f"Method '{method}' is not allowed for resource '{resource}'")

    def _resolve(self, service: Service, segments: list[str]) -> _Target:
        name, key = split_segment(segments[0])
        etype = service.set_map.get(name)
        if etype is None:
            raise ODataError(404, "/IWBEP/CM_MGW_RT/020",
                             f"Resource not found for segment '{name}'")
        if key is None:
            target = _Target(etype, root=True)
        else:
            row = self.sandbox.table(etype).get(parse_key(etype, key))
            if row is None:
                raise not_found(etype)
            target = _Target(etype, row=row)
        for segment in segments[1:]:
            target = self._step(service, target, segment)
        return target

    def _step(self, service: Service, target: _Target, segment: str) -> _Target:
        if target.count or target.value:
            raise bad_request(f"Resource segment '{segment}' is not allowed here")
        if segment == "$count":
            if target.row is not None:
                raise bad_request("$count needs a collection")
            target.count = True
            return target
        if segment == "$value":
            if target.prop is None:
                raise bad_request("$value needs a property")
            target.value = True
            return target
        if target.prop is not None:
            raise bad_request(f"Resource segment '{segment}' is not allowed after a property")
        if target.row is None:
            raise bad_request(f"Resource segment '{segment}' needs a single entity before it;"
                              " add a key predicate")
        etype, row = target.etype, target.row
        name, key = split_segment(segment)
        nav = etype.nav_map.get(name)
        if nav is None:
            if name in etype.prop_map and key is None:
                target.prop = name
                return target
            raise ODataError(404, "/IWBEP/CM_MGW_RT/020",
                             f"Resource not found for segment '{name}'")
        child_type = service.type_map[nav.target]
        if nav.many and key is not None:  # a key lookup, checked to belong to this parent
            wanted = parse_key(child_type, key)
            parent = tuple(row[source] for source, _ in nav.join)
            match = self.sandbox.table(child_type).get(wanted)
            if match is None or wanted[: len(parent)] != parent:
                raise not_found(child_type)
            return _Target(child_type, row=match)
        found = self.sandbox.navigate(nav, row)
        if isinstance(found, list):
            return _Target(child_type, rows=found)
        if key is not None:
            raise bad_request(f"Navigation property '{name}' is single-valued; drop the key")
        if found is None:
            raise not_found(child_type)
        return _Target(child_type, row=found)

    # -- reads ----------------------------------------------------------------------------

    def _base(self, request: SandboxRequest, service: Service) -> str:
        return f"{request.base_url}{SERVICE_ROOT}/{service.name}/"

    def _service_document(self, request: SandboxRequest, service: Service) -> _Response:
        options = parse_query(request.query)
        accept = request.headers.get("accept", "")
        names = [t.set_name for t in service.types]
        if options.format == "json" or (options.format is None and "json" in accept):
            return _json(200, {"d": {"EntitySets": names}})
        base = self._base(request, service)
        collections = "".join(
            f"<app:collection href={quoteattr(n)}><atom:title>{escape(n)}</atom:title>"
            "</app:collection>"
            for n in names
        )
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<app:service xml:lang="en" xml:base={quoteattr(base)}'
            ' xmlns:app="http://www.w3.org/2007/app" xmlns:atom="http://www.w3.org/2005/Atom">'
            f"<app:workspace><atom:title>Data</atom:title>{collections}</app:workspace>"
            "</app:service>"
        )
        return _Response(200, body.encode(), "application/xml")

    def _read_target(
        self, request: SandboxRequest, service: Service, target: _Target, options: QueryOptions
    ) -> _Response:
        etype = target.etype
        if target.prop is not None and target.row is not None:
            value = self._by_name[etype.name][target.prop](target.row)
            if target.value:
                text = "" if value is None else str(value).lower() if isinstance(
                    value, bool) else str(value)
                return _Response(200, text.encode(), "text/plain; charset=utf-8")
            return _json(200, {"d": {target.prop: value}})
        base = self._base(request, service)
        projection = build_projection(service, etype, options.select, options.expand)
        if target.row is not None:
            entity = self._render(service, etype, target.row, projection, base)
            tag = entity["__metadata"].get("etag")
            return _json(200, {"d": entity}, [("etag", tag)] if tag else None)
        return self._read_collection(request, service, target, options, projection, base)

    def _read_collection(
        self, request: SandboxRequest, service: Service, target: _Target, options: QueryOptions,
        projection: Projection, base: str,
    ) -> _Response:
        etype = target.etype
        table = self.sandbox.table(etype)
        orderby = parse_orderby(etype, options.orderby)
        start = options.skip + options.skiptoken
        page_size = self.sandbox.page_size
        if options.filter is None and not orderby and target.root:
            total = len(table)
            end = total if options.top is None else min(total, options.skip + options.top)
            page = list(islice(table.rows.values(), start, min(end, start + page_size)))
        else:
            candidates: Iterable[Row] = table.rows.values() if target.root else (
                target.rows or ()
            )
            rows: list[Row]
            if options.filter is not None:
                compiled = compile_filter(etype, options.filter)
                if target.root:
                    for prop, value in compiled.equalities:
                        if table.indexed(prop):
                            candidates = table.lookup(prop, value)
                            break
                predicate = compiled.predicate
                rows = [r for r in candidates if predicate(r)]
            else:
                rows = list(candidates)
            if orderby:
                rows = sort_rows(rows, orderby)
            total = len(rows)
            end = total if options.top is None else min(total, options.skip + options.top)
            page = rows[start:min(end, start + page_size)]
        if target.count:
            counted = max(0, end - options.skip)
            return _Response(200, str(counted).encode(), "text/plain; charset=utf-8")
        payload: dict[str, Any] = {}
        if options.inlinecount:
            payload["__count"] = str(total)
        payload["results"] = [self._render(service, etype, r, projection, base) for r in page]
        if start + page_size < end:
            url = f"{request.base_url}{request.path}"
            payload["__next"] = next_link(url, options, options.skiptoken + page_size)
        return _json(200, {"d": payload})

    def _render(
        self, service: Service, etype: EntityType, row: Row, projection: Projection, base: str
    ) -> dict[str, Any]:
        uri = base + etype.set_name + key_predicate(etype, row)
        metadata = {"id": uri, "uri": uri, "type": f"{service.name}.{etype.name}"}
        tag = etag(etype, row)
        if tag is not None:
            metadata["etag"] = tag
        out: dict[str, Any] = {"__metadata": metadata}
        selected = projection.props
        for name, fmt in self._formatters[etype.name]:
            if selected is None or name in selected:
                out[name] = fmt(row)
        for nav in etype.navs:
            child = projection.expand.get(nav.name)
            if child is not None:
                child_type = service.type_map[nav.target]
                found = self.sandbox.navigate(nav, row)
                if isinstance(found, list):
                    out[nav.name] = {
                        "results": [self._render(service, child_type, r, child, base)
                                    for r in found]
                    }
                else:
                    out[nav.name] = (
                        self._render(service, child_type, found, child, base)
                        if found is not None else None
                    )
            elif projection.deferred is None or nav.name in projection.deferred:
                out[nav.name] = {"__deferred": {"uri": f"{uri}/{nav.name}"}}
        return out

    # -- writes ---------------------------------------------------------------------------

    @staticmethod
    def _payload(request: SandboxRequest) -> Any:
        content_type = request.headers.get("content-type", "")
        if "xml" in content_type:
            raise ODataError(415, "/IWBEP/CM_MGW_RT/004",
                             "Atom/XML payloads are not supported by the sandbox; send JSON")
        try:
            return _json_decoder.decode(request.body)
        except msgspec.DecodeError as error:
            raise bad_request(f"Malformed JSON payload: {error}", "/IWBEP/CM_MGW_RT/004") \
                from None

    def _create(
        self, request: SandboxRequest, service: Service, etype: EntityType, user: str
    ) -> _Response:
        payload = self._payload(request)
        headers: list[tuple[str, str]] = []
        if etype.set_name == "A_SalesOrder":
            row, expand = self.sandbox.create_sales_order(payload, user)
            headers.append(("sap-message", msgspec.json.encode({
                "code": "V1/311",
                "message": f"Standard Order {row['SalesOrder']} has been saved",
                "target": "", "severity": "success", "transition": False, "details": [],
            }).decode()))
        elif etype.set_name == "A_BusinessPartner":
            row, expand = self.sandbox.create_business_partner(payload, user)
        else:  # pragma: no cover - every creatable set is handled above
            raise self._not_allowed("POST", etype.set_name)
        base = self._base(request, service)
        projection = build_projection(service, etype, None, expand or None) if expand else ALL
        entity = self._render(service, etype, row, projection, base)
        headers.append(("location", entity["__metadata"]["uri"]))
        return _json(201, {"d": entity}, headers)

    def _update(
        self, request: SandboxRequest, target: _Target, user: str, *, replace: bool
    ) -> _Response:
        etype = target.etype
        updates = {
            "A_BusinessPartner": self.sandbox.update_business_partner,
            "A_SalesOrder": self.sandbox.update_sales_order,
            "A_SalesOrderItem": self.sandbox.update_sales_order_item,
        }
        update = updates.get(etype.set_name)
        if target.row is None or update is None:  # pragma: no cover - flags route them here
            raise self._not_allowed(request.method, etype.set_name)
        key = tuple(target.row[k] for k in etype.keys)
        update(key, self._payload(request), user, replace=replace)
        return _Response(204, content_type=None)

    def _delete(self, target: _Target) -> _Response:
        etype = target.etype
        if target.row is None or etype.set_name != "A_SalesOrder":  # pragma: no cover
            raise self._not_allowed("DELETE", etype.set_name)
        self.sandbox.delete_sales_order(target.row["SalesOrder"])
        return _Response(204, content_type=None)

    # -- sandbox-only administration (not part of SAP's API) -----------------------------

    def _admin(self, request: SandboxRequest) -> _Response:
        """``POST|DELETE /sandbox/admin/customers/{customer}/credit-block`` puts a customer
        on (or takes it off) an order block, as a credit controller would in SAP;
        ``POST /sandbox/admin/orders/{order}/deliver`` delivers an order's items (all, or
        ``{"items": ["10"]}``). Effects are read through the normal OData API."""
        parts = request.path[len(ADMIN_PREFIX):].strip("/").split("/")
        try:
            body = self._payload(request) if request.body.strip() else {}
            if not isinstance(body, dict):
                raise bad_request("The admin payload must be a JSON object")
            if len(parts) == 3 and parts[0] == "customers" and parts[2] == "credit-block":
                if request.method == "POST":
                    reason = body.get("reason", ADMIN_ORDER_BLOCK)
                    area = body.get("sales_area")
                    state = self.sandbox.block_customer(parts[1], str(reason), area)
                    return _json(200, state)
                if request.method == "DELETE":
                    return _json(200, self.sandbox.release_customer(parts[1]))
            if (len(parts) == 3 and parts[0] == "orders" and parts[2] == "deliver"
                    and request.method == "POST"):
                items = body.get("items")
                if items is not None and not (
                    isinstance(items, list) and all(isinstance(i, str) for i in items)
                ):
                    raise bad_request("items must be a list of item numbers such as [\"10\"]")
                return _json(200, self.sandbox.deliver(parts[1], items))
            raise ODataError(404, "/IWFND/MED/170", f"No sandbox admin resource {request.path}")
        except ODataError as error:
            return _Response(error.status, error_document(error, None, self.sandbox.now()))
