"""Applications and their review (R-6.5): validation field by field, bounded input, audit.

Services flush and never commit: the request or CLI edge commits.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from app.audit import service as audit
from app.crypto.fields import blind_index
from app.db import utcnow
from app.extensions import db
from app.identity.datascope import DataScope
from app.identity.scope import scoped
from app.onboarding.models import KINDS, Application
from app.orgs.models import Region
from app.refdata.uscc import validate_uscc

LIMITS = {"name": 200, "contact_name": 50, "contact_phone": 20, "contact_email": 254,
          "intended_use": 2000}
PHONE = re.compile(r"^\+?[0-9][0-9\- ]{5,18}[0-9]$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
OPEN = ("submitted", "returned", "approved", "active", "suspended")  # block a new application


class ApplicationError(ValueError):
    """Bad input or a refused transition; `fields` maps the input name to a Chinese message."""

    def __init__(self, fields: dict[str, str], *, status: int = 422,
                 message: str | None = None) -> None:
        super().__init__(message or "；".join(fields.values()))
        self.fields, self.status = fields, status
        self.message = message or "数据校验失败：" + "、".join(fields)


def _text(data: dict[str, Any], key: str, label: str, errors: dict[str, str], *,
          minimum: int = 1) -> str:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        errors[key] = f"请填写{label}"
        return ""
    if not isinstance(value, str):
        errors[key] = f"{label}必须是文本"
        return ""
    value = value.strip()
    if len(value) > LIMITS[key]:
        errors[key] = f"{label}不能超过 {LIMITS[key]} 个字"
    elif len(value) < minimum:
        errors[key] = f"{label}至少 {minimum} 个字"
    return value


def region_of(uscc: str) -> str | None:
    """The registering authority's division (characters 3-8 of the USCC), or the nearest
    ancestor the reference table knows."""
    code = uscc[2:8]
    for candidate in (code, code[:4] + "00", code[:2] + "0000"):
        if db.session.get(Region, candidate) is not None:
            return candidate
    return None


def validate(data: dict[str, Any]) -> dict[str, str]:
    """The cleaned application, or ApplicationError naming every bad field."""
    if not isinstance(data, dict):
        raise ApplicationError({"body": "请求体必须是 JSON 对象"}, status=400)
    errors: dict[str, str] = {}
    kind = data.get("kind")
    if not kind:
        errors["kind"] = "请选择机构类型"
    elif kind not in KINDS:
        errors["kind"] = "机构类型只能是科研机构、交易所、公共机构或银行"
    out = {"kind": kind or "",
           "name": _text(data, "name", "机构名称", errors, minimum=2),
           "contact_name": _text(data, "contact_name", "联系人姓名", errors),
           "contact_phone": _text(data, "contact_phone", "联系电话", errors),
           "contact_email": _text(data, "contact_email", "联系邮箱", errors).lower(),
           "intended_use": _text(data, "intended_use", "平台用途说明", errors, minimum=10)}
    if "contact_phone" not in errors and not PHONE.match(out["contact_phone"]):
        errors["contact_phone"] = "联系电话格式不正确"
    if "contact_email" not in errors:
        try:  # the login form's own check: the address must be one it will accept
            out["contact_email"] = current_app.extensions["security"]._mail_util.normalize(
                out["contact_email"]) if EMAIL.match(out["contact_email"]) else ""
        except ValueError:
            out["contact_email"] = ""
        if not out["contact_email"]:
            errors["contact_email"] = "联系邮箱格式不正确"
    raw = data.get("uscc")
    if not isinstance(raw, str) or not raw.strip():
        errors["uscc"] = "请填写统一社会信用代码"
    else:
        try:
            out["uscc"] = validate_uscc(raw)
        except ValueError as exc:
            errors["uscc"] = str(exc)
        else:
            region = region_of(out["uscc"])
            if region is None:
                errors["uscc"] = "统一社会信用代码中的行政区划码无法识别"
            out["region_code"] = region or ""
    if errors:
        raise ApplicationError(errors)
    return out


def _rate_limited(source: str | None) -> bool:
    if not source:
        return False
    limit = int(current_app.config.get("CECP_ONBOARDING_RATE_PER_HOUR", 5))
    since = utcnow() - timedelta(hours=1)
    n = db.session.scalar(select(func.count(Application.id)).where(
        Application.source_bidx == source, Application.created_at >= since))
    return n >= limit


def create(*, data: dict[str, Any], source_ip: str | None) -> Application:
    """A public application: no account needed; bounded per source address and hour."""
    clean = validate(data)
    source = blind_index(source_ip, "onboarding-source") if source_ip else None
    if _rate_limited(source):
        raise ApplicationError({"source": "同一来源一小时内的申请次数已达上限，请稍后再试"},
                               status=429, message="申请过于频繁，请稍后再试")
    pending = db.session.scalar(select(Application).where(
        Application.uscc == clean["uscc"], Application.status.in_(OPEN)))
    if pending is not None:
        raise ApplicationError({"uscc": "该统一社会信用代码已有在审或已开通的申请"},
                               status=409)
    app_ = Application(kind=clean["kind"], name=clean["name"], uscc=clean["uscc"],
                       region_code=clean["region_code"], intended_use=clean["intended_use"],
                       status="submitted", source_bidx=source)
    app_.contact_name = clean["contact_name"]
    app_.contact_phone = clean["contact_phone"]
    app_.contact_email = clean["contact_email"]
    db.session.add(app_)
    db.session.flush()
    audit.record("onboarding.apply", object_type="onboarding_application", object_id=app_.id,
                 summary={"kind": app_.kind, "name": app_.name, "uscc": app_.uscc})
    from app.onboarding import flow  # its review runs as `institution_onboarding`

    flow.open_case(app_, user=None)
    return app_


def list_(*, scope: DataScope, status: str | None = None) -> list[Application]:
    stmt = scoped(select(Application), Application, scope).order_by(Application.id.desc())
    if status:
        stmt = stmt.where(Application.status == status)
    return list(db.session.scalars(stmt.limit(500)))


def get(*, uid: str, scope: DataScope) -> Application | None:
    return db.session.scalar(scoped(select(Application), Application, scope)
                             .where(Application.uid == uid))


def get_by_id(*, ident: int, scope: DataScope) -> Application | None:
    return db.session.scalar(scoped(select(Application), Application, scope)
                             .where(Application.id == ident))
