"""Enterprise master data from outside (R-9.2d: bulk files, API, `cecp import enterprises`):
validate one row with field-level Chinese messages, then create or update by the natural
key (统一社会信用代码), so importing the same file twice changes nothing.

Scope: a new enterprise must lie in a region the caller covers; an existing one must be
visible to the caller (else the row is refused with the same message as an unknown one).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.audit.service import record as audit
from app.extensions import db
from app.identity.scope import DataScope, get_scoped
from app.orgs.models import Enterprise, Industry, Region

FIELDS = ("uscc", "name", "region_code", "industry_code", "scale", "key_emitter", "address")
SCALES = ("规上", "规下")
YES = {"是", "y", "yes", "true", "1", "重点"}
NO = {"否", "n", "no", "false", "0", ""}
LIMITS = {"name": 200, "address": 300}


def _text(raw: Any) -> str:
    return "" if raw is None else str(raw).strip()


def validate(data: dict, *, scope: DataScope) -> tuple[dict | None, dict[str, str]]:
    """One row -> (clean values, {}) or (None, {field: message})."""
    from app.refdata.uscc import validate_uscc

    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for key, limit in LIMITS.items():
        value = _text(data.get(key))
        if "\x00" in value:
            errors[key] = "不能包含空字符"
        elif len(value) > limit:
            errors[key] = f"不能超过 {limit} 个字符"
        clean[key] = value or None
    if not clean["name"] and "name" not in errors:
        errors["name"] = "请填写企业名称"
    try:
        clean["uscc"] = validate_uscc(_text(data.get("uscc")))
    except ValueError as exc:
        errors["uscc"] = str(exc)
    region = _text(data.get("region_code"))
    if not region:
        errors["region_code"] = "请填写行政区划代码（GB/T 2260，6 位）"
    elif db.session.get(Region, region) is None:
        errors["region_code"] = f"未知的行政区划代码“{region[:12]}”"
    clean["region_code"] = region
    industry = _text(data.get("industry_code"))
    if industry and db.session.get(Industry, industry) is None:
        errors["industry_code"] = f"未知的行业代码“{industry[:12]}”（GB/T 4754-2017）"
    clean["industry_code"] = industry or None
    scale = _text(data.get("scale"))
    if scale and scale not in SCALES:
        errors["scale"] = "企业规模须为“规上”或“规下”"
    clean["scale"] = scale or None
    flag = _text(data.get("key_emitter")).lower()
    if flag in YES:
        clean["key_emitter"] = True
    elif flag in NO:
        clean["key_emitter"] = False
    else:
        errors["key_emitter"] = "重点控排企业请填写“是”或“否”"
    if errors:
        return None, errors
    existing = db.session.scalar(select(Enterprise).where(Enterprise.uscc == clean["uscc"]))
    if existing is not None and get_scoped(Enterprise, existing.id, scope=scope) is None:
        return None, {"uscc": "该统一社会信用代码的企业已存在且不在您的数据范围内"}
    if not scope.covers_region(clean["region_code"]):
        return None, {"region_code": "该行政区划不在您的数据范围内"}
    clean["existing"] = existing
    return clean, {}


def upsert_many(rows: list[dict]) -> dict[str, int]:
    """Write validated rows (from `validate`); counts of created / updated / unchanged."""
    out = {"created": 0, "updated": 0, "unchanged": 0}
    changed: list[str] = []
    for row in rows:
        ent = row["existing"]
        values = {k: row[k] for k in FIELDS if k != "uscc"}
        if ent is None:
            db.session.add(Enterprise(uscc=row["uscc"], **values))
            out["created"] += 1
            changed.append(row["uscc"])
        elif any(getattr(ent, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(ent, k, v)
            out["updated"] += 1
            changed.append(row["uscc"])
        else:
            out["unchanged"] += 1
    db.session.flush()
    if changed:
        audit(
            "enterprise.import",
            object_type="enterprise",
            object_id=changed[0] if len(changed) == 1 else None,
            summary={**out, "uscc": changed[:100]},
        )
    return out
