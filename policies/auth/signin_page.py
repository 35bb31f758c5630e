"""The built-in issuer's pages: the sign-in form and its error page.

Self-contained (no script, no external asset; the style sheet is inline and allowed
by its hash), labelled for screen readers, usable at any width. Every dynamic value
is escaped.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from urllib.parse import urlsplit

STYLE = (
    ":root{color-scheme:light;--ink:#1c2430;--muted:#4d5866;--line:#c5ccd6;--brand:#1f4e8c;"
    "--bad:#a12622}"
    "*{box-sizing:border-box}"
    "body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "color:var(--ink);background:#eef1f5}"
    "main{max-width:26rem;margin:8vh auto;padding:2rem;background:#fff;"
    "border:1px solid var(--line);border-radius:8px}"
    "h1{font-size:1.4rem;margin:0 0 .25rem}"
    "p{margin:.5rem 0}.muted{color:var(--muted)}"
    "label{display:block;font-weight:600;margin:1rem 0 .25rem}"
    "input{width:100%;font:inherit;padding:.55rem .6rem;border:1px solid #7a8594;"
    "border-radius:4px}"
    "input:focus,button:focus,a:focus{outline:3px solid #f2b01e;outline-offset:2px}"
    "input[aria-invalid=true]{border-color:var(--bad)}"
    "button{margin-top:1.5rem;width:100%;font:inherit;font-weight:600;padding:.6rem;"
    "color:#fff;background:var(--brand);border:0;border-radius:4px;cursor:pointer}"
    "button:hover{background:#173b6b}"
    ".error{color:var(--bad);border-left:4px solid var(--bad);padding:.25rem .75rem;"
    "background:#fbeeee}"
    "a{color:var(--brand)}"
)
STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()


def security_headers(*form_targets: str) -> dict[str, str]:
    """No script, nothing from elsewhere, no framing; the form may post here and the
    redirect after it may go to the relying party's origin (Chromium applies
    form-action to the redirect too)."""
    origins = sorted({_origin(target) for target in form_targets if _origin(target)})
    actions = " ".join(["'self'", *origins])
    return {
        "content-security-policy": (
            f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; form-action {actions}; "
            "frame-ancestors 'none'; base-uri 'none'"
        ),
        "x-content-type-options": "nosniff",
        "referrer-policy": "same-origin",  # no-referrer would make the post's Origin null
        "cache-control": "no-store",
        "x-frame-options": "DENY",
    }


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def page(title: str, body: str, head: str = "") -> str:
    """A whole page around ``body`` (HTML); ``head`` is added to the head as it is."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · Q2C Gateway</title><style>{STYLE}</style>{head}</head>"
        f"<body><main>{body}</main></body></html>"
    )


def sign_in_page(*, action: str, fields: dict[str, str], client: str, error: str = "",
                 username: str = "") -> str:
    """The form; ``fields`` (the authorization request) travel as hidden inputs."""
    hidden = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in fields.items()
    )
    described = ' aria-describedby="signin-error" aria-invalid="true"' if error else ""
    alert = (f'<p id="signin-error" class="error" role="alert">{escape(error)}</p>'
             if error else "")
    body = (
        "<h1>Sign in</h1>"
        f'<p class="muted">to continue to {escape(client)}</p>{alert}'
        f'<form method="post" action="{escape(action)}" novalidate>{hidden}'
        '<label for="username">Username</label>'
        f'<input id="username" name="username" type="text" value="{escape(username)}" '
        'autocomplete="username" autocapitalize="none" spellcheck="false" required '
        f'autofocus maxlength="64"{described}>'
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password" '
        f'autocomplete="current-password" required maxlength="1024"{described}>'
        '<button type="submit">Sign in</button></form>'
    )
    return page("Sign in", body)


def message_page(title: str, message: str) -> str:
    return page(title, f"<h1>{escape(title)}</h1><p>{escape(message)}</p>")
