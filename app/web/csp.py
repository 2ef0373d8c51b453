"""A per-request nonce for inline scripts, so the Content-Security-Policy can forbid all others.

Templates write `<script nonce="{{ csp_nonce() }}">`; the header that names the nonce is set
by the security headers of the platform.
"""

from __future__ import annotations

import secrets

from flask import Flask, g


def nonce() -> str:
    """The request's nonce, made on first use (one per response)."""
    value = g.get("csp_nonce")
    if value is None:
        value = g.csp_nonce = secrets.token_urlsafe(18)
    return value


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = nonce
