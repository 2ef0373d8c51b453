"""Flask-Admin's own templates still carry inline event handlers (`onclick=...`) and
`javascript:` links, which the Content-Security-Policy refuses (and the browser reports).
Admin pages are rewritten on the way out: the handler moves to `data-cecp-onclick`, which
`static/js/csp-shim.js` performs from a listener; `javascript:` links become inert."""

from __future__ import annotations

import re

from flask import Flask, Response, request

_HANDLER = re.compile(r"(<[^>]*?\s)on(click|change)=", re.IGNORECASE)
_JS_HREF = re.compile(r'href="javascript:[^"]*"', re.IGNORECASE)


def rewrite(html: str) -> str:
    previous = None
    while previous != html:  # one handler per pass and tag
        previous = html
        html = _HANDLER.sub(lambda m: f"{m.group(1)}data-cecp-on{m.group(2).lower()}=", html)
    return _JS_HREF.sub('href="#" data-cecp-noop="1"', html)


def _after(response: Response) -> Response:
    if (
        request.path.startswith("/admin")
        and response.mimetype == "text/html"
        and not response.direct_passthrough
        and not response.is_streamed
    ):
        response.set_data(rewrite(response.get_data(as_text=True)))
    return response


def init_app(app: Flask) -> None:
    app.after_request(_after)
