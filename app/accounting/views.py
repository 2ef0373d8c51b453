"""Pages: carbon account index and page, code QR image, public code verification,
benchmarks and potential."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_security import auth_required, current_user
from sqlalchemy import func, select

from app.accounting import account as acct
from app.accounting import codes, indicators, periods, service
from app.accounting.models import CarbonAccount, CarbonCode
from app.extensions import db
from app.identity.scope import DataScope, current_scope, get_scoped_or_404, scoped
from app.orgs.models import Enterprise

bp = Blueprint("accounting", __name__)

#: panels other domains add to the account page: fn(enterprise, year) -> {"title", "text",
#: "url", "link"} or None (e.g. analytics' year-end projection and planner)
ACCOUNT_PANELS: list = []


def _latest_year(enterprise_id: int | None = None) -> int:
    return service.latest_year(enterprise_id=enterprise_id)


@bp.route("/accounts")
@auth_required("session")
def account_index():
    scope = current_scope()
    if len(scope.enterprise) == 1 and not scope.all and not scope.region:
        return redirect(url_for("accounting.account", uscc=scope.enterprise[0]))
    q = (request.args.get("q") or "").strip()
    year = request.args.get("year", type=int) or _latest_year()
    stmt = scoped(select(Enterprise), Enterprise).order_by(Enterprise.name)
    if q:
        stmt = stmt.where(Enterprise.name.icontains(q, autoescape=True)
                          | Enterprise.uscc.icontains(q, autoescape=True))
    ents = list(db.session.scalars(stmt.limit(200)))
    codes_by_ent = {c.enterprise_id: c for c in db.session.scalars(select(CarbonCode).where(
        CarbonCode.enterprise_id.in_([e.id for e in ents]),
        CarbonCode.period_key == str(year), CarbonCode.is_current.is_(True),
        CarbonCode.scheme_id == codes.DEFAULT_SCHEMES[0]))} if ents else {}
    return render_template("accounting/index.html", enterprises=ents, codes=codes_by_ent,
                           year=year, q=q)


@bp.route("/accounts/<string:uscc>")
@auth_required("session")
def account(uscc: str):
    ent = get_scoped_or_404(Enterprise, uscc, by="uscc")
    year = request.args.get("year", type=int) or _latest_year(ent.id)
    month = request.args.get("month", type=int)
    if month is not None and not 1 <= month <= 12:
        month = None
    data = acct.build(enterprise=ent, year=year, month=month, with_token=True)
    monthly = list(db.session.scalars(service.get_all(scope=None, enterprise_id=ent.id,
                                                      year=year)))[::-1]
    history = codes.history(enterprise_id=ent.id)
    mine = db.session.get(CarbonCode, data["code"]["id"]) if data["code"] else None
    return render_template(
        "accounting/account.html", ent=ent, data=data, year=year, month=month,
        monthly=monthly, code_history=[c for c in history if c.period_type == "month"],
        year_codes=[c for c in history if c.period_type == "year"],
        position=acct.position(enterprise=ent, period_key=data["period"], code=mine),
        schemes=codes.schemes(),
        panels=[p for fn in ACCOUNT_PANELS if (p := fn(ent, year)) is not None])


@bp.route("/accounts/<string:uscc>/codes/<int:code_id>.png")
@auth_required("session")
def code_qr(uscc: str, code_id: int):
    ent = get_scoped_or_404(Enterprise, uscc, by="uscc")
    code = get_scoped_or_404(CarbonCode, code_id)
    if code.enterprise_id != ent.id:
        return Response(status=404)
    url = url_for("accounting.verify_code", token=codes.token_for(code), _external=True)
    return Response(codes.qr_png(url), mimetype="image/png",
                    headers={"Cache-Control": "private, max-age=300"})


@bp.route("/code/verify/<string:token>")
def verify_code(token: str):
    """Public page: what the QR code on a carbon efficiency code says, if we signed it."""
    try:
        payload, code = codes.verify_token(token)
    except ValueError:
        return render_template("accounting/verify.html", valid=False, code=None,
                               payload=None), 400
    return render_template("accounting/verify.html", valid=True, code=code, payload=payload,
                           schemes=codes.schemes())


@bp.route("/accounting/benchmarks")
@auth_required("session")
def benchmarks():
    raw = request.args.get("period") or str(_latest_year())
    try:
        p = periods.parse(raw)
    except ValueError:
        p = periods.parse(str(_latest_year()))
    scope = current_scope()
    rows = indicators.benchmarks(period=p, scope=scope, top=3,
                                 industry=request.args.get("industry") or None)
    groups = indicators.by_group(group="industry", period=p, scope=scope)
    return render_template("accounting/benchmarks.html", rows=rows, period=p,
                           industries=groups, settings=codes.settings())


def home_figures(scope: DataScope) -> list[dict]:
    """Home page: this year's CO2 and the share of graded enterprises in grade 1-2."""
    if scope.empty or not current_user.is_authenticated:
        return []
    year = _latest_year()
    p = periods.Period("year", year)
    s = indicators.summary(level="region", code=None, period=p, scope=scope)
    graded = db.session.execute(scoped(select(
        func.count(), func.count().filter(CarbonCode.grade <= 2)), CarbonCode, scope).where(
        CarbonCode.period_key == str(year), CarbonCode.is_current.is_(True),
        CarbonCode.graded.is_(True), CarbonCode.scheme_id == codes.DEFAULT_SCHEMES[0])).one()
    share = round(100 * graded[1] / graded[0], 1) if graded[0] else 0
    last = db.session.scalar(scoped(select(func.max(CarbonAccount.month)), CarbonAccount, scope)
                             .where(CarbonAccount.year == year)) or 12
    from flask_babel import gettext as _

    span = (_("%(y)s 年", y=year) if last == 12
            else _("%(y)s 年 1–%(m)s 月（未满全年）", y=year, m=last))
    return [
        {"label": _("%(span)s碳排放", span=span), "value": f"{(s['co2'] / 10000):,.2f}",
         "unit": "万吨CO2"},
        {"label": _("%(span)s综合能耗", span=span),
         "value": f"{(s['energy_tce'] / 10000):,.2f}", "unit": "万吨标准煤"},
        {"label": _("碳效一、二级企业占比"), "value": share, "unit": "％"},
    ]
