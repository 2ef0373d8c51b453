"""/api/v1 energy data: records (batch, transactional), energy types, factor library."""

from __future__ import annotations

from datetime import date

from flask_security import auth_required, current_user, permissions_accepted
from flask_smorest import Blueprint

from app.api import api_error
from app.api.pagination import SqlPage
from app.energy import records, service
from app.energy.schemas import (
    EnergyTypeOut,
    FactorOut,
    FactorQuery,
    RecordOut,
    RecordQuery,
    RecordsIn,
    SupersedeIn,
)
from app.identity.scope import current_scope

blp = Blueprint("energy_api", __name__, url_prefix="/api/v1",
                description="能源数据与排放因子 Energy data and factors")


@blp.route("/energy-records", methods=["POST"])
@auth_required("token", "session")
@permissions_accepted("energy.write", "admin.access")
@blp.arguments(RecordsIn)
@blp.response(201, RecordOut(many=True))
def post_records(body):
    """Submit monthly records (batch). All records are validated first; if any field of
    any record is wrong nothing is written and the answer is 422 with `fields` such as
    `records.0.lines.1.unit`. A month already stored for the enterprise is an error."""
    try:
        return records.create_many(items=body["records"], scope=current_scope(), source="api",
                                   user_email=current_user.email)
    except records.RecordError as exc:
        return api_error(422, "数据校验失败，未写入任何记录", fields=exc.fields)


@blp.route("/energy-records", methods=["GET"])
@auth_required("token", "session")
@blp.arguments(RecordQuery, location="query", as_kwargs=True)
@blp.response(200, RecordOut(many=True))
@blp.paginate(SqlPage)
def list_records(uscc=None, year=None):
    """Monthly records within the caller's data scope."""
    return records.get_all(scope=current_scope(), uscc=uscc, year=year)


@blp.route("/energy-types")
@auth_required("token", "session")
@blp.response(200, EnergyTypeOut(many=True))
def energy_types():
    """Energy types with units and tce coefficients (GB/T 2589-2020)."""
    return service.get_energy_types()


@blp.route("/factors")
@auth_required("token", "session")
@blp.arguments(FactorQuery, location="query", as_kwargs=True)
@blp.response(200, FactorOut(many=True))
@blp.paginate(SqlPage)
def factors(kind=None, q=None, status="active"):
    """The factor library: value, unit, source, year, validity, status, version."""
    return service.get_all(kind=kind, q=q, status=status or None)


@blp.route("/factors/<string:code>/versions", methods=["GET"])
@auth_required("token", "session")
@blp.response(200, FactorOut(many=True))
def factor_versions(code):
    """Every version of one factor series, newest first."""
    rows = service.history(code=code)
    if not rows:
        return api_error(404, "因子不存在")
    return rows


@blp.route("/factors/<string:code>/versions", methods=["POST"])
@auth_required("token", "session")
@permissions_accepted("admin.access")
@blp.arguments(SupersedeIn)
@blp.response(201, FactorOut)
def supersede_factor(body, code):
    """Publish a new version of a factor, valid from `valid_from` to `valid_to` (default:
    the old version's validity); the old version is kept (superseded, still pricing the
    months before `valid_from`). A background job recomputes the open accounts of the
    months the new version applies to; published / verified months are not rewritten."""
    fields: dict[str, str] = {}
    values = {}
    for key in ("valid_from", "valid_to"):
        raw = body.get(key)
        if raw in (None, ""):
            continue
        try:
            values[key] = date.fromisoformat(str(raw))
        except ValueError:
            fields[key] = "日期格式应为 YYYY-MM-DD"
    for key in ("value", "ncv", "carbon_content", "oxidation_rate"):
        raw = body.get(key)
        if raw is None or raw == "":
            continue
        values[key] = records.parse_decimal(raw, key, fields, "数值", positive=True)
    if fields:
        return api_error(422, "数据校验失败", fields=fields)
    try:
        return service.supersede(code=code, source=str(body.get("source") or ""),
                                 reason=str(body.get("reason") or ""),
                                 user_email=current_user.email, **values)
    except service.FactorError as exc:
        status = 404 if exc.field == "code" else 422
        return api_error(status, exc.message, fields={exc.field: exc.message})
