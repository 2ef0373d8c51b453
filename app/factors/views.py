"""Pages: the factor library (list, per-enterprise page with scatter, history, recompute,
override, retire). Regional pages live in `regional_views` on the same blueprint."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_security import auth_required, current_user
from sqlalchemy import select

from app.audit import service as audit
from app.extensions import db
from app.factors import checks, library
from app.factors.models import FLAGS, ORIGINS, ElectricityFactor
from app.identity.scope import current_scope, get_scoped_or_404, scoped
from app.orgs.models import Enterprise

bp = Blueprint("factors", __name__)
MANAGE = "factors.manage"


def require_manage(action: str, object_id: str) -> None:
    """Refusals are audited like changes."""
    if not current_user.has_permission(MANAGE):
        audit.record("factors.refused", object_type="electricity_factor", object_id=object_id,
                     summary={"action": action, "reason": f"缺少权限 {MANAGE}"})
        db.session.commit()
        abort(403)


@bp.route("/factors")
@auth_required("session")
def index():
    scope = current_scope()
    if len(scope.enterprise) == 1 and not scope.all and not scope.region:
        return redirect(url_for("factors.enterprise", uscc=scope.enterprise[0]))
    q = (request.args.get("q") or "").strip()
    stmt = scoped(select(Enterprise), Enterprise).order_by(Enterprise.name)
    if q:
        stmt = stmt.where(Enterprise.name.icontains(q, autoescape=True)
                          | Enterprise.uscc.icontains(q, autoescape=True))
    ents = list(db.session.scalars(stmt.limit(200)))
    current = {f.enterprise_id: f for f in db.session.scalars(select(ElectricityFactor).where(
        ElectricityFactor.is_current.is_(True),
        ElectricityFactor.enterprise_id.in_([e.id for e in ents])))} if ents else {}
    return render_template("factors/index.html", enterprises=ents, current=current, q=q,
                           flags=FLAGS, can_manage=current_user.has_permission(MANAGE))


@bp.route("/factors/enterprises/<string:uscc>")
@auth_required("session")
def enterprise(uscc: str):
    ent = get_scoped_or_404(Enterprise, uscc, by="uscc")
    cur = library.current(enterprise_id=ent.id)
    return render_template(
        "factors/enterprise.html", ent=ent, current=cur,
        current_dict=library.as_dict(cur) if cur else None,
        history=library.history(enterprise_id=ent.id), scatter=library.scatter(
            enterprise_id=ent.id), fallback=library.fallback(enterprise=ent),
        flags=FLAGS, origins=ORIGINS, can_manage=current_user.has_permission(MANAGE),
        checks=checks.for_enterprise(enterprise_id=ent.id), verify=checks.verify)


@bp.route("/factors/enterprises/<string:uscc>/check", methods=["POST"])
@auth_required("session")
def send_to_check(uscc: str):
    """Send the current factor to the third-party check (processes/factor_check)."""
    from app.workflow.errors import WorkflowError

    ent = get_scoped_or_404(Enterprise, uscc, by="uscc")
    require_manage("check", ent.uscc)
    if library.current(enterprise_id=ent.id) is None:
        flash(f"{ent.name} 没有现行电碳因子，无法提交核验", "danger")
        return redirect(url_for("factors.enterprise", uscc=ent.uscc))
    try:
        inst = checks.start_check(user=current_user, enterprise=ent,
                                  tolerance_pct=request.form.get("tolerance_pct"),
                                  body_code=(request.form.get("body_code") or "").strip())
    except WorkflowError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("factors.enterprise", uscc=ent.uscc))
    flash(f"已提交第三方核验：{inst.title}", "success")
    return redirect(url_for("workflow.instance_page", instance_id=inst.id))


@bp.route("/factors/enterprises/<string:uscc>/recompute", methods=["POST"])
@auth_required("session")
def recompute(uscc: str):
    ent = get_scoped_or_404(Enterprise, uscc, by="uscc")
    require_manage("recompute", ent.uscc)
    try:
        f = library.recompute_one(enterprise=ent, actor=current_user)
    except library.FactorError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        flash(f"已重新拟合：第 {f.version} 版，b = {f.slope} tCO2/MWh", "success")
    return redirect(url_for("factors.enterprise", uscc=ent.uscc))


@bp.route("/factors/enterprises/<string:uscc>/override", methods=["POST"])
@auth_required("session")
def override(uscc: str):
    ent = get_scoped_or_404(Enterprise, uscc, by="uscc")
    require_manage("override", ent.uscc)
    form = request.form
    try:
        f = library.override(enterprise=ent, slope=form.get("slope"),
                             intercept=form.get("intercept"), ci_low=form.get("ci_low"),
                             ci_high=form.get("ci_high"), reason=form.get("reason", ""),
                             origin=form.get("origin", "manual"), source=form.get("source"),
                             actor=current_user)
    except library.FactorError as exc:
        db.session.rollback()
        labels = {"slope": "因子值", "reason": "理由", "origin": "来源", "intercept": "截距",
                  "ci_low": "区间", "ci_high": "区间"}
        flash(f"{labels.get(exc.field, exc.field)}：{exc.message}", "danger")
        return redirect(url_for("factors.enterprise", uscc=ent.uscc)), 303
    flash(f"已设定第 {f.version} 版（{f.origin_label}）", "success")
    return redirect(url_for("factors.enterprise", uscc=ent.uscc))


@bp.route("/factors/enterprises/<string:uscc>/retire", methods=["POST"])
@auth_required("session")
def retire(uscc: str):
    ent = get_scoped_or_404(Enterprise, uscc, by="uscc")
    require_manage("retire", ent.uscc)
    try:
        f = library.retire(enterprise=ent, reason=request.form.get("reason", ""),
                           actor=current_user)
    except library.FactorError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        flash(f"已停用第 {f.version} 版；现按同行业参考值估算", "success")
    return redirect(url_for("factors.enterprise", uscc=ent.uscc))


from app.factors import regional_views  # noqa: E402,F401  (routes on the same blueprint)
