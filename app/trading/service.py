"""Reduction project registry (R-6.3): every read and write narrowed to the caller's scope."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select

from app.audit import service as audit
from app.extensions import db
from app.identity.datascope import DataScope
from app.identity.scope import get_scoped, scoped_select
from app.orgs.models import Enterprise, Region
from app.trading import methodologies
from app.trading.models import PROJECT_STATUSES, PROJECT_TYPES, Project


class ProjectInvalid(ValueError):
    def __init__(self, fields: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


def list(*, scope: DataScope) -> list[Project]:  # noqa: A001 - the project's vocabulary
    return db.session.scalars(scoped_select(Project, scope).order_by(Project.code)).all()


def get_by_code(*, code: str, scope: DataScope) -> Project | None:
    return get_scoped(Project, code, by="code", scope=scope)


def _date(data: dict, name: str, errors: dict) -> date | None:
    raw = data.get(name)
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        errors[name] = "日期格式应为 YYYY-MM-DD"
        return None


def create(*, data: dict[str, Any], scope: DataScope, user: Any = None) -> Project:
    """Register a project of an enterprise within the caller's scope."""
    errors: dict[str, str] = {}
    name = (data.get("name") or "").strip()
    if not name:
        errors["name"] = "必填"
    ptype = data.get("type")
    if ptype not in PROJECT_TYPES:
        errors["type"] = "取值应为 " + "、".join(PROJECT_TYPES)
    method = data.get("methodology")
    if methodologies.get(method or "") is None:
        errors["methodology"] = "未知的方法学"
    ent = get_scoped(Enterprise, data.get("enterprise") or "", by="uscc", scope=scope)
    if ent is None:
        errors["enterprise"] = "企业不存在或不在您的数据范围内"
    region = data.get("region") or (ent.region_code if ent else None)
    if region and db.session.get(Region, region) is None:
        errors["region"] = "未知的行政区划代码"
    elif region and not (scope.all or scope.enterprise or scope.covers_region(region)):
        errors["region"] = "行政区划不在您的数据范围内"
    capacity = None
    if data.get("capacity_mw") not in (None, ""):
        try:
            capacity = Decimal(str(data["capacity_mw"]))
            if not capacity.is_finite() or capacity < 0:
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            errors["capacity_mw"] = "必须是非负数（MW）"
    dates = {k: _date(data, k, errors) for k in ("commissioned_on", "grid_connected_on",
                                                  "crediting_start", "crediting_end")}
    if dates["crediting_start"] and dates["crediting_end"] \
            and dates["crediting_end"] <= dates["crediting_start"]:
        errors["crediting_end"] = "计入期结束日期必须晚于开始日期"
    status = data.get("status") or "registered"
    if status not in PROJECT_STATUSES:
        errors["status"] = "取值应为 " + "、".join(PROJECT_STATUSES)
    code = (data.get("code") or "").strip()
    if code and (len(code) > 32 or not code.replace("_", "").isalnum() or "-" in code):
        errors["code"] = "项目编号只能包含字母、数字和下划线（不超过 32 位）"
    if code and db.session.scalar(select(Project.id).where(Project.code == code)):
        errors["code"] = "项目编号已存在"
    if errors:
        raise ProjectInvalid(errors)
    if not code:
        n = db.session.scalar(select(func.count(Project.id))) + 1
        code = f"CN{region}{n:05d}"
    project = Project(code=code, name=name, type=ptype, enterprise_uscc=ent.uscc,
                      region_code=region, location=data.get("location"),
                      capacity_mw=capacity, methodology=method, status=status,
                      generation_meter=data.get("generation_meter"),
                      ongrid_meter=data.get("ongrid_meter"),
                      own_use_meter=data.get("own_use_meter"), **dates)
    db.session.add(project)
    db.session.flush()
    audit.record("trading.project.create", object_type="trading_project", object_id=project.id,
                 user=user, summary={"code": code, "name": name, "enterprise": ent.uscc,
                                     "type": ptype, "methodology": method})
    return project


def to_dict(p: Project) -> dict:
    return {"code": p.code, "name": p.name, "type": p.type, "type_label": PROJECT_TYPES[p.type],
            "enterprise": p.enterprise_uscc, "enterprise_name": p.enterprise.name,
            "region": p.region_code, "region_name": p.region.name, "location": p.location,
            "capacity_mw": str(p.capacity_mw) if p.capacity_mw is not None else None,
            "commissioned_on": p.commissioned_on, "grid_connected_on": p.grid_connected_on,
            "meters": {"generation": p.generation_meter, "ongrid": p.ongrid_meter,
                       "own_use": p.own_use_meter},
            "methodology": p.methodology, "crediting_start": p.crediting_start,
            "crediting_end": p.crediting_end, "status": p.status,
            "status_label": PROJECT_STATUSES[p.status]}
