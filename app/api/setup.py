"""The /api/v1 surface: flask-smorest blueprints, error handling, OpenAPI document."""

from __future__ import annotations

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from app.api import MESSAGES, api_error, flatten_messages
from app.extensions import api

CSRF_MESSAGE = "安全令牌 (CSRF) 缺失或已过期，请刷新页面后重试"


def handle_http_exception(error: HTTPException):
    """The platform's answer to an HTTP error; `Retry-After` (429, 503) is kept."""
    from flask import make_response

    response = make_response(_answer(error))
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        seconds = retry_after if isinstance(retry_after, int) else None
        response.headers["Retry-After"] = str(seconds if seconds is not None else retry_after)
    return response


def _answer(error: HTTPException):
    from flask_wtf.csrf import CSRFError

    status = error.code or 500
    if isinstance(error, CSRFError):
        from app.audit import refusals

        refusals.mark("csrf.refused")
        if request.path.startswith("/api/"):
            return api_error(400, CSRF_MESSAGE, code="csrf")
        return render_template("errors/error.html", status=status, message=CSRF_MESSAGE), 400
    if request.path.startswith("/api/") or request.path.startswith("/ws/"):
        data = getattr(error, "data", None) or {}
        fields = flatten_messages(data.get("messages")) if isinstance(data, dict) else None
        message = data.get("message") if isinstance(data, dict) else None
        if fields and not message:
            message = "数据校验失败：" + "、".join(sorted(fields))
        if not message and error.description and status not in MESSAGES:
            message = error.description
        return api_error(status, message or MESSAGES.get(status, "错误"),
                         code=data.get("code") if isinstance(data, dict) else None,
                         fields=fields)
    return render_template("errors/error.html", status=status,
                           message=MESSAGES.get(status, error.description)), status


def init_api(app: Flask) -> None:
    api.init_app(app)
    api.handle_http_exception = handle_http_exception  # type: ignore[method-assign]
    app.register_error_handler(HTTPException, handle_http_exception)
    api.spec.components.security_scheme(
        "token", {"type": "apiKey", "in": "header", "name": "Authentication-Token"})
    from app.api import auth
    from app.identity import api as identity_api
    from app.orgs import api as orgs_api
    from app.platform import api as platform_api

    for module in (platform_api, auth, identity_api, orgs_api):
        api.register_blueprint(module.blp)
