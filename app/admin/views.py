"""Admin views. Every view checks `admin.access`; secrets never reach a form or a list."""

from __future__ import annotations

import csv
import io
from datetime import UTC
from typing import Any

from flask import Flask, Response, abort, redirect, request, url_for
from flask_admin import Admin, AdminIndexView, BaseView, expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.form import SecureForm
from flask_admin.theme import Bootstrap4Theme
from flask_security import current_user
from markupsafe import Markup
from wtforms import PasswordField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice

from app.admin.alerts import AlertsView
from app.admin.outbox import JobsView
from app.admin.sessions import SessionsView
from app.audit import service as audit
from app.audit.models import AuditRecord
from app.exports import safe_row
from app.extensions import db
from app.identity import service as accounts
from app.identity.models import Role, User
from app.identity.roles import ROLE_NAMES
from app.orgs.models import Enterprise, Institution, Region, VerificationBody
from app.web import filters as fmt
from app.web.csp import nonce as csp_nonce


def _fmt(fn):
    """A Flask-Admin column formatter from a one-argument filter."""
    return lambda view, context, model, name: fn(getattr(model, name))


def _roles(view, context, model, name) -> str:
    return "、".join(fmt.role_label(r.name) for r in model.roles) or "—"


def _tf(view, context, model, name) -> str:
    return "身份验证器 (TOTP)" if model.tf_primary_method == "authenticator" else (
        model.tf_primary_method or "未启用")


def _code_and_name(fn):
    def render(view, context, model, name):
        code = getattr(model, name)
        if not code:
            return ""
        return Markup('{} <span class="text-muted small">{}</span>').format(fn(code), code)
    return render


def _allowed() -> bool:
    return current_user.is_authenticated and current_user.has_permission("admin.access")


class GuardMixin:
    def is_accessible(self) -> bool:
        return _allowed()

    def inaccessible_callback(self, name: str, **kwargs: Any):
        if current_user.is_authenticated:
            abort(403)
        return redirect(url_for("security.login", next=request.url))


class SecureIndex(GuardMixin, AdminIndexView):
    pass


class AuditedModelView(GuardMixin, ModelView):
    form_base_class = SecureForm
    page_size = 50

    def after_model_change(self, form, model, is_created: bool) -> None:
        changed = {f.name: str(f.data)[:200] for f in form if f.name != "csrf_token"
                   and "password" not in f.name and f.object_data != f.data}
        audit.record("admin.create" if is_created else "admin.update",
                     object_type=model.__tablename__, object_id=getattr(model, "id", None)
                     or getattr(model, "code", None), summary={"changes": changed})
        db.session.commit()

    def on_model_delete(self, model) -> None:
        audit.record("admin.delete", object_type=model.__tablename__,
                     object_id=getattr(model, "id", None) or getattr(model, "code", None),
                     summary={"label": str(model)})


class UserView(AuditedModelView):
    can_delete = False  # soft delete only, through the action below
    column_list = ("email", "display_name", "user_class", "roles", "active", "deleted_at",
                   "last_login_at", "tf_primary_method")
    column_searchable_list = ("email", "display_name")
    column_filters = ("user_class", "active")
    column_labels = {"email": "邮箱", "display_name": "姓名", "user_class": "用户类别",
                     "roles": "角色", "active": "启用", "deleted_at": "删除时间",
                     "last_login_at": "最近登录（北京时间）", "tf_primary_method": "双因素认证",
                     "password": "密码", "locale": "语言"}
    column_formatters = {"roles": _roles, "user_class": _fmt(fmt.user_class_label),
                         "last_login_at": _fmt(fmt.bjtime), "deleted_at": _fmt(fmt.bjtime),
                         "tf_primary_method": _tf}
    form_columns = ("email", "display_name", "user_class", "active", "role_names", "scope_text",
                    "new_password")
    form_extra_fields = {
        "role_names": SelectMultipleField("角色", choices=[
            SelectChoice(n, fmt.role_label(n)) for n in sorted(ROLE_NAMES)]),
        "scope_text": StringField("数据范围 (kind:code，逗号分隔)"),
        "new_password": PasswordField("新密码 (留空不修改)"),
    }
    column_exclude_list = ("password", "fs_uniquifier", "tf_totp_secret", "us_totp_secrets",
                           "phone_enc", "id_number_enc", "mf_recovery_codes")

    def on_form_prefill(self, form, id) -> None:
        user = db.session.get(User, id)
        form.role_names.data = sorted(user.role_names)
        form.scope_text.data = ",".join(f"{s.kind}:{s.code}" for s in user.scopes)

    def on_model_change(self, form, model: User, is_created: bool) -> None:
        from flask_security import hash_password

        if form.new_password.data:
            accounts.check_password(form.new_password.data, email=model.email, user=model)
            model.password = hash_password(form.new_password.data)
        elif is_created:
            raise ValueError("新建账户必须设置密码")
        if is_created and not model.fs_uniquifier:
            import uuid

            model.fs_uniquifier = uuid.uuid4().hex
        db.session.flush()
        if form.new_password.data:
            from app.identity import password_policy

            password_policy.remember(model)
        accounts.set_roles(model, form.role_names.data or [])
        pairs = [p.split(":", 1) for p in (form.scope_text.data or "").split(",") if ":" in p]
        accounts.set_scopes(model, [(k.strip(), c.strip()) for k, c in pairs])

    from flask_admin.actions import action

    @action("soft_delete", "删除（停用并保留记录）", "确定删除所选账户？")
    def action_soft_delete(self, ids: list[str]) -> None:
        for uid in ids:
            user = db.session.get(User, int(uid))
            if user is not None and user.deleted_at is None:
                accounts.soft_delete(user)
        db.session.commit()


class RoleView(AuditedModelView):
    column_list = ("name", "label", "permissions")
    form_columns = ("name", "label", "description", "permissions")
    column_labels = {"name": "角色代码", "label": "名称", "permissions": "权限",
                     "description": "说明"}
    column_formatters = {"permissions": lambda v, c, m, n: "、".join(
        str(p) for p in (m.permissions or [])) or "—"}


class RegionView(AuditedModelView):
    column_list = ("code", "name", "level", "parent_code")
    column_searchable_list = ("code", "name")
    form_columns = ("code", "name", "name_en", "level", "parent_code")
    column_labels = {"code": "代码", "name": "名称", "name_en": "英文名称", "level": "级别",
                     "parent_code": "上级"}
    column_formatters = {"parent_code": _code_and_name(fmt.region_name),
                         "level": lambda v, c, m, n: {"province": "省级", "city": "地市级",
                                                      "county": "区县级"}.get(m.level, m.level)}


class EnterpriseView(AuditedModelView):
    column_list = ("uscc", "name", "region_code", "industry_code", "scale", "key_emitter")
    column_searchable_list = ("uscc", "name")
    column_filters = ("region_code", "industry_code", "key_emitter")
    form_columns = ("uscc", "name", "region_code", "industry_code", "scale", "key_emitter",
                    "address", "active")
    column_exclude_list = ("contact_name_enc", "contact_phone_enc", "legal_id_number_enc")
    column_labels = {"uscc": "统一社会信用代码", "name": "企业名称", "region_code": "地区",
                     "industry_code": "行业", "scale": "规模", "key_emitter": "重点控排",
                     "address": "地址", "active": "启用"}
    column_formatters = {"region_code": _code_and_name(fmt.region_name),
                         "industry_code": _code_and_name(fmt.industry_name)}


class InstitutionView(AuditedModelView):
    column_list = ("code", "name", "kind", "region_code", "base_year", "published")
    form_columns = ("code", "name", "kind", "region_code", "base_year", "published")
    column_labels = {"code": "代码", "name": "名称", "kind": "类型", "region_code": "地区",
                     "base_year": "基准年", "published": "公示"}
    column_formatters = {"region_code": _code_and_name(fmt.region_name)}


class VerificationBodyView(AuditedModelView):
    column_list = ("code", "name", "region_code", "accreditation")
    form_columns = ("code", "name", "region_code", "accreditation")
    column_labels = {"code": "代码", "name": "名称", "region_code": "地区",
                     "accreditation": "资质"}
    column_formatters = {"region_code": _code_and_name(fmt.region_name)}


class AuditView(GuardMixin, ModelView):
    """Read-only, searchable log; CSV export is itself audited."""

    can_create = can_edit = can_delete = False
    can_export = True
    export_types = ["csv"]
    page_size = 100
    column_default_sort = ("seq", True)
    column_list = ("seq", "ts", "user_email", "ip", "action", "object_type", "object_id",
                   "summary")
    column_searchable_list = ("user_email", "action", "object_type", "object_id")
    column_filters = ("user_email", "action", "object_type", "object_id", "ts")
    column_labels = {"seq": "序号", "ts": "时间（北京时间）", "user_email": "用户", "ip": "IP",
                     "action": "操作", "object_type": "对象类型", "object_id": "对象",
                     "summary": "摘要"}
    column_formatters = {
        "ts": lambda v, c, m, n: fmt.bjtime(m.ts, "%Y-%m-%d %H:%M:%S"),
        "user_email": lambda v, c, m, n: Markup('{}<div class="small text-muted">{}</div>')
        .format(fmt.user_name(m.user_email), m.user_email) if m.user_email else "系统",
        "action": lambda v, c, m, n: Markup('{}<div class="small text-muted">{}</div>')
        .format(fmt.audit_action(m.action), m.action),
        "summary": lambda v, c, m, n: fmt.summary_fields(m.summary),
        "object_type": lambda v, c, m, n: fmt.object_type_label(m.object_type)}
    column_formatters_export = {}

    def is_accessible(self) -> bool:
        return _allowed() and current_user.has_permission("audit.read")

    @expose("/export/<export_type>/")
    def export(self, export_type: str):
        audit.record("audit.export", object_type="audit_record",
                     summary={"args": request.args.to_dict()})
        db.session.commit()
        return super().export(export_type)


class AuditSearchView(GuardMixin, BaseView):
    """A plain search form over the log with a CSV download of exactly what it shows."""

    @expose("/")
    def index(self):
        from datetime import datetime

        args = request.args

        def when(name: str):
            """The form's times are Beijing time; the log stores naive UTC."""
            raw = args.get(name)
            if not raw:
                return None
            try:
                local = datetime.fromisoformat(raw)
            except ValueError:
                return None
            if local.tzinfo is None:
                local = local.replace(tzinfo=fmt.BEIJING)
            return local.astimezone(UTC).replace(tzinfo=None)

        stmt = audit.search(user=args.get("user"), action=args.get("action"),
                            object_type=args.get("object_type"),
                            object_id=args.get("object_id"),
                            start=when("start"), end=when("end"))
        if args.get("format") == "csv":
            rows = db.session.scalars(stmt).all()
            audit.record("audit.export", object_type="audit_record",
                         summary={"filters": args.to_dict(), "rows": len(rows)})
            db.session.commit()
            buf = io.StringIO()
            w = csv.writer(buf)
            w.writerow(["seq", "ts", "user", "ip", "user_agent", "action", "object_type",
                        "object_id", "summary", "hash"])
            for r in rows:
                w.writerow(safe_row([r.seq, r.ts.isoformat(), r.user_email, r.ip,
                                     r.user_agent, r.action, r.object_type, r.object_id,
                                     r.summary, r.hash]))
            return Response("\ufeff" + buf.getvalue(), mimetype="text/csv",
                            headers={"Content-Disposition": "attachment; filename=audit.csv"})
        rows = db.session.scalars(stmt.limit(200)).all()
        return self.render("admin/audit_search.html", rows=rows, args=args)

    def is_accessible(self) -> bool:
        return _allowed() and current_user.has_permission("audit.read")


class ServicesView(GuardMixin, BaseView):
    """Service governance (R-5.5): services, their health, nodes; take a node offline."""

    @expose("/", methods=["GET", "POST"])
    def index(self):
        from flask import flash

        from app.platform import health, nodes

        if request.method == "POST":
            from app.extensions import csrf

            csrf.protect()  # Flask-Admin views carry no auth decorator that would check it
            if not current_user.has_permission("services.manage"):
                abort(403)
            try:
                nodes.set_status(request.form["node"], request.form["status"])
                db.session.commit()
                flash("节点状态已更新", "success")
            except (LookupError, ValueError, KeyError) as exc:
                db.session.rollback()
                flash(str(exc), "error")
            return redirect(url_for(".index"))
        ready, body = health.check()
        return self.render("admin/services.html", ready=ready, body=body,
                           nodes=nodes.all_nodes(), registry=nodes.registry_name())


class GuardedAlertsView(GuardMixin, AlertsView):
    """告警: the platform's self-checks (`app.admin.alerts`)."""


class GuardedJobsView(GuardMixin, JobsView):
    """后台任务: outbox, periodic jobs, dead letters (`app.admin.outbox`)."""


def build_admin(app: Flask) -> Admin:
    admin = Admin(app, name="系统管理",
                  theme=Bootstrap4Theme(fluid=True, base_template="admin/cecp_base.html"),
                  index_view=SecureIndex(name="概览", url="/admin"),
                  csp_nonce_generator=csp_nonce)
    admin.add_view(UserView(User, db, name="用户", endpoint="users"))
    admin.add_view(RoleView(Role, db, name="角色与权限", endpoint="roles"))
    admin.add_view(RegionView(Region, db, name="行政区划", endpoint="regions"))
    admin.add_view(EnterpriseView(Enterprise, db, name="企业", endpoint="enterprises"))
    admin.add_view(VerificationBodyView(VerificationBody, db, name="核查机构",
                                        endpoint="verification_bodies"))
    admin.add_view(InstitutionView(Institution, db, name="入驻机构",
                                   endpoint="institutions"))
    admin.add_view(AuditView(AuditRecord, db, name="审计日志", endpoint="audit"))
    admin.add_view(AuditSearchView(name="审计检索", endpoint="audit_search"))
    admin.add_view(ServicesView(name="服务治理", endpoint="services"))
    admin.add_view(GuardedJobsView(name="后台任务", endpoint="jobs"))
    admin.add_view(SessionsAdmin(name="会话管理", endpoint="sessions"))
    admin.add_view(GuardedAlertsView(name="告警", endpoint="alerts"))
    return admin


class SessionsAdmin(GuardMixin, SessionsView):
    """会话管理 (`app.admin.sessions`)."""

    is_accessible = SessionsView.is_accessible
