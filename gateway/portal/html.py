"""Small HTML building blocks for the portal's server-rendered pages.

Every dynamic value goes through ``esc``; the helpers take already-built HTML
fragments (``str``) and escape only the text arguments they are given.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import Any

STATIC = "/portal/static"
NAV = (
    ("home", "/portal", "Overview"),
    ("catalog", "/portal/catalog", "Catalog"),
    ("reference", "/portal/reference", "API reference"),
    ("getting-started", "/portal/getting-started", "Getting started"),
    ("problems", "/portal/problems", "Problem types"),
    ("changelog", "/portal/changelog", "Changelog"),
    ("deprecations", "/portal/deprecations", "Deprecations"),
)


def esc(value: object) -> str:
    return escape(str(value), quote=True)


def layout(title: str, main: str, *, current: str, head: str = "", scripts: tuple[str, ...] = (),
           wide: bool = False, own_main: bool = True) -> str:
    """A complete page: skip link, banner with navigation, main landmark, footer.

    ``own_main=False`` is for pages whose content brings its own main landmark (Swagger
    UI's operations): the skip link then targets a plain container.
    """
    links = []
    for key, href, label in NAV:
        attrs = ' aria-current="page"' if key == current else ""
        links.append(f'<li><a href="{href}"{attrs}>{esc(label)}</a></li>')
    script_tags = "".join(f'<script src="{esc(src)}" defer></script>' for src in scripts)
    main_class = "wide" if wide else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} · Q2C developer portal</title>"
        f'<link rel="icon" href="{STATIC}/favicon.svg" type="image/svg+xml">'
        f'<link rel="stylesheet" href="{STATIC}/portal.css">{head}{script_tags}</head>'
        '<body><a class="skip-link" href="#main">Skip to main content</a>'
        '<header class="site-header"><div class="bar">'
        '<a class="brand" href="/portal">Q2C <span>developer portal</span></a>'
        '<nav aria-label="Portal"><ul>' + "".join(links) + "</ul></nav></div></header>"
        + (f'<main id="main" tabindex="-1" class="{main_class}">{main}</main>' if own_main
           else f'<div id="main" tabindex="-1" class="content {main_class}">{main}</div>')
        + '<footer class="site-footer"><p>Q2C Gateway · served by the gateway itself, '
        'no external assets · <a href="/schema/openapi.json">OpenAPI (running)</a></p>'
        "</footer></body></html>"
    )


def badge(label: str, tone: str) -> str:
    return f'<span class="badge badge-{esc(tone)}">{esc(label)}</span>'


def method_badge(method: str) -> str:
    return f'<span class="method method-{esc(method.lower())}">{esc(method)}</span>'


def code_block(code: str, *, language: str, label: str) -> str:
    """A scrollable, keyboard-focusable code block with a copy button (portal.js)."""
    return (
        f'<figure class="code"><figcaption>{esc(label)}'
        f'<button type="button" class="copy" data-copy>Copy</button></figcaption>'
        f'<pre tabindex="0" aria-label="{esc(label)}"><code class="language-{esc(language)}">'
        f"{esc(code)}</code></pre></figure>"
    )


def json_block(value: Any, *, label: str) -> str:
    return code_block(json.dumps(value, indent=2, ensure_ascii=False), language="json",
                      label=label)


def table(caption: str, headers: tuple[str, ...], rows: Sequence[tuple[str, ...]],
          *, css: str = "") -> str:
    """A data table; ``rows`` hold HTML fragments (escape text before passing it)."""
    head = "".join(f'<th scope="col">{esc(h)}</th>' for h in headers)
    body = "".join(
        "<tr>" + f'<th scope="row">{row[0]}</th>' + "".join(f"<td>{cell}</td>" for cell in
                                                            row[1:]) + "</tr>"
        for row in rows
    )
    return (
        f'<div class="table-wrap" role="region" aria-label="{esc(caption)}" tabindex="0">'
        f'<table class="{esc(css)}"><caption>{esc(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def notice(text_html: str, tone: str = "info") -> str:
    role = "alert" if tone == "error" else "status"
    return f'<div class="notice notice-{esc(tone)}" role="{role}">{text_html}</div>'
