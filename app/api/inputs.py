"""Bad input never gives a 500: the shared pieces every /api/v1 endpoint relies on.

- `ApiErrorSchema`: the error shape the endpoints really return (`{"error": {"code",
  "message", "fields"}}`), documented as every operation's default response.
- `BoundedInteger`, `Text`: marshmallow fields for schemas (an integer within the column's
  range, a string without NUL bytes) so bad input is refused naming the field.
- `reject_nul`: before any view, a NUL byte in the query string or JSON body is a 422
  naming the field (PostgreSQL cannot store it in text; it is never a real value).
- `database_input_error`: the last line of defence. Input that reached the database and was
  refused there (integer out of range, a value the column type cannot hold) is a 422 naming
  the parameter, after the unit of work rolled back, never a 500.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy.exc import DataError, StatementError

from app.api import api_error

INT32 = (-(2**31), 2**31 - 1)
NUL_MESSAGE = "不能包含空字符 (NUL)"


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"description": "错误代码"})
    message = fields.String(required=True, metadata={"description": "中文说明"})
    fields_ = fields.Dict(data_key="fields", metadata={"description": "字段 -> 说明"})
    message_en = fields.String(metadata={"description": "English message, where one exists"})
    fields_en = fields.Dict(metadata={"description": "field -> English message"})


class ApiErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class BoundedInteger(fields.Integer):
    """An integer an INTEGER column can hold (or the given range)."""

    def __init__(self, *, minimum: int = INT32[0], maximum: int = INT32[1], **kwargs: Any):
        kwargs.setdefault("validate", validate.Range(min=minimum, max=maximum))
        super().__init__(strict=True, **kwargs)


class Text(fields.String):
    """A string without NUL bytes."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        out = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in out:
            raise ValidationError(NUL_MESSAGE)
        return out


def _nul_paths(value: Any, path: str) -> list[str]:
    if isinstance(value, str):
        return [path or "body"] if "\x00" in value else []
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            key = f"{path}.{k}" if path else str(k)
            out += [key] if "\x00" in str(k) else _nul_paths(v, key)
        return out
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _nul_paths(v, f"{path}.{i}")]
    return []


def reject_nul():
    if not request.path.startswith("/api/"):
        return None
    bad = [k for k, v in request.args.items(multi=True) if "\x00" in k or "\x00" in v]
    if request.is_json:
        body = request.get_json(silent=True)
        bad += _nul_paths(body, "")
    if bad:
        return api_error(422, f"{'、'.join(bad)}：{NUL_MESSAGE}", code="invalid",
                         fields={k: NUL_MESSAGE for k in bad})
    return None


def _offending(exc: StatementError) -> dict[str, str]:
    """Which bound parameters the database could not take (best effort: the integers out
    of range, else every parameter named in the message)."""
    params = exc.params if isinstance(exc.params, dict) else {}
    if isinstance(exc.params, (list, tuple)) and exc.params and isinstance(exc.params[0], dict):
        params = exc.params[0]
    text = str(getattr(exc, "orig", exc))
    out = {k.removeprefix("b_"): "超出取值范围" for k, v in params.items()
           if isinstance(v, int) and not isinstance(v, bool) and not INT32[0] <= v <= INT32[1]}
    if not out:
        out = {k.removeprefix("b_"): "取值无效" for k in params if f"{k}" in text}
    return out or {"body": "取值无效"}


def database_input_error(exc: StatementError):
    from app.extensions import db

    db.session.rollback()
    if not request.path.startswith("/api/"):
        raise exc
    fields_ = _offending(exc)
    return api_error(422, f"数据校验失败：{'、'.join(fields_)} 的取值数据库无法保存",
                     code="invalid", fields=fields_)


def init_app(app: Flask) -> None:
    app.before_request(reject_nul)
    app.register_error_handler(DataError, database_input_error)
    # a value the driver could not even bind (wrong Python type for the column)
    app.register_error_handler(StatementError, _statement_error)


def _statement_error(exc: StatementError):
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, DBAPIError) and not isinstance(exc, DataError):
        raise exc  # an operational or integrity problem, not the caller's input
    return database_input_error(exc)
