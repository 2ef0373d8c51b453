"""Security headers on every response, the request body limit, and no server banner.

- Content-Security-Policy: scripts only from this origin or inline with the request's nonce
  (`csp_nonce()` in templates); no framing (`frame-ancestors 'none'`), no plugins, forms
  post only here. Styles may be inline (charts and Bootstrap set `style=`).
- `X-Content-Type-Options: nosniff`, `Referrer-Policy`, `X-Frame-Options` for old browsers.
- `Cache-Control: no-store` on everything but static files: pages and API answers carry
  private data, and a shared or back-button cache must not keep them.
- The body limit (`MAX_CONTENT_LENGTH`) is checked on the announced length before any of the
  body is read; Werkzeug also stops a chunked body at the limit.
"""

from __future__ import annotations

from flask import Flask, Response, abort, current_app, g, request


def csp(nonce: str | None) -> str:
    script = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src {script}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def _limit_body():
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    length = request.content_length
    if limit and length is not None and length > limit:
        abort(413)
    return None


def _headers(response: Response) -> Response:
    h = response.headers
    h["Content-Security-Policy"] = csp(g.get("csp_nonce"))
    h["X-Content-Type-Options"] = "nosniff"
    h["X-Frame-Options"] = "DENY"
    h["Referrer-Policy"] = "same-origin"
    h["Cross-Origin-Opener-Policy"] = "same-origin"
    if request.endpoint != "static" and not request.path.startswith("/static/"):
        h["Cache-Control"] = "no-store"
        h.pop("Expires", None)
    h.pop("Server", None)
    return response


def hide_server_banner() -> None:
    """Neither the development server nor gunicorn names itself and its version."""
    from werkzeug.serving import WSGIRequestHandler

    WSGIRequestHandler.server_version = "cecp"
    WSGIRequestHandler.sys_version = ""
    WSGIRequestHandler.version_string = lambda self: "cecp"  # type: ignore[method-assign]
    try:
        import gunicorn.http.wsgi as gwsgi
    except ImportError:  # pragma: no cover - gunicorn is a dependency
        return
    gwsgi.SERVER = "cecp"


def init_app(app: Flask) -> None:
    hide_server_banner()
    app.before_request_funcs.setdefault(None, []).insert(0, _limit_body)
    app.after_request(_headers)
    hops = app.config.get("CECP_PROXY_HOPS", 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
