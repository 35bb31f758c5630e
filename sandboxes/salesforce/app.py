"""An in-memory simulator of the Salesforce REST API (a small multi-currency CPQ org).

It is a plain ASGI application, used three ways: embedded in the gateway through
``httpx.ASGITransport``, served standalone by ``q2c sandbox serve --system
salesforce``, and by tests. The bar is wire fidelity: the vendor's own client
(simple-salesforce) works against it, and status codes, JSON shapes, error arrays,
18-character ids with their case-safe checksum, timestamp formats and number
encodings follow the real API.

Implemented surface, under ``/services/data/v{40..66}.0/``:

* ``GET /services/data/`` (versions), ``GET .../`` (resources), ``GET limits``
* ``POST /services/oauth2/token`` (client_credentials, JWT bearer, password; see
  :mod:`.oauth`)
* ``sobjects/`` describeGlobal, ``sobjects/{T}`` (GET basic info, POST create),
  ``sobjects/{T}/describe``, ``sobjects/{T}/{Id}`` (GET ``?fields=``, PATCH, DELETE),
  ``sobjects/{T}/{ExternalIdField}/{value}`` (GET, PATCH upsert, DELETE)
* ``query`` / ``queryAll`` with paging through ``nextRecordsUrl`` (SOQL subset, see
  :mod:`sandboxes.salesforce.soql`)
* ``composite`` (``allOrNone``, ``@{ref.path}`` references, max 25 subrequests) and
  ``composite/sobjects`` (sObject Collections create/update/delete)

Sandbox-only controls, with no Salesforce counterpart: ``POST
/sandbox/admin/connected-app/certificates`` (a PEM certificate or public key the JWT
bearer flow accepts signatures of) and ``POST /sandbox/admin/sessions/expire`` (ends
every OAuth session, as a session timeout does).

The org is seeded deterministically from :mod:`sandboxes.demo_data`. This module is
the REST API; the vocabulary (ids, schema, values) is :mod:`.schema`, the data model
:mod:`.org`, and SOQL evaluation :mod:`.query` over the parser in :mod:`.soql`.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, unquote

import msgspec

from sandboxes import asgi
from sandboxes.salesforce import soql
from sandboxes.salesforce.oauth import ConnectedApp
from sandboxes.salesforce.org import (
    Org,
    Record,
    SandboxFaults,
)
from sandboxes.salesforce.query import (
    QueryEngine,
    no_such_column,
)
from sandboxes.salesforce.schema import (
    API_VERSION,
    DAILY_API_LIMIT,
    DECIMAL_TYPES,
    DEFAULT_BATCH_SIZE,
    MAX_API_VERSION,
    MAX_COLLECTION_RECORDS,
    MAX_COMPOSITE_SUBREQUESTS,
    MAX_OPEN_CURSORS,
    MIN_API_VERSION,
    SCHEMA,
    SCHEMA_BY_LOWER,
    SCHEMA_BY_PREFIX,
    SOAP_TYPES,
    STATIC_TOKEN,
    STRING_TYPES,
    DmlError,
    SalesforceApiError,
    SObjectType,
    api_error,
    cannot_deserialize,
    json_parser_error,
    normalize_id,
    not_found,
    salesforce_id,
    to_json,
)

__all__ = [
    "API_VERSION",
    "STATIC_TOKEN",
    "SalesforceSandbox",
    "SalesforceSandboxApp",
    "SandboxFaults",
    "create_app",
    "normalize_id",
    "salesforce_id",
]

_log = logging.getLogger(__name__)


# ================================================================== the API


_Reply = asgi.SandboxReply


class _BadJson:
    def __init__(self, message: str) -> None:
        self.message = message


_NO_BODY = object()
_JSON_DECODER = msgspec.json.Decoder(float_hook=Decimal)
_VERSION_RE = re.compile(r"v(\d+)\.0")
_REFERENCE_RE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
_SEASONS = ("Winter", "Spring", "Summer")


def _version_label(major: int) -> str:
    offset = major - 59  # v59.0 is Winter '24
    return f"{_SEASONS[offset % 3]} '{24 + offset // 3:02d}"


def _decode_json(raw: bytes) -> Any:
    if not raw.strip():
        return _NO_BODY
    try:
        return _JSON_DECODER.decode(raw)
    except msgspec.DecodeError as exc:
        return _BadJson(f"Unexpected character in the request body: {exc}")


def _allowed(method: str, allowed: str) -> None:
    if method not in allowed.split(","):
        raise SalesforceApiError(
            405,
            [
                {
                    "errorCode": "METHOD_NOT_ALLOWED",
                    "message": f"HTTP Method '{method}' not allowed. Allowed are {allowed}",
                }
            ],
            {"Allow": allowed.replace(",", ", ")},
        )


def _no_key_in_body(values: Mapping[str, Any], *keys: str) -> None:
    """Salesforce refuses a body that repeats the record's key (Id, or the external id
    the URL upserts by)."""
    for key in keys:
        given = next((k for k in values if k.casefold() == key.casefold()), None)
        if given is not None:
            raise api_error(
                400, "INVALID_FIELD",
                f"The {key} field should not be specified in the sobject data.",
            )  # fmt: skip


class SalesforceSandbox:
    """The in-memory org plus the REST API that serves it."""

    def __init__(
        self,
        *,
        client_id: str = "q2c-gateway",
        client_secret: str = "sandbox-secret",
        seed: bool = True,
    ) -> None:
        self.connected_app = ConnectedApp(client_id, client_secret)
        self.faults = SandboxFaults()
        self._org = Org(clock=lambda: datetime.now(UTC).replace(microsecond=0))
        self._cursors: OrderedDict[str, tuple[list[dict[str, Any]], int, str]] = OrderedDict()
        self._api_calls = 0
        if seed:
            self._org.seed()

    # ------------------------------------------------------------ inspection
    def records(self, sobject: str) -> list[dict[str, Any]]:
        """A snapshot of every record of ``sobject`` as the API would render it."""
        obj = SCHEMA_BY_LOWER.get(sobject.casefold())
        if obj is None:
            raise KeyError(sobject)
        rows = list(self._org.store.tables[obj.name].values())
        return [{f.name: to_json(f, record[f.name]) for f in obj.field_list} for record in rows]

    @property
    def api_calls(self) -> int:
        """Data API calls served so far (the ``Sforce-Limit-Info`` usage)."""
        return self._api_calls

    # -------------------------------------------------------------- dispatch
    def handle(
        self,
        method: str,
        path: str,
        query_string: str,
        headers: Mapping[str, str],
        body: bytes,
        base_url: str,
    ) -> _Reply:
        """Serve one HTTP request (``headers`` keys lower-case, ``path`` still %-encoded)."""
        segments = [unquote(s) for s in path.split("/")[1:]]
        if segments and segments[-1] == "":
            segments.pop()
        try:
            if segments[:2] == ["services", "oauth2"] and segments[2:] == ["token"]:
                _allowed(method, "POST")
                status, answer = self.connected_app.token(query_string, headers, body, base_url)
                return _Reply(status, answer)
            if segments[:2] == ["sandbox", "admin"]:
                return self._admin(method, segments[2:], body)
            if segments[:2] != ["services", "data"]:
                raise not_found()
            if len(segments) == 2:
                _allowed(method, "GET,HEAD")
                return _Reply(200, self._versions())
            match = _VERSION_RE.fullmatch(segments[2])
            if match is None or not MIN_API_VERSION <= int(match[1]) <= MAX_API_VERSION:
                raise not_found()
            return self._data_call(
                method, f"{match[1]}.0", segments[3:], query_string, headers, body
            )
        except SalesforceApiError as exc:
            return _Reply(exc.status, exc.body, exc.headers)

    def _data_call(
        self,
        method: str,
        version: str,
        segments: list[str],
        query_string: str,
        headers: Mapping[str, str],
        raw_body: bytes,
    ) -> _Reply:
        if self.faults.fail_next > 0:
            self.faults.fail_next -= 1
            raise api_error(
                503, "SERVER_UNAVAILABLE",
                "The server is temporarily unable to service your request (sandbox fault "
                "injection). Please try again later.",
            )  # fmt: skip
        self._authenticate(headers)
        self._api_calls += 1
        params = {k: v[-1] for k, v in parse_qs(query_string, keep_blank_values=True).items()}
        body = _decode_json(raw_body) if method in ("POST", "PATCH", "PUT") else _NO_BODY
        mark = len(self._org.store.journal)
        try:
            reply = self._route(method, version, segments, params, headers, body)
        except DmlError as exc:
            self._org.store.rollback(mark)
            reply = _Reply(400, [exc.as_error()])
        except SalesforceApiError:
            self._org.store.rollback(mark)
            raise
        except Exception:  # a sandbox bug: answer like the real API does, keep the org intact
            self._org.store.rollback(mark)
            _log.exception("salesforce sandbox: unexpected error on %s %s", method, segments)
            raise api_error(
                500, "UNKNOWN_EXCEPTION",
                "An unexpected error occurred. Please include this ErrorId if you contact "
                f"support: {secrets.randbelow(10**9)}-{secrets.randbelow(10**5)} "
                f"({secrets.randbelow(10**10)})",
            ) from None
        finally:
            if mark == 0:
                self._org.store.journal.clear()
        reply.headers.setdefault(
            "Sforce-Limit-Info", f"api-usage={self._api_calls}/{DAILY_API_LIMIT}"
        )
        return reply

    def _authenticate(self, headers: Mapping[str, str]) -> None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "oauth") or not self.connected_app.is_session(
            token.strip()
        ):
            raise SalesforceApiError(
                401,
                [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
                {"WWW-Authenticate": 'Token realm="Salesforce"'},
            )

    def _route(
        self,
        method: str,
        version: str,
        segments: list[str],
        params: Mapping[str, str],
        headers: Mapping[str, str],
        body: Any,
    ) -> _Reply:
        head = segments[0] if segments else ""
        if not segments:
            _allowed(method, "GET,HEAD")
            return _Reply(200, self._resources(version))
        if head == "sobjects":
            return self._sobjects(method, version, segments[1:], params, body)
        if head in ("query", "queryAll") and len(segments) <= 2:
            _allowed(method, "GET,HEAD")
            if len(segments) == 2:
                return self._query_more(version, segments[1])
            return self._query(version, params, headers)
        if head == "composite" and len(segments) == 1:
            _allowed(method, "POST")
            return self._composite(version, body)
        if segments[:2] == ["composite", "sobjects"] and len(segments) == 2:
            _allowed(method, "POST,PATCH,DELETE")
            return self._collections(method, version, params, body)
        if head == "limits" and len(segments) == 1:
            _allowed(method, "GET,HEAD")
            remaining = DAILY_API_LIMIT - self._api_calls
            return _Reply(200, {"DailyApiRequests": {"Max": DAILY_API_LIMIT,
                                                     "Remaining": remaining}})
        raise not_found()

    # ------------------------------------------------------- sandbox admin
    def _admin(self, method: str, segments: list[str], body: bytes) -> _Reply:
        """Sandbox-only controls (no Salesforce counterpart): upload a certificate to the
        connected app for the JWT bearer flow, expire the sessions it issued."""
        if segments == ["connected-app", "certificates"]:
            _allowed(method, "POST")
            try:
                self.connected_app.trust_certificate(body)
            except ValueError as exc:
                raise api_error(400, "INVALID_CERTIFICATE", str(exc)) from None
            return _Reply(204)
        if segments == ["sessions", "expire"]:
            _allowed(method, "POST")
            return _Reply(200, {"expired": self.connected_app.expire_sessions()})
        raise not_found()

    # ------------------------------------------------------------- resources
    @staticmethod
    def _versions() -> list[dict[str, str]]:
        return [
            {"label": _version_label(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
            for v in range(MIN_API_VERSION, MAX_API_VERSION + 1)
        ]

    @staticmethod
    def _resources(version: str) -> dict[str, str]:
        base = f"/services/data/v{version}"
        return {
            name: f"{base}/{name}" for name in ("sobjects", "query", "queryAll", "composite",
                                                "limits")
        }  # fmt: skip

    @staticmethod
    def _object_summary(obj: SObjectType, version: str) -> dict[str, Any]:
        base = f"/services/data/v{version}/sobjects/{obj.name}"
        return {
            "name": obj.name, "label": obj.label, "labelPlural": obj.label_plural,
            "keyPrefix": obj.key_prefix, "custom": False, "createable": True,
            "updateable": True, "deletable": True, "queryable": True, "retrieveable": True,
            "searchable": True, "layoutable": True,
            "urls": {"sobject": base, "describe": f"{base}/describe",
                     "rowTemplate": f"{base}/{{ID}}"},
        }  # fmt: skip

    def _describe(self, obj: SObjectType, version: str) -> dict[str, Any]:
        fields = []
        for f in obj.field_list:
            fields.append({
                "name": f.name, "label": f.label, "type": f.type, "soapType": "xsd:"
                + SOAP_TYPES[f.type] if f.type not in ("id", "reference") else "tns:ID",
                "length": f.length if f.type in STRING_TYPES or f.type in ("id", "reference")
                else 0,
                "precision": f.precision if f.type in DECIMAL_TYPES else 0,
                "scale": f.scale, "nillable": f.nillable, "createable": f.createable,
                "updateable": f.updateable, "defaultedOnCreate": f.default is not None
                or not f.createable, "externalId": f.external_id, "unique": f.unique,
                "idLookup": f.name == "Id" or f.external_id, "custom": f.custom,
                "calculated": False, "autoNumber": f.name in ("QuoteNumber", "LineNumber"),
                "filterable": True, "sortable": True, "restrictedPicklist": f.restricted,
                "picklistValues": [
                    {"active": True, "defaultValue": value == f.default, "label": value,
                     "validFor": None, "value": value}
                    for value in f.picklist
                ],
                "referenceTo": [f.reference_to] if f.reference_to else [],
                "relationshipName": f.relationship,
            })  # fmt: skip
        summary = self._object_summary(obj, version)
        summary["fields"] = fields
        summary["childRelationships"] = [
            {"childSObject": rel.child, "field": rel.field.name, "relationshipName": rel.name,
             "cascadeDelete": rel.field.on_delete == "cascade"}
            for rel in obj.children.values()
        ]  # fmt: skip
        return summary

    # -------------------------------------------------------------- sobjects
    def _url(self, version: str, sobject: str, record_id: str) -> str:
        return f"/services/data/v{version}/sobjects/{sobject}/{record_id}"

    def _render_record(
        self, version: str, obj: SObjectType, record: Record, fields: str | None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "attributes": {"type": obj.name, "url": self._url(version, obj.name, record["Id"])}
        }
        if fields is None:
            selected = list(obj.field_list)
        else:
            selected = []
            for name in (n.strip() for n in fields.split(",") if n.strip()):
                f = obj.field(name)
                if f is None:
                    raise api_error(
                        400, "INVALID_FIELD", no_such_column(name, obj.name, 0).message
                    )
                selected.append(f)
        for f in selected:
            out[f.name] = to_json(f, record[f.name])
        return out

    def _body(self, body: Any) -> Any:
        if body is _NO_BODY:
            raise json_parser_error("No content to map due to end-of-input")
        if isinstance(body, _BadJson):
            raise json_parser_error(body.message)
        return body

    def _sobjects(
        self,
        method: str,
        version: str,
        segments: list[str],
        params: Mapping[str, str],
        body: Any,
    ) -> _Reply:
        if not segments:
            _allowed(method, "GET,HEAD")
            return _Reply(200, {
                "encoding": "UTF-8", "maxBatchSize": 200,
                "sobjects": [self._object_summary(o, version) for o in SCHEMA.values()],
            })  # fmt: skip
        obj = SCHEMA_BY_LOWER.get(segments[0].casefold())
        if obj is None:
            raise not_found()
        if len(segments) == 1:
            _allowed(method, "GET,HEAD,POST")
            if method == "POST":
                return self._create(version, obj, self._body(body))
            recent = [
                self._render_record(version, obj, r, "Id,Name" if obj.field("Name") else "Id")
                for r in list(self._org.store.tables[obj.name].values())[-10:]
            ]
            return _Reply(200, {"objectDescribe": self._object_summary(obj, version),
                                "recentItems": recent})  # fmt: skip
        if len(segments) == 2 and segments[1] == "describe":
            _allowed(method, "GET,HEAD")
            return _Reply(200, self._describe(obj, version))
        if len(segments) == 2:
            _allowed(method, "GET,HEAD,PATCH,DELETE")
            record = self._record_by_path_id(obj, segments[1])
            if method == "PATCH":
                values = self._body(body)
                if isinstance(values, dict):
                    _no_key_in_body(values, "Id")
                self._org.update(obj.name, record["Id"], values)
                return _Reply(204)
            if method == "DELETE":
                self._org.delete(obj.name, record["Id"])
                return _Reply(204)
            return _Reply(200, self._render_record(version, obj, record, params.get("fields")))
        if len(segments) == 3:
            _allowed(method, "GET,HEAD,PATCH,DELETE")
            return self._by_external_id(method, version, obj, segments[1], segments[2], params,
                                        body)  # fmt: skip
        raise not_found()

    def _record_by_path_id(self, obj: SObjectType, raw_id: str) -> Record:
        canonical = normalize_id(raw_id)
        if canonical is None:
            raise SalesforceApiError(404, [{
                "errorCode": "NOT_FOUND",
                "message": f"Provided external ID field does not exist or is not accessible: "
                           f"{raw_id}",
            }])  # fmt: skip
        if not canonical.startswith(obj.key_prefix):
            raise api_error(
                400, "MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {raw_id}"
            )
        record = self._org.store.get(obj.name, canonical)
        if record is None:
            raise not_found()
        return record

    def _create(self, version: str, obj: SObjectType, values: Any) -> _Reply:
        record = self._org.insert(obj.name, values)
        return _Reply(
            201,
            {"id": record["Id"], "success": True, "errors": []},
            {"Location": self._url(version, obj.name, record["Id"])},
        )

    def _by_external_id(
        self,
        method: str,
        version: str,
        obj: SObjectType,
        field_name: str,
        value: str,
        params: Mapping[str, str],
        body: Any,
    ) -> _Reply:
        f = obj.field(field_name)
        if f is None or not (f.external_id or f.name == "Id"):
            raise not_found()  # the documented answer for an incorrect external ID field
        if f.name == "Id":
            found = self._org.find(obj.name, value)
            matches = [found] if found is not None else []
        else:
            matches = self._org.store.by_external_id(obj.name, f.name, value)
        if len(matches) > 1:
            return _Reply(300, [self._url(version, obj.name, r["Id"]) for r in matches])
        if method in ("GET", "HEAD", "DELETE"):
            if not matches:
                raise not_found()
            if method == "DELETE":
                self._org.delete(obj.name, matches[0]["Id"])
                return _Reply(204)
            return _Reply(200, self._render_record(version, obj, matches[0], params.get("fields")))
        values = self._body(body)
        if not isinstance(values, dict):
            raise cannot_deserialize(obj.name, values)
        _no_key_in_body(values, "Id", f.name)  # the URL carries the key, never the body
        with_created = float(version) >= 46.0  # "created" and 200-on-update came in v46
        if matches:
            record = self._org.update(obj.name, matches[0]["Id"], values)
            if not with_created:
                return _Reply(204)
            return _Reply(
                200, {"id": record["Id"], "success": True, "errors": [], "created": False}
            )
        if f.name == "Id":
            raise not_found()
        if params.get("updateOnly", "").lower() == "true":
            raise not_found()
        values[f.name] = value
        record = self._org.insert(obj.name, values)
        answer: dict[str, Any] = {"id": record["Id"], "success": True, "errors": []}
        if with_created:
            answer["created"] = True
        return _Reply(
            201, answer, {"Location": self._url(version, obj.name, record["Id"])}
        )

    # ----------------------------------------------------------------- query
    def _query(self, version: str, params: Mapping[str, str], headers: Mapping[str, str]) -> _Reply:
        text = params.get("q")
        if text is None or not text.strip():
            raise api_error(400, "MALFORMED_QUERY", "A query string has to be specified")
        batch = DEFAULT_BATCH_SIZE
        for option in headers.get("sforce-query-options", "").split(","):
            name, _, value = option.partition("=")
            if name.strip().lower() == "batchsize" and value.strip().isdigit():
                batch = max(1, min(DEFAULT_BATCH_SIZE, int(value)))
        try:
            total, records = QueryEngine(self._org, version).run(text, batch)
        except soql.SoqlError as exc:
            raise api_error(400, exc.error_code, soql.render_error(text, exc)) from None
        if len(records) <= batch:
            return _Reply(200, {"totalSize": total, "done": True, "records": records})
        locator = self._org.new_id("01g")
        self._cursors[locator] = (records, batch, version)
        while len(self._cursors) > MAX_OPEN_CURSORS:
            self._cursors.popitem(last=False)
        return _Reply(200, self._page(locator, 0, total))

    def _page(self, locator: str, offset: int, total: int | None = None) -> dict[str, Any]:
        records, batch, version = self._cursors[locator]
        self._cursors.move_to_end(locator)
        end = offset + batch
        page: dict[str, Any] = {"totalSize": len(records) if total is None else total}
        page["done"] = end >= len(records)
        if not page["done"]:
            page["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{end}"
        page["records"] = records[offset:end]
        return page

    def _query_more(self, version: str, token: str) -> _Reply:
        locator, _, offset = token.rpartition("-")
        if locator not in self._cursors or not offset.isdigit():
            raise api_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        if int(offset) >= len(self._cursors[locator][0]):
            raise api_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return _Reply(200, self._page(locator, int(offset)))

    # ------------------------------------------------------------- composite
    def _composite(self, version: str, body: Any) -> _Reply:
        payload = self._body(body)
        if not isinstance(payload, dict):
            raise cannot_deserialize("CompositeRequest", payload)
        subrequests = payload.get("compositeRequest")
        if not isinstance(subrequests, list) or not subrequests:
            raise json_parser_error("'compositeRequest' is a required field.")
        if len(subrequests) > MAX_COMPOSITE_SUBREQUESTS:
            # Answered inside a 200, as one failed pseudo-subrequest (seen in production).
            return _Reply(200, {"compositeResponse": [{
                "body": [{
                    "errorCode": "LIMIT_EXCEEDED",
                    "message": f"The request can\u2019t contain more than "
                               f"{MAX_COMPOSITE_SUBREQUESTS} operations.",
                }],
                "httpHeaders": {}, "httpStatusCode": 400, "referenceId": None,
            }]})  # fmt: skip
        all_or_none = payload.get("allOrNone") is True
        seen: set[str] = set()
        for sub in subrequests:
            if not isinstance(sub, dict):
                raise cannot_deserialize("CompositeSubrequest", sub)
            for key in ("method", "url", "referenceId"):
                if not isinstance(sub.get(key), str) or not sub[key]:
                    raise json_parser_error(f"'{key}' is a required field.")
            if sub["method"] not in ("GET", "POST", "PATCH", "PUT", "DELETE"):
                raise json_parser_error(f"Invalid HTTP method: {sub['method']}")
            if not re.fullmatch(r"[A-Za-z0-9_]+", sub["referenceId"]):
                raise json_parser_error(
                    f"Invalid reference id: {sub['referenceId']}. Reference ids must contain "
                    "only letters, numbers and underscores ('_')."
                )
            if sub["referenceId"] in seen:
                raise json_parser_error(f"Duplicate reference id: {sub['referenceId']}")
            seen.add(sub["referenceId"])

        mark = len(self._org.store.journal)
        results: list[dict[str, Any]] = []
        outcomes: dict[str, tuple[int, Any]] = {}
        failed = False
        for sub in subrequests:
            reply = self._subrequest(version, sub, outcomes)
            outcomes[sub["referenceId"]] = (reply.status, reply.body)
            results.append({
                "body": reply.body,
                "httpHeaders": {k: v for k, v in reply.headers.items()
                                if k != "Sforce-Limit-Info"},
                "httpStatusCode": reply.status,
                "referenceId": sub["referenceId"],
            })  # fmt: skip
            if reply.status >= 400 and all_or_none:
                failed = True
                break
        if failed:
            self._org.store.rollback(mark)
            halted = [{
                "errorCode": "PROCESSING_HALTED",
                "message": "The transaction was rolled back since another operation in the "
                           "same transaction failed.",
            }]  # fmt: skip
            for result in results[:-1]:
                result.update(body=halted, httpHeaders={}, httpStatusCode=400)
            results.extend(
                {"body": halted, "httpHeaders": {}, "httpStatusCode": 400,
                 "referenceId": sub["referenceId"]}
                for sub in subrequests[len(results):]
            )  # fmt: skip
        return _Reply(200, {"compositeResponse": results})

    def _subrequest(
        self, version: str, sub: dict[str, Any], outcomes: Mapping[str, tuple[int, Any]]
    ) -> _Reply:
        try:
            url = self._substitute(sub["url"], outcomes, in_url=True)
            body = self._substitute(sub["body"], outcomes) if "body" in sub else _NO_BODY
        except SalesforceApiError as exc:
            return _Reply(exc.status, exc.body)
        path, _, query_string = url.partition("?")
        segments = [unquote(s) for s in path.split("/")]
        if segments and segments[-1] == "":
            segments.pop()
        try:
            if segments[:4] != ["", "services", "data", f"v{version}"] and not (
                segments[:3] == ["", "services", "data"]
                and len(segments) > 3
                and (m := _VERSION_RE.fullmatch(segments[3]))
                and MIN_API_VERSION <= int(m[1]) <= MAX_API_VERSION
            ):
                raise not_found()
            sub_version = segments[3][1:]
            rest = segments[4:]
            collections = rest[:2] == ["composite", "sobjects"] and float(sub_version) >= 43.0
            if not rest or not (rest[0] in ("sobjects", "query", "queryAll") or collections):
                raise not_found()
            params = {
                k: v[-1] for k, v in parse_qs(query_string, keep_blank_values=True).items()
            }
            headers = {k.lower(): str(v) for k, v in (sub.get("httpHeaders") or {}).items()}
            mark = len(self._org.store.journal)
            try:
                return self._route(sub["method"], sub_version, rest, params, headers, body)
            except DmlError as exc:
                self._org.store.rollback(mark)
                return _Reply(400, [exc.as_error()])
            except SalesforceApiError:
                self._org.store.rollback(mark)
                raise
        except SalesforceApiError as exc:
            return _Reply(exc.status, exc.body)

    def _substitute(
        self, value: Any, outcomes: Mapping[str, tuple[int, Any]], *, in_url: bool = False
    ) -> Any:
        if isinstance(value, dict):
            return {k: self._substitute(v, outcomes) for k, v in value.items()}
        if isinstance(value, list):
            return [self._substitute(v, outcomes) for v in value]
        if not isinstance(value, str) or "@{" not in value:
            return value
        whole = _REFERENCE_RE.fullmatch(value)
        if whole is not None and not in_url:
            return self._resolve_reference(whole, outcomes)
        return _REFERENCE_RE.sub(lambda m: str(self._resolve_reference(m, outcomes)), value)

    @staticmethod
    def _resolve_reference(match: re.Match[str], outcomes: Mapping[str, tuple[int, Any]]) -> Any:
        name, path = match[1], match[2]
        expression = f"{name}{path}"

        def halt() -> SalesforceApiError:
            return SalesforceApiError(400, [{
                "errorCode": "PROCESSING_HALTED",
                "message": f"Invalid reference specified. No value for {expression} found in "
                           f"{name}. Provided referenceId ('{name}') refers to an unsuccessful "
                           "or missing response.",
            }])  # fmt: skip

        outcome = outcomes.get(name)
        if outcome is None or outcome[0] >= 300:
            raise halt()
        current = outcome[1]
        for step in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
            key, index = step
            if key and isinstance(current, dict) and key in current:
                current = current[key]
            elif index and isinstance(current, list) and int(index) < len(current):
                current = current[int(index)]
            else:
                raise halt()
        if current is None or isinstance(current, dict | list):
            raise halt()
        return current

    # ------------------------------------------------------- sObject collections
    def _collections(
        self, method: str, version: str, params: Mapping[str, str], body: Any
    ) -> _Reply:
        if method == "DELETE":
            ids = [i for i in params.get("ids", "").split(",") if i]
            all_or_none = params.get("allOrNone", "").lower() == "true"
            items: list[tuple[str | None, Any]] = [(None, i) for i in ids]
        else:
            payload = self._body(body)
            if not isinstance(payload, dict) or not isinstance(payload.get("records"), list):
                raise json_parser_error("'records' is a required field.")
            all_or_none = payload.get("allOrNone") is True
            items = []
            for rec in payload["records"]:
                attributes = rec.get("attributes") if isinstance(rec, dict) else None
                kind = attributes.get("type") if isinstance(attributes, dict) else None
                items.append((kind if isinstance(kind, str) else None, rec))
        if len(items) > MAX_COLLECTION_RECORDS:
            raise api_error(
                400, "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {MAX_COLLECTION_RECORDS} "
                "records into this call",
            )  # fmt: skip
        mark = len(self._org.store.journal)
        results: list[dict[str, Any]] = []
        for kind, item in items:
            item_mark = len(self._org.store.journal)
            try:
                record_id = self._collection_item(method, kind, item)
            except DmlError as exc:
                self._org.store.rollback(item_mark)
                results.append({"success": False, "errors": [
                    {"statusCode": exc.code, "message": exc.message, "fields": exc.fields}
                ]})  # fmt: skip
            except SalesforceApiError as exc:
                self._org.store.rollback(item_mark)
                error = exc.body[0] if isinstance(exc.body, list) and exc.body else {}
                results.append({"success": False, "errors": [{
                    "statusCode": error.get("errorCode", "UNKNOWN_EXCEPTION"),
                    "message": error.get("message", ""), "fields": error.get("fields", []),
                }]})  # fmt: skip
            else:
                results.append({"id": record_id, "success": True, "errors": []})
        if all_or_none and any(not r["success"] for r in results):
            self._org.store.rollback(mark)
            for result in results:
                if result["success"]:
                    result.clear()
                    result.update(success=False, errors=[{
                        "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                        "message": "Record rolled back because not all records were valid and "
                                   "the request was using AllOrNone header",
                        "fields": [],
                    }])  # fmt: skip
        return _Reply(200, results)

    def _collection_item(self, method: str, kind: str | None, item: Any) -> str:
        if method == "DELETE":
            canonical = normalize_id(str(item))
            obj = SCHEMA_BY_PREFIX.get(canonical[:3]) if canonical else None
            if canonical is None or obj is None:
                raise DmlError("MALFORMED_ID", f"malformed id {item}")
            if self._org.store.get(obj.name, canonical) is None:
                raise DmlError("ENTITY_IS_DELETED", "entity is deleted")
            self._org.delete(obj.name, canonical)
            return canonical
        obj = SCHEMA_BY_LOWER.get((kind or "").casefold())
        if obj is None:
            raise DmlError("INVALID_TYPE", "sObject type is missing or not supported")
        values = {k: v for k, v in item.items() if k != "attributes"}
        if method == "POST":
            if any(k.casefold() == "id" for k in values):
                raise DmlError(
                    "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"]
                )
            return str(self._org.insert(obj.name, values)["Id"])
        raw_id = next((v for k, v in values.items() if k.casefold() == "id"), None)
        if not isinstance(raw_id, str):
            raise DmlError("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
        record = self._org.find(obj.name, raw_id)
        if record is None:
            if normalize_id(raw_id) is None:
                raise DmlError("MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: "
                                f"{raw_id}", ["Id"])  # fmt: skip
            raise DmlError("ENTITY_IS_DELETED", "entity is deleted", ["Id"])
        self._org.update(obj.name, record["Id"], values)
        return str(record["Id"])


# ======================================================================= ASGI

_ENCODER = msgspec.json.Encoder()
_JSON_CONTENT_TYPE = "application/json;charset=UTF-8"


class SalesforceSandboxApp(asgi.SandboxASGIApp[SalesforceSandbox]):
    """The ASGI application serving a :class:`SalesforceSandbox`."""

    async def respond(self, request: asgi.SandboxRequest, send: asgi.Send) -> None:
        head = request.method == "HEAD"  # answered as a GET, without the body
        reply = self.sandbox.handle("GET" if head else request.method, request.path,
                                    request.query, request.headers, request.body,
                                    request.base_url)  # fmt: skip
        await asgi.send_json(send, reply, _ENCODER, content_type=_JSON_CONTENT_TYPE, head=head,
                             bare_204=True)  # fmt: skip


def create_app(sandbox: SalesforceSandbox | None = None) -> SalesforceSandboxApp:
    """An ASGI app serving ``sandbox`` (a freshly seeded one by default)."""
    return SalesforceSandboxApp(sandbox if sandbox is not None else SalesforceSandbox())
