"""The /api/v1 error convention: {"error": {"code", "message", "fields"}} with a 4xx status."""

from __future__ import annotations

from typing import Any

from flask import jsonify

CSRF_MESSAGE = "安全令牌 (CSRF) 缺失或已过期，请刷新页面后重试"

MESSAGES = {
    400: "请求格式不正确", 401: "需要登录或有效的令牌", 403: "没有权限执行此操作",
    404: "资源不存在或不在您的数据范围内", 405: "不支持的请求方法", 409: "数据冲突",
    413: "上传内容过大", 415: "不支持的内容类型", 422: "数据校验失败", 429: "请求过于频繁",
    500: "服务器内部错误，已记录，请稍后重试", 503: "服务暂不可用",
}


def error_body(status: int, message: str | None = None, code: str | None = None,
               fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Chinese message (and per-field messages) as the platform states them, plus
    `message_en` / `fields_en` where the English catalogue has the text: a client shows the
    one its user reads, keyed by the stable `code`."""
    message = message or MESSAGES.get(status, "错误")
    body: dict[str, Any] = {"code": code or str(status), "message": str(message)}
    english = _english(message)
    if english:
        body["message_en"] = english
    if fields:
        body["fields"] = fields
        fields_en = {k: _english(v) for k, v in fields.items() if isinstance(v, str)}
        if any(fields_en.values()):
            body["fields_en"] = {k: v or fields[k] for k, v in fields_en.items()}
    return {"error": body}


def _english(text: Any) -> str | None:
    """`text` in English when the catalogue knows it (a msgid, a Msg, a KNOWN pattern)."""
    from flask import has_request_context

    if not isinstance(text, str) or not has_request_context():
        return None
    from flask_babel import force_locale

    from app.i18n import translate

    with force_locale("en"):
        out = translate(text)
    return str(out) if out != text and str(out) != str(text) else None


def flatten_messages(messages: Any) -> dict[str, Any]:
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
