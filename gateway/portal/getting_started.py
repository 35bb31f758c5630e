"""Getting started: register a sandbox application, get a token, make a first call.

In sandbox mode (self-service on) the page registers applications whose secrets
are shown once and stored only as scrypt hashes in the client registry; the
token and first-call steps run in the browser (portal.js) against the gateway's
own token endpoint and API. In production mode the page says how credentials are
obtained instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gateway.portal.documents import Operation
from gateway.portal.html import STATIC, code_block, esc, layout, notice, table
from policies.auth.registry import RegisteredClient
from policies.auth.scopes import SCOPE_DESCRIPTIONS

_NAME = re.compile(r"^[\w .,:()'&/+-]{1,80}$")
MAX_FORM_BYTES = 16_384


@dataclass(frozen=True)
class Registration:
    """A validated registration form."""

    name: str
    scopes: tuple[str, ...]


@dataclass
class FormErrors:
    messages: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.messages)


def read_registration(form: dict[str, list[str]], allowed: tuple[str, ...]
                      ) -> tuple[Registration | None, FormErrors]:
    errors = FormErrors()
    names = form.get("name", [])
    name = names[0].strip() if len(names) == 1 else ""
    if not _NAME.fullmatch(name):
        errors.messages["name"] = (
            "Give the application a name of 1-80 letters, digits, spaces or . , : ( ) ' & / + -"
        )
    requested = tuple(dict.fromkeys(form.get("scope", [])))
    unknown = [s for s in requested if s not in allowed]
    if not requested:
        errors.messages["scope"] = "Choose at least one scope."
    elif unknown:
        errors.messages["scope"] = f"Not available in the sandbox: {', '.join(unknown)[:200]}"
    if errors:
        return None, errors
    return Registration(name=name, scopes=requested), errors


@dataclass(frozen=True)
class NewCredentials:
    client: RegisteredClient
    secret: str


@dataclass(frozen=True)
class GettingStarted:
    """Everything the page shows; the route fills it in."""

    self_service: bool
    base_url: str
    csrf: str
    allowed_scopes: tuple[str, ...]
    first_calls: tuple[Operation, ...]
    applications: tuple[RegisteredClient, ...] = ()
    credentials: NewCredentials | None = None
    errors: FormErrors = field(default_factory=FormErrors)
    form_name: str = ""
    form_scopes: tuple[str, ...] = ()
    message: str = ""
    message_tone: str = "info"
    credentials_help: str = ""
    credentials_url: str | None = None


def first_call_candidates(operations: list[Operation]) -> tuple[Operation, ...]:
    """GET collections a new client can call without knowing any id."""
    return tuple(
        op for op in operations
        if op.method == "GET" and "{" not in op.path and op.auth == "bearer"
        and any(p.name == "limit" for p in op.parameters)
    )


def page(view: GettingStarted) -> str:
    parts = ["<h1>Getting started</h1>"]
    if view.message:
        parts.append(notice(esc(view.message), view.message_tone))
    if view.self_service:
        parts.append(
            '<p class="lead">This gateway runs in sandbox mode: register an application, '
            "receive its client credentials, get an access token and make a first call, all "
            "from this page. Sandbox data is simulated; nothing reaches a real system.</p>"
        )
        parts.append(_step_register(view))
    else:
        parts.append(_production(view))
    parts.append(_step_token(view))
    parts.append(_step_call(view))
    if view.self_service:
        parts.append(_applications(view))
    return layout("Getting started", "".join(parts), current="getting-started",
                  scripts=(f"{STATIC}/portal.js",))


def _step_register(view: GettingStarted) -> str:
    if view.credentials is not None:
        return _credentials(view.credentials)
    errors = view.errors.messages
    summary = ""
    if errors:
        items = "".join(
            f'<li><a href="#{esc("app-name" if key == "name" else "scopes")}">{esc(text)}</a>'
            "</li>" for key, text in errors.items()
        )
        summary = notice(f"<p>The application was not registered:</p><ul>{items}</ul>", "error")
    chosen = set(view.form_scopes) or {
        s for s in view.allowed_scopes if s.endswith(":read") and not s.startswith("ops:")
    }
    boxes = "".join(
        f'<li><input type="checkbox" name="scope" value="{esc(s)}" id="scope-{esc(s)}"'
        + (" checked" if s in chosen else "")
        + f'> <label for="scope-{esc(s)}"><code>{esc(s)}</code> '
        f"{esc(SCOPE_DESCRIPTIONS.get(s, ''))}</label></li>"
        for s in view.allowed_scopes
    )
    name_error = errors.get("name")
    scope_error = errors.get("scope")
    return (
        '<section aria-labelledby="step-register"><h2 id="step-register">1. Register an '
        "application</h2>" + summary +
        '<form method="post" action="/portal/apps" class="stack" id="register-form">'
        f'<input type="hidden" name="csrf_token" value="{esc(view.csrf)}">'
        '<div class="field"><label for="app-name">Application name</label>'
        f'<input id="app-name" name="name" required maxlength="80" autocomplete="off" '
        f'value="{esc(view.form_name)}"'
        + (' aria-invalid="true" aria-describedby="app-name-error"' if name_error else "")
        + ">"
        + (f'<p class="field-error" id="app-name-error">{esc(name_error)}</p>'
           if name_error else "")
        + "</div>"
        '<fieldset id="scopes"'
        + (' aria-describedby="scopes-error"' if scope_error else "")
        + "><legend>Scopes the application may request</legend>"
        + (f'<p class="field-error" id="scopes-error">{esc(scope_error)}</p>'
           if scope_error else "")
        + f'<ul class="checks">{boxes}</ul></fieldset>'
        '<button type="submit" id="register">Register application</button>'
        "</form></section>"
    )


def _credentials(new: NewCredentials) -> str:
    client = new.client
    return (
        '<section aria-labelledby="step-register"><h2 id="step-register">1. Your '
        "application's credentials</h2>"
        + notice(
            "Copy the client secret now: it is shown only once and stored only as a hash. "
            "Lost it? Revoke the application and register a new one.",
            "warn",
        )
        + '<dl class="facts credentials" id="credentials" '
        f'data-client-id="{esc(client.client_id)}" data-client-secret="{esc(new.secret)}">'
        f"<dt>Application</dt><dd>{esc(client.name)}</dd>"
        f'<dt>Client id</dt><dd><code id="new-client-id">{esc(client.client_id)}</code></dd>'
        f'<dt>Client secret</dt><dd><code id="new-client-secret">{esc(new.secret)}</code></dd>'
        f"<dt>Scopes</dt><dd>{' '.join(f'<code>{esc(s)}</code>' for s in client.scopes)}</dd>"
        f"<dt>Tenant</dt><dd><code>{esc(client.tenant)}</code></dd>"
        "</dl></section>"
    )


def _production(view: GettingStarted) -> str:
    link = ""
    if view.credentials_url:
        link = (f'<p><a href="{esc(view.credentials_url)}">Request credentials</a></p>')
    return (
        '<section aria-labelledby="step-credentials"><h2 id="step-credentials">1. Obtain '
        "credentials</h2>"
        f"<p>{esc(view.credentials_help)}</p>{link}"
        "<p>Self-service registration is available only on sandbox gateways.</p></section>"
    )


def _step_token(view: GettingStarted) -> str:
    shell = (
        f"curl -sS -u \"$CLIENT_ID:$CLIENT_SECRET\" -d grant_type=client_credentials \\\n"
        f"  {view.base_url}/oauth/token"
    )
    return (
        '<section aria-labelledby="step-token"><h2 id="step-token">2. Get an access token'
        "</h2><p>The token endpoint takes the client credentials grant (RFC 6749 §4.4) with "
        "HTTP Basic client authentication and answers with a bearer token.</p>"
        '<form id="token-form" class="stack">'
        '<div class="field"><label for="client-id">Client id</label>'
        '<input id="client-id" name="client_id" autocomplete="off" required></div>'
        '<div class="field"><label for="client-secret">Client secret</label>'
        '<input id="client-secret" name="client_secret" type="password" autocomplete="off" '
        "required></div>"
        '<div class="field"><label for="token-scope">Scopes (optional, space-separated; '
        "empty means all the client's scopes)</label>"
        '<input id="token-scope" name="scope" autocomplete="off"></div>'
        '<button type="submit" id="get-token">Get a token</button></form>'
        '<div id="token-result" class="result" role="status" aria-live="polite"></div>'
        + code_block(shell, language="shell", label="The same with curl")
        + "</section>"
    )


def _step_call(view: GettingStarted) -> str:
    options = "".join(
        f'<option value="{esc(op.path)}?limit=3"'
        + (" selected" if op.operation_id == "listProducts" else "")
        + f">GET {esc(op.path)}?limit=3 ({esc(', '.join(op.scopes))})</option>"
        for op in view.first_calls
    )
    return (
        '<section aria-labelledby="step-call"><h2 id="step-call">3. Make your first call'
        "</h2><p>Calls the gateway from this browser with the token from step 2.</p>"
        '<form id="call-form" class="stack">'
        '<div class="field"><label for="call-path">Operation</label>'
        f'<select id="call-path" name="path">{options}</select></div>'
        '<button type="submit" id="make-call" disabled>Make the call</button></form>'
        '<div id="call-result" class="result" role="status" aria-live="polite"></div>'
        "<p>Next: the <a href=\"/portal/catalog\">catalog</a> lists every operation with "
        "copy-paste examples, and the <a href=\"/portal/reference\">reference</a> lets you "
        "try each one.</p></section>"
    )


def _applications(view: GettingStarted) -> str:
    if not view.applications:
        body = "<p>No applications registered from this browser yet.</p>"
    else:
        rows = []
        for client in view.applications:
            created = datetime.fromtimestamp(client.created_at, UTC).strftime("%Y-%m-%d %H:%M")
            rows.append((
                esc(client.name),
                f"<code>{esc(client.client_id)}</code>",
                " ".join(f"<code>{esc(s)}</code>" for s in client.scopes),
                esc(created) + " UTC",
                f'<form method="post" action="/portal/apps/{esc(client.client_id)}/revoke">'
                f'<input type="hidden" name="csrf_token" value="{esc(view.csrf)}">'
                f'<button type="submit" class="danger" '
                f'aria-label="Revoke {esc(client.name)} ({esc(client.client_id)})">Revoke'
                "</button></form>",
            ))
        body = table("Applications registered from this browser",
                     ("Name", "Client id", "Scopes", "Registered", "Action"), rows)
    return (
        '<section aria-labelledby="apps"><h2 id="apps">Your applications</h2>'
        "<p>Revoking stops the token endpoint from issuing tokens to the application; "
        "tokens it already holds stay valid until they expire.</p>"
        f"{body}</section>"
    )
