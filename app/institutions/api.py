"""/api/v1/institutions: a public institution's monthly energy, inventory (scope 1 / 2),
target and disclosures; the government dashboard; /api/v1/public/institutions: the
published disclosures (no login). Thin: the rules are in the services."""

from __future__ import annotations

from flask import request
from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from app.api import api_error
from app.identity.scope import current_scope
from app.institutions import access, dashboard, disclosure, targets
from app.institutions import service as institutions
from app.institutions.inventory import as_json, inventory
from app.institutions.service import EntryError

blp = Blueprint("institutions_api", __name__, url_prefix="/api/v1",
                description="公共机构 Public institutions (6.5.3)")
MAX_BODY = 256 * 1024


def _missing():
    return api_error(404, "公共机构不存在或不在您的数据范围内", code="not_found")


def _invalid(exc: EntryError):
    return api_error(exc.status, "数据校验未通过：" + "；".join(exc.fields.values()),
                     code="invalid" if exc.status == 422 else "bad_request", fields=exc.fields)


def _body():
    if (request.content_length or 0) > MAX_BODY:
        raise EntryError({"body": f"请求体不能超过 {MAX_BODY // 1024} KB"}, status=413)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise EntryError({"body": "请求体必须是 JSON 对象"}, status=400)
    return data


def _year(default: int | None = None) -> int | None:
    raw = request.args.get("year")
    if raw is None or raw == "":
        return default
    try:
        y = int(raw)
    except ValueError:
        raise EntryError({"year": "年份必须是四位数字"}, status=400) from None
    if not 2000 <= y <= 2100:
        raise EntryError({"year": "年份应在 2000 至 2100 之间"}, status=400)
    return y


def _summary(inst) -> dict:
    t = targets.get(institution=inst)
    return {"code": inst.code, "name": inst.name, "region": inst.region_code,
            "base_year": inst.base_year, "years": institutions.years(institution=inst),
            "target": None if t is None else as_json({
                "metric": t.metric, "basis": t.basis, "label": t.label,
                "base_year": t.base_year, "target_year": t.target_year,
                "reduction_pct": t.reduction_pct}),
            "profiles": [{"year": p.year, "persons": p.persons, "floor_area": str(p.floor_area)}
                         for p in sorted(targets.profiles(institution=inst).values(),
                                         key=lambda p: p.year)]}


@blp.route("/institutions", methods=["GET"])
@auth_required("token", "session")
def list_institutions():
    """Members: their own institution(s); government: those of its region."""
    if access.supervisor(current_user):
        items = institutions.get_all(scope=current_scope())
    elif current_user.has_permission("institution.energy"):
        items = institutions.own(scope=current_scope())
    else:
        items = []
    return {"items": [_summary(i) for i in items]}


@blp.route("/institutions/<string:code>", methods=["GET"])
@auth_required("token", "session")
def get_institution(code: str):
    inst = access.readable(current_user, code)
    return _summary(inst) if inst else _missing()


@blp.route("/institutions/<string:code>/energy", methods=["POST"])
@auth_required("token", "session")
def post_energy(code: str):
    """{"year", "month", "lines": [{"item", "flow": "consumed"|"purchased", "amount",
    "unit", ...}]} or {"months": [...]}: the same line rules as enterprise records. All or
    nothing; 422 names every bad field."""
    inst = access.readable(current_user, code)
    if inst is None:
        return _missing()
    if not access.writable(current_user, inst):
        return api_error(403, "只有本公共机构的成员可以填报能耗数据", code="forbidden")
    try:
        body = _body()
        if "months" in body:
            periods = institutions.save_months(institution=inst, items=body["months"],
                                               source="api", user=current_user)
        else:
            periods = institutions.save_months(institution=inst, items=[body], source="api",
                                               user=current_user, label="")
    except EntryError as exc:
        return _invalid(exc)
    return {"saved": [f"{y}-{m:02d}" for y, m in periods]}, 201


@blp.route("/institutions/<string:code>/inventory", methods=["GET"])
@auth_required("token", "session")
def get_inventory(code: str):
    """Scope 1 / scope 2 / total (tCO2) and energy (tce) per month and year, each line with
    its factor (source) and formula."""
    inst = access.readable(current_user, code)
    if inst is None:
        return _missing()
    try:
        years = institutions.years(institution=inst)
        year = _year(years[-1] if years else None)
    except EntryError as exc:
        return _invalid(exc)
    if year is None:
        return {"institution": inst.code, "year": None, "months": []}
    return as_json(inventory(institution=inst, year=year))


@blp.route("/institutions/<string:code>/target", methods=["GET"])
@auth_required("token", "session")
def get_target(code: str):
    inst = access.readable(current_user, code)
    if inst is None:
        return _missing()
    t = targets.get(institution=inst)
    return as_json({"target": _summary(inst)["target"],
                    "progress": targets.progress(institution=inst, target=t),
                    "labels": targets.STATUS_LABELS})


@blp.route("/institutions/<string:code>/target", methods=["PUT", "POST"])
@auth_required("token", "session")
def put_target(code: str):
    """{"metric": "co2"|"energy", "basis": "total"|"per_capita"|"per_area", "base_year",
    "target_year", "reduction_pct"}."""
    inst = access.readable(current_user, code)
    if inst is None:
        return _missing()
    if not access.writable(current_user, inst):
        return api_error(403, "只有本公共机构的成员可以设定目标", code="forbidden")
    try:
        targets.set_target(institution=inst, data=_body(), user=current_user)
    except EntryError as exc:
        return _invalid(exc)
    return get_target(code)


@blp.route("/institutions/<string:code>/profiles/<int:year>", methods=["PUT", "POST"])
@auth_required("token", "session")
def put_profile(code: str, year: int):
    """{"persons": people (用能人数), "floor_area": m² (建筑面积)} of one year: the
    denominators of per-person and per-m² targets."""
    inst = access.readable(current_user, code)
    if inst is None:
        return _missing()
    if not access.writable(current_user, inst):
        return api_error(403, "只有本公共机构的成员可以填报", code="forbidden")
    try:
        targets.set_profile(institution=inst, year=year, data=_body(), user=current_user)
    except EntryError as exc:
        return _invalid(exc)
    return _summary(inst)


@blp.route("/institutions/<string:code>/disclosures", methods=["GET"])
@auth_required("token", "session")
def list_disclosures(code: str):
    inst = access.readable(current_user, code)
    if inst is None:
        return _missing()
    return {"items": [_disclosure(d) for d in disclosure.get_all(institution=inst)]}


def _disclosure(d, figures: bool = False) -> dict:
    out = {"year": d.year, "status": d.status, "status_label": d.status_label,
           "case_id": d.case_id, "comment": d.comment,
           "submitted_at": d.submitted_at.isoformat() if d.submitted_at else None,
           "published_at": d.published_at.isoformat() if d.published_at else None}
    if figures:
        out["figures"] = d.figures
    return out


@blp.route("/institutions/<string:code>/disclosures", methods=["POST"])
@auth_required("token", "session")
def start_disclosure(code: str):
    """{"year"}: starts the disclosure process (a government reviewer of the region
    approves it in the inbox)."""
    from app.workflow import service as workflow
    from app.workflow.errors import WorkflowError

    inst = access.readable(current_user, code)
    if inst is None:
        return _missing()
    if not access.writable(current_user, inst):
        return api_error(403, "只有本公共机构的成员可以申请公示", code="forbidden")
    try:
        body = _body()
        case = workflow.start(model=disclosure.PROCESS,
                              data={"institution": inst.code, "year": body.get("year")},
                              user=current_user)
    except EntryError as exc:
        return _invalid(exc)
    except WorkflowError as exc:
        return api_error(exc.status, exc.message, code=exc.code,
                         fields=getattr(exc, "fields", None))
    return {"case_id": case.id, "status": "submitted"}, 201


@blp.route("/institutions/dashboard", methods=["GET"])
@auth_required("token", "session")
def get_dashboard():
    if not access.supervisor(current_user):
        return api_error(403, "只有政府主管部门可以查看公共机构监管看板", code="forbidden")
    try:
        year = _year()
    except EntryError as exc:
        return _invalid(exc)
    return as_json(dashboard.build(scope=current_scope(), year=year))


@blp.route("/public/institutions/<string:code>/disclosures", methods=["GET"])
def public_disclosures(code: str):
    """No login: the published years of one institution (404 when none)."""
    inst, rows = disclosure.published(code=code)
    if inst is None:
        return api_error(404, "该公共机构没有已公示的数据", code="not_found")
    return {"institution": {"code": inst.code, "name": inst.name},
            "items": [_disclosure(d, figures=True) for d in rows]}
