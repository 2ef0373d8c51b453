"""The /api/v1 surface: flask-smorest blueprints, one error convention, OpenAPI document."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from app.extensions import api

MESSAGES = {
    400: "请求格式不正确", 401: "需要登录或有效的令牌", 403: "没有权限执行此操作",
    404: "资源不存在或不在您的数据范围内", 405: "不支持的请求方法", 409: "数据冲突",
    413: "上传内容过大", 415: "不支持的内容类型", 422: "数据校验失败", 429: "请求过于频繁",
    500: "服务器内部错误，已记录，请稍后重试", 503: "服务暂不可用",
}


def error_body(status: int, message: str | None = None, code: str | None = None,
               fields: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code or str(status),
                            "message": message or MESSAGES.get(status, "错误")}
    if fields:
        body["fields"] = fields
    return {"error": body}


def _flatten(messages: Any) -> dict[str, Any]:
    """webargs nests errors by location (json/query/...); callers want field -> message."""
    out: dict[str, Any] = {}
    if isinstance(messages, dict):
        for loc, errs in messages.items():
            if loc in {"json", "query", "form", "files", "headers", "view_args"} \
                    and isinstance(errs, dict):
                out.update(errs)
            else:
                out[loc] = errs
    return out


def api_error(status: int, message: str, *, code: str | None = None,
              fields: dict[str, Any] | None = None):
    return jsonify(error_body(status, message, code, fields)), status


def handle_http_exception(error: HTTPException):
    status = error.code or 500
    if request.path.startswith("/api/") or request.path.startswith("/ws/"):
        data = getattr(error, "data", None) or {}
        fields = _flatten(data.get("messages")) if isinstance(data, dict) else None
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
