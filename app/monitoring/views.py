"""Monitoring pages (thin): each calls `service.build` and renders the generic template;
the exports reuse the very same datasets."""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_security import current_user
from sqlalchemy import select

from app.extensions import db
from app.i18n import Msg, Named, translate, translate_tree
from app.identity.scope import current_scope, scoped
from app.monitoring import countries, export, filters, service
from app.monitoring.datasets import jsonable
from app.orgs.models import Region

bp = Blueprint("monitoring", __name__)

TITLES = {"region": "区域监测", "industry": "行业监测", "enterprise": "企业监测",
          "institution": "公共机构监测", "public_institution": "公共机构减排公示",
          "countries": "主要国家 CO2 排放对比"}
ENDPOINTS = {"region": "monitoring.region", "industry": "monitoring.industry",
             "enterprise": "monitoring.enterprises", "institution": "monitoring.institutions",
             "public_institution": "monitoring.public_institutions",
             "countries": "monitoring.countries"}


def _require(view: str) -> None:
    """Scoped views need login and a monitoring (or, for one's own enterprise, enterprise)
    permission; the public views need nothing."""
    if view in service.PUBLIC_VIEWS:
        return
    if not current_user.is_authenticated:
        abort(redirect(url_for("security.login", next=request.full_path)))
    if view == "institution":
        perms = ("monitor.read",)
    else:
        perms = ("monitor.read", "enterprise.read")
    if not any(current_user.has_permission(p) for p in perms):
        abort(403)


def _scope():
    return current_scope()


def _regions() -> list[Region]:
    """Regions the caller may pick: everything in scope (provinces, cities, counties)."""
    scope = _scope()
    stmt = select(Region).order_by(Region.code)
    if not scope.all:
        stmt = scoped(stmt, Region, scope)
    return list(db.session.scalars(stmt))


def _render(view: str):
    _require(view)
    scope = _scope()
    try:
        out = service.build(view, request.args, scope)
    except filters.FilterError as exc:
        flash(translate(Msg("筛选条件有误（%(field)s）：%(message)s", field=exc.field,
                            message=exc.message)), "error")
        out = service.build(view, {}, scope)
    except KeyError:
        abort(404)
    data = {"view": view, "datasets": [d.to_dict() for d in out["datasets"]],
            "labels": {"save": "保存图片", "empty": "暂无数据"}}
    f = out.get("filters")
    args = f.args() if isinstance(f, filters.Filters) else {k: v for k, v in (f or {}).items()
                                                            if v not in (None, "")}
    ctx = {"view": view, "title": TITLES[view], "out": out, "f": f, "args": args,
           "data_json": json.dumps(translate_tree(data), ensure_ascii=False, default=jsonable)
           .replace("</", "<\\/"),
           "endpoint": ENDPOINTS[view],
           "summary": out.get("summary")}
    ctx["args_no_region"] = {k: v for k, v in args.items() if k != "region"}
    if view in service.SCOPED_VIEWS:
        levels = {"province": "", "city": "　", "county": "　　"}
        ctx.update(region_options=[(r.code, levels.get(r.level, "") + r.name)
                                   for r in _regions()],
                   month_options=[(m, Msg("%(month)s月", month=m)) for m in range(1, 13)],
                   energy_options=[(c, n) for c, n, _ in filters.energy_choices()],
                   sectors=filters.sector_names(), grains=filters.GRAINS,
                   measures=filters.MEASURES)
    else:
        ctx["year_options"] = [(y, Msg("%(year)s年", year=y)) for y in out.get("years") or []]
    if view == "countries":
        ctx["all_countries"] = [{"iso3": c.iso3, "name_zh": Named(c.name_zh, c.name_en)}
                                for c in countries.countries()]
    return render_template("monitoring/view.html", **ctx)


@bp.route("/monitoring/region")
def region():
    return _render("region")


@bp.route("/monitoring/industry")
def industry():
    return _render("industry")


@bp.route("/monitoring/enterprises")
def enterprises():
    return _render("enterprise")


@bp.route("/monitoring/institutions")
def institutions():
    return _render("institution")


@bp.route("/public-institutions")
def public_institutions():
    return _render("public_institution")


def countries_page():
    return _render("countries")


# the nav names this endpoint `monitoring.countries` (the module `countries` is imported)
bp.add_url_rule("/countries", endpoint="countries", view_func=countries_page)


@bp.route("/monitoring/export/<view>/<dataset_id>.<fmt>")
def export_dataset(view: str, dataset_id: str, fmt: str):
    """CSV / Excel of one chart's dataset with the page's filters; audited."""
    if view not in service.VIEWS or fmt not in export.FORMATS:
        abort(404)
    _require(view)
    try:
        out = service.build(view, request.args, _scope())
    except filters.FilterError as exc:
        abort(422, description=exc.message)
    ds = service.dataset(out, dataset_id)
    if ds is None:
        abort(404)
    context = {"视图": TITLES[view], "数据": out.get("freshness", {}).get("label", ""),
               "筛选": json.dumps(request.args.to_dict(), ensure_ascii=False),
               "链接": url_for(ENDPOINTS[view], **request.args.to_dict(), _external=True)}
    body, mimetype, name = export.render(ds, fmt, context=context)
    from app.audit.service import record as audit

    audit("monitoring.export", object_type="monitoring_dataset", object_id=f"{view}:{ds.id}",
          summary={"format": fmt, "rows": len(ds.rows), "filters": request.args.to_dict()})
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f"attachment; filename={name}"})
