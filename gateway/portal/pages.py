"""Overview, catalog, per-API and reference pages."""

from __future__ import annotations

from gateway.portal.catalog import (
    PLATFORM,
    CatalogEntry,
    Lifecycle,
    PlanRow,
    SystemOfRecord,
)
from gateway.portal.documents import ApiDocument, Operation
from gateway.portal.examples import build_example
from gateway.portal.html import (
    STATIC,
    badge,
    code_block,
    esc,
    layout,
    method_badge,
    notice,
    table,
)
from gateway.settings import Settings

_TONES = {"ga": "ok", "beta": "warn", "deprecated": "bad", "retired": "bad"}


def life_badge(life: Lifecycle) -> str:
    text = life.label
    dep = life.deprecation
    if dep is not None and dep.sunset is not None and life.state in ("deprecated", "retired"):
        text += f", sunset {dep.sunset.date().isoformat()}"
    return badge(text, _TONES[life.state])


def lifecycle_badge(entry: CatalogEntry) -> str:
    """The API's lifecycle, and how many of its operations are deprecated or retired."""
    shown = life_badge(entry.lifecycle)
    leaving = [life for life in entry.exceptions.values()
               if life.state in ("deprecated", "retired")]
    if leaving:
        shown += f' <span class="muted">{len(leaving)} operation(s) deprecated</span>'
    return shown


def _version_label(version: str) -> str:
    return "unversioned" if version == PLATFORM else version


def _systems(systems: tuple[SystemOfRecord, ...]) -> str:
    """One line per domain: its default system, then the per-legal-entity exceptions."""
    if not systems:
        return "the gateway itself"
    lines: dict[str, list[str]] = {}
    for sor in systems:
        name = f"<strong>{esc(sor.system)}</strong>"
        if sor.kind != sor.system:
            name += f' <span class="muted">({esc(sor.kind)})</span>'
        where = f"{esc(sor.legal_entity)}: " if sor.legal_entity else ""
        lines.setdefault(sor.domain, []).append(where + name)
    items = "".join(f"<li>{esc(domain)}: {'; '.join(parts)}</li>"
                    for domain, parts in lines.items())
    sandbox = ('<span class="muted">sandbox simulators</span>'
               if all(sor.sandbox for sor in systems) else "")
    return f'<ul class="plain">{items}</ul>{sandbox}'


def _scopes(scopes: tuple[str, ...]) -> str:
    if not scopes:
        return '<span class="muted">none</span>'
    return " ".join(f"<code>{esc(s)}</code>" for s in scopes)


def api_href(entry: CatalogEntry) -> str:
    return f"/portal/apis/{entry.version}/{entry.api}"


def home_page(entries: list[CatalogEntry], documents: dict[str, ApiDocument],
              self_service: bool) -> str:
    versions = ", ".join(esc(v) for v in documents) or "none"
    start = (
        "Register a sandbox application on the getting-started page, get a token and make "
        "your first call, all from this browser."
        if self_service
        else "The getting-started page explains how to obtain production credentials."
    )
    apis = sorted({e.api for e in entries if e.version != PLATFORM})
    main = (
        "<h1>Q2C developer portal</h1>"
        '<p class="lead">One set of canonical quote-to-cash APIs — customers, products, '
        "prices, quotes, orders, invoices and payments — over the CRM, ERP, billing and tax "
        "systems that own the data. Every call is authenticated, rate limited, traced and "
        "audited; errors are RFC 9457 problem details.</p>"
        '<ul class="cards">'
        f'<li><h2><a href="/portal/catalog">Catalog</a></h2><p>{len(apis)} APIs in versions '
        f"{versions}: lifecycle, owning team, system of record, scopes and rate-limit plans."
        "</p></li>"
        '<li><h2><a href="/portal/reference">API reference</a></h2><p>Every operation with '
        "its schemas, rendered from the committed OpenAPI documents, with try-it using your "
        "token.</p></li>"
        f'<li><h2><a href="/portal/getting-started">Getting started</a></h2><p>{esc(start)}'
        "</p></li>"
        '<li><h2><a href="/portal/problems">Problem types</a></h2><p>What each error type '
        "means, its common causes and how to fix it.</p></li>"
        '<li><h2><a href="/portal/changelog">Changelog</a></h2><p>What changed between '
        "released contract versions, breaking changes first.</p></li>"
        '<li><h2><a href="/portal/deprecations">Deprecations</a></h2><p>Operations on their '
        "way out, their sunset dates and how to migrate.</p></li>"
        "</ul>"
        "<h2>Conventions</h2><ul>"
        "<li>Version in the path (<code>/v1</code>, <code>/v2</code>); snake_case JSON; ids "
        "are prefixed ULIDs such as <code>cus_01J…</code>.</li>"
        '<li>Money is <code>{"amount": "12.50", "currency": "EUR"}</code>; timestamps are '
        "RFC 3339.</li>"
        "<li>Lists take <code>limit</code> and <code>cursor</code> and answer "
        "<code>{\"data\": [...], \"next_cursor\": ...}</code>.</li>"
        "<li><code>Authorization: Bearer &lt;token&gt;</code> with the operation's scopes; "
        "<code>Idempotency-Key</code> on POSTs that create orders, invoices or payments; "
        "<code>If-Match</code> on PATCH.</li></ul>"
    )
    return layout("Overview", main, current="home")


def catalog_page(entries: list[CatalogEntry], plans: list[PlanRow]) -> str:
    rows = []
    for entry in entries:
        rows.append((
            f'<a href="{esc(api_href(entry))}">{esc(entry.api)}</a>',
            esc(_version_label(entry.version)),
            lifecycle_badge(entry),
            esc(entry.team),
            _systems(entry.systems),
            _scopes(entry.scopes),
            str(len(entry.operations)),
        ))
    summary = table(
        "APIs by version",
        ("API", "Version", "Lifecycle", "Owning team", "System of record", "Scopes",
         "Operations"),
        rows,
        css="catalog",
    )
    sections = []
    for entry in entries:
        op_rows = [
            (
                f'{method_badge(op.method)} <code>{esc(op.path)}</code>',
                f'<code data-operation-id="{esc(op.operation_id)}">{esc(op.operation_id)}</code>',
                esc(op.summary),
                _scopes(op.scopes),
                _operation_lifecycle(op, entry),
            )
            for op in entry.operations
        ]
        heading_id = f"api-{entry.version}-{entry.api}"
        sections.append(
            f'<section aria-labelledby="{esc(heading_id)}">'
            f'<h3 id="{esc(heading_id)}"><a href="{esc(api_href(entry))}">{esc(entry.api)}</a> '
            f'<span class="muted">{esc(_version_label(entry.version))}</span></h3>'
            + table(f"{entry.api} {_version_label(entry.version)} operations",
                    ("Operation", "operationId", "Summary", "Scopes", "Lifecycle"), op_rows)
            + "</section>"
        )
    main = (
        "<h1>API catalog</h1>"
        '<p class="lead">Every API and version this gateway serves, read from the committed '
        "OpenAPI documents and the gateway's configuration.</p>"
        f"{summary}"
        '<h2 id="plans">Rate-limit plans</h2>'
        "<p>Each client is limited per plan; every response carries <code>RateLimit</code> "
        "and <code>RateLimit-Policy</code>, and a 429 carries <code>Retry-After</code>.</p>"
        + table(
            "Rate-limit plans",
            ("Plan", "Quota", "Window", "Burst", "Applies to"),
            [
                (
                    f"<code>{esc(p.name)}</code>",
                    esc(p.quota),
                    f"{esc(p.window_seconds)} s",
                    esc(p.burst),
                    esc("; ".join(p.roles)) or '<span class="muted">clients assigned it'
                    "</span>",
                )
                for p in plans
            ],
        )
        + '<h2 id="operations">Operations</h2>' + "".join(sections)
    )
    return layout("Catalog", main, current="catalog")


def _operation_lifecycle(op: Operation, entry: CatalogEntry) -> str:
    return life_badge(entry.lifecycle_of(op))


def api_page(entry: CatalogEntry, document: ApiDocument, settings: Settings,
             base_url: str) -> str:
    parts = [
        f"<h1>{esc(entry.api)} <span class=\"muted\">{esc(_version_label(entry.version))}"
        "</span></h1>",
        f'<p class="lead">{esc(entry.description)}</p>' if entry.description else "",
        '<dl class="facts">',
        f"<dt>Lifecycle</dt><dd>{lifecycle_badge(entry)}</dd>",
        f"<dt>Owning team</dt><dd>{esc(entry.team)}</dd>",
        f"<dt>System of record</dt><dd>{_systems(entry.systems)}</dd>",
        f"<dt>Scopes</dt><dd>{_scopes(entry.scopes)}</dd>",
        "</dl>",
    ]
    if entry.version != PLATFORM:
        parts.append(
            f'<p><a href="/portal/reference/{esc(entry.version)}#/{esc(entry.api)}">Open the '
            f"{esc(entry.version)} reference with try-it</a></p>"
        )
    scopes = " ".join(entry.scopes)
    preamble = (
        f"export Q2C_URL={base_url}\n"
        "# Client credentials from the getting-started page (or your identity provider):\n"
        'export TOKEN=$(curl -sS -u "$CLIENT_ID:$CLIENT_SECRET" '
        + (f"-d 'scope={scopes}' " if scopes else "")
        + '-d grant_type=client_credentials "$Q2C_URL/oauth/token" \\\n'
        "  | python3 -c 'import json, sys; print(json.load(sys.stdin)[\"access_token\"])')"
    )
    parts.append("<h2>Before the examples</h2>")
    parts.append(code_block(preamble, language="shell", label="Get a token (shell)"))
    parts.append("<h2>Operations</h2>")
    for op in entry.operations:
        parts.append(_operation_section(op, entry, document, settings, base_url))
    return layout(f"{entry.api} {_version_label(entry.version)}", "".join(parts),
                  current="catalog", scripts=(f"{STATIC}/portal.js",))


def _operation_section(op: Operation, entry: CatalogEntry, document: ApiDocument,
                       settings: Settings, base_url: str) -> str:
    example = build_example(document, op, base_url)
    required_headers = [p for p in op.parameters if p.location == "header" and p.required]
    if op.method == "PATCH" and op.header("If-Match") is not None and op.header(
        "If-Match") not in required_headers:
        required_headers.append(op.header("If-Match"))  # type: ignore[arg-type]
    headers = "".join(
        f"<li><code>{esc(p.name)}</code> — {esc(p.description[:300])}</li>"
        for p in required_headers
    )
    if op.auth == "bearer":
        headers = ("<li><code>Authorization: Bearer &lt;token&gt;</code></li>") + headers
    life = entry.lifecycle_of(op)
    deprecation = ""
    dep = life.deprecation
    if dep is not None and life.state in ("deprecated", "retired"):
        sunset = dep.sunset.date().isoformat() if dep.sunset else "not set"
        deprecation = notice(
            f"Deprecated from {esc(dep.deprecated_at.date().isoformat())}; sunset {esc(sunset)}."
            + (f" Use {esc(dep.replacement)} instead." if dep.replacement else "")
            + ' See <a href="/portal/deprecations">deprecations</a>.',
            "warn",
        )
    return (
        f'<section class="operation" aria-labelledby="{esc(op.anchor)}">'
        f'<h3 id="{esc(op.anchor)}">{method_badge(op.method)} <code>{esc(op.path)}</code>'
        f"</h3>"
        f"<p>{esc(op.summary)} <span class=\"muted\">({esc(op.operation_id)})</span></p>"
        f"{deprecation}"
        f"<p>Scopes: {_scopes(op.scopes)}. Responses: {esc(', '.join(op.responses))}.</p>"
        + (f"<p>Send:</p><ul>{headers}</ul>" if headers else "")
        + code_block(example.curl, language="shell", label=f"{op.operation_id} with curl")
        + code_block(example.python, language="python",
                     label=f"{op.operation_id} with Python (httpx)")
        + "</section>"
    )


def reference_index(entries: list[CatalogEntry], documents: dict[str, ApiDocument]) -> str:
    items = []
    for version, document in documents.items():
        entry = next((e for e in entries if e.version == version), None)
        life = lifecycle_badge(entry) if entry else ""
        items.append(
            f'<li><a href="/portal/reference/{esc(version)}">{esc(version)} reference</a> '
            f"{life} <span class=\"muted\">{esc(document.title)}, "
            f"{len(document.operations)} operations</span> · "
            f'<a href="/portal/openapi/{esc(version)}.json">OpenAPI document</a></li>'
        )
    main = (
        "<h1>API reference</h1>"
        "<p class=\"lead\">Interactive references rendered from the committed OpenAPI "
        "documents. Use <strong>Authorize</strong> to paste a bearer token (or let the page "
        "fetch one with client credentials), then <strong>Try it out</strong> on any "
        "operation.</p>"
        f'<ul class="plain spaced">{"".join(items)}</ul>'
        "<p>The gateway's own running document, with the same viewer, is at "
        '<a href="/schema">/schema</a>.</p>'
    )
    return layout("API reference", main, current="reference")


def reference_page(title: str, spec_url: str, *, heading: str) -> str:
    """The Swagger UI viewer (vendored, served locally) for one document."""
    vendor = f"{STATIC}/vendor/swagger-ui"
    head = (
        f'<link rel="stylesheet" href="{vendor}/swagger-ui.css">'
        f'<link rel="stylesheet" href="{STATIC}/reference.css">'
    )
    # Swagger UI renders the operations in a <main> of its own; the introduction is a
    # labelled region so that all content still sits in a landmark.
    main = (
        '<section aria-labelledby="reference-title">'
        f'<h1 id="reference-title">{esc(heading)}</h1>'
        '<p class="lead">Use <strong>Authorize</strong> to paste a bearer token, or use the '
        "oauth2 client-credentials flow with a client id and secret; then expand an "
        "operation and choose <strong>Try it out</strong>.</p>"
        '<noscript><p>The interactive reference needs JavaScript. The '
        '<a href="/portal/catalog">catalog</a> lists every operation without it.</p></noscript>'
        "</section>"
        f'<div id="swagger-ui" data-spec-url="{esc(spec_url)}">'
        '<p class="muted">Loading the reference…</p></div>'
    )
    return layout(title, main, current="reference", head=head, wide=True, own_main=False,
                  scripts=(f"{vendor}/swagger-ui-bundle.js", f"{STATIC}/reference.js"))


def not_found_page(what: str) -> str:
    main = (f"<h1>Not found</h1><p>{esc(what)}</p>"
            '<p><a href="/portal">Back to the portal overview</a></p>')
    return layout("Not found", main, current="")
