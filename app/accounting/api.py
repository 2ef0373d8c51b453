"""/api/v1 accounting: calculate, carbon account, indicators, benchmarks, code verification."""

from __future__ import annotations

from datetime import date

from flask_security import auth_required, current_user, permissions_accepted
from flask_smorest import Blueprint

from app.accounting import account, calculator, codes, indicators, periods, service
from app.accounting.schemas import (
    AccountQuery,
    BenchmarkQuery,
    CalculateIn,
    CalculateOut,
    IndicatorQuery,
    RestateIn,
    plain,
)
from app.api import api_error
from app.identity.scope import current_scope, get_scoped_or_404
from app.orgs.models import Enterprise

blp = Blueprint("accounting_api", __name__, url_prefix="/api/v1",
                description="碳核算与碳效码 Carbon accounting and carbon efficiency code")


@blp.route("/accounting/calculate", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(CalculateIn)
@blp.response(200, CalculateOut)
def calculate(body):
    """GB/T 32150-2015 calculation for given activity data (nothing is stored).

    Each line gives `flow`, `item` (energy type or process code), `amount`, `unit` and
    optionally `factor` — `{"value": tCO2/unit}` or `{"ncv", "carbon_content",
    "oxidation_rate"}`; lines without a factor take the library's current version for
    `year` and `region`. The answer has the total, the totals by source and each line's
    derivation (inputs, factor id/version/source, formula)."""
    try:
        return calculator.calculate(body)
    except calculator.CalcError as exc:
        return api_error(422, "数据校验失败", fields=exc.fields)


@blp.route("/enterprises/<string:uscc>/carbon-account")
@auth_required("token", "session")
@blp.arguments(AccountQuery, location="query", as_kwargs=True)
@blp.response(200)
def carbon_account(uscc, year=None, month=None):
    """Emissions by energy type and source, intensity, 碳效值 K and grade, with the
    derivation (month) — only for an enterprise within the caller's scope (else 404)."""
    ent = get_scoped_or_404(Enterprise, uscc, by="uscc")
    year = year or service.latest_year(enterprise_id=ent.id)
    return plain(account.build(enterprise=ent, year=year, month=month, with_token=True))


@blp.route("/enterprises/<string:uscc>/carbon-account/<string:period>/restatements",
           methods=["POST"])
@auth_required("token", "session")
@permissions_accepted("admin.access")
@blp.arguments(RestateIn)
@blp.response(201)
def restate(body, uscc, period):
    """Restate a published or verified month (`period` = 2025-03): a new account version
    from the current record and factors, frozen as `published`, with the reason; the old
    version is kept (history, `restates_id`). Audited. 422 when the month is not frozen,
    has no account or no reason is given; 404 outside the caller's scope."""
    ent = get_scoped_or_404(Enterprise, uscc, by="uscc")
    try:
        p = periods.parse(period)
    except ValueError as exc:
        return api_error(422, str(exc), fields={"period": str(exc)})
    if p.type != "month":
        return api_error(422, "重述按月进行", fields={"period": "请填写月份，如 2025-03"})
    try:
        acc = service.restate(enterprise_id=ent.id, period=p.first,
                              reason=str(body.get("reason") or ""),
                              user_email=current_user.email)
    except service.AccountError as exc:
        return api_error(422, exc.message, fields={exc.field: exc.message})
    codes.issue(periods=[p.first])
    return plain(account.version_dict(acc))


@blp.route("/enterprises/<string:uscc>/carbon-codes")
@auth_required("token", "session")
@blp.response(200)
def carbon_codes(uscc):
    """Issued carbon efficiency codes (current version per period and scheme)."""
    ent = get_scoped_or_404(Enterprise, uscc, by="uscc")
    out = []
    for sid in codes.settings()["schemes"]:
        out += [account.code_dict(c) for c in codes.history(enterprise_id=ent.id,
                                                            scheme_id=sid)]
    return plain(out)


@blp.route("/accounting/indicators")
@auth_required("token", "session")
@blp.arguments(IndicatorQuery, location="query", as_kwargs=True)
@blp.response(200)
def indicator(level="region", code=None, period=None, series=None):
    """Energy (tce), energy per output, CO2, intensity for an enterprise (USCC), industry
    (GB/T 4754 prefix) or region (GB/T 2260) over a month, quarter, half-year or year,
    within the caller's scope. `series=month|quarter|half` returns the year's series."""
    try:
        p = periods.parse(period or str(date.today().year))
    except ValueError as exc:
        return api_error(422, str(exc), fields={"period": str(exc)})
    if level not in indicators.LEVELS:
        return api_error(422, "level 应为 enterprise、industry 或 region",
                         fields={"level": "取值无效"})
    scope = current_scope()
    if series:
        return plain(indicators.series(level=level, code=code, year=p.year,
                                       period_type=series, scope=scope))
    return plain(indicators.summary(level=level, code=code, period=p, scope=scope))


@blp.route("/accounting/benchmarks")
@auth_required("token", "session")
@blp.arguments(BenchmarkQuery, location="query", as_kwargs=True)
@blp.response(200)
def benchmark(period=None, industry=None, top=3):
    """Per industry: benchmark intensity, 标杆企业 (lowest intensity) and the reduction
    potential (CO2 above benchmark intensity × value added), largest first."""
    try:
        p = periods.parse(period or str(date.today().year - 1))
    except ValueError as exc:
        return api_error(422, str(exc), fields={"period": str(exc)})
    return plain(indicators.benchmarks(period=p, scope=current_scope(), top=top,
                                       industry=industry))


@blp.route("/codes/verify/<string:token>")
@blp.response(200)
def verify(token):
    """Public: check a carbon efficiency code's signed token (from its QR code)."""
    try:
        payload, code = codes.verify_token(token)
    except ValueError:
        return api_error(400, "签名无效：该碳效码不是本平台签发的", code="invalid_signature")
    return plain({"valid": True, "payload": payload,
                  "record": account.code_dict(code) if code else None,
                  "enterprise": code.enterprise.name if code else None})
