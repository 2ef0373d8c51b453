"""File import: the upload page, `POST /api/v1/exchange/files`, templates, and the job that
runs an uploaded file (with its progress on the batch page)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_security import auth_required, current_user, permissions_accepted

from app.api import api_error
from app.exchange import clients, service
from app.exchange.models import ExchangeBatch, ExchangeUpload
from app.extensions import db
from app.jobs.outbox import enqueue
from app.jobs.registry import job
from integrations import files

bp = Blueprint("exchange_files", __name__)
WRITE = ("readings.write", "energy.write", "meters.write", "enterprises.write",
         "admin.access")
MAX_UPLOAD = 64 * 1024 * 1024
MIME = {"csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _start(kind: str | None, mode: str | None, upload) -> tuple[ExchangeBatch | None, dict]:
    errors: dict[str, str] = {}
    if kind not in files.KINDS:
        errors["kind"] = "请选择导入类型"
    elif kind in files.PERMISSIONS and not any(
            current_user.has_permission(p) for p in files.PERMISSIONS[kind]):
        errors["kind"] = f"您没有导入“{files.KINDS[kind]['label']}”的权限"
    if mode not in ("all", "partial"):
        errors["mode"] = "请选择导入方式：全部或全不，或部分入库"
    name = (upload.filename or "") if upload else ""
    if not name:
        errors["file"] = "请选择文件"
    elif "\x00" in name:
        errors["file"] = "文件名不能包含空字符"
    elif not name.lower().endswith((".csv", ".xlsx", ".xlsm")):
        errors["file"] = "只接受 CSV 或 XLSX 文件"
    if errors:
        return None, errors
    content = upload.read(MAX_UPLOAD + 1)
    if len(content) > MAX_UPLOAD:
        return None, {"file": "文件超过 64 MB，请拆分后上传"}
    batch = service.open_batch(kind=kind, source="file", user=current_user,
                               client=clients.client_name(current_user), rows=0, mode=mode,
                               filename=name[-200:])
    db.session.add(ExchangeUpload(batch_id=batch.id, content=content))
    enqueue("exchange.import_file", batch_id=batch.id)
    return batch, {}


@bp.route("/exchange/import", methods=["GET", "POST"])
@auth_required("session")
@permissions_accepted(*WRITE)
def upload():
    errors: dict[str, str] = {}
    if request.method == "POST":
        batch, errors = _start(request.form.get("kind"), request.form.get("mode"),
                               request.files.get("file"))
        if batch is not None:
            flash("文件已接收，正在后台导入。", "success")
            return redirect(url_for("exchange.batch", batch_id=batch.id))
    return render_template("exchange/import.html", kinds=files.KINDS, errors=errors,
                           form=request.form)


@bp.route("/exchange/templates/<kind>.<fmt>")
@bp.route("/api/v1/exchange/templates/<kind>.<fmt>", endpoint="api_template")
@auth_required("token", "session")
def template(kind: str, fmt: str):
    if kind not in files.KINDS or fmt not in MIME:
        abort(404)
    return Response(files.template(kind, fmt), mimetype=MIME[fmt], headers={
        "Content-Disposition": f"attachment; filename=template-{kind}.{fmt}"})


@bp.route("/api/v1/exchange/files", methods=["POST"])
@auth_required("token", "session")
@permissions_accepted(*WRITE)
def api_upload():
    """multipart: kind (readings | meters | energy | enterprises | outputs), mode (all |
    partial), file."""
    batch, errors = _start(request.form.get("kind"), request.form.get("mode"),
                           request.files.get("file"))
    if batch is None:
        return api_error(422, "请求不完整", fields=errors)
    return {"batch": batch.id, "status": batch.status,
            "status_url": url_for("exchange_api.get_batch", batch_id=batch.id)}, 202


def _progress(batch_id: int, pct: int) -> None:
    """Progress through its own connection, visible while the import transaction runs."""
    if db.engine.dialect.name != "postgresql":
        return
    from sqlalchemy import update

    with db.engine.begin() as conn:
        conn.execute(update(ExchangeBatch).where(ExchangeBatch.id == batch_id)
                     .values(progress=pct, status="running"))


@job("exchange.import_file")
def import_file(*, batch_id: int) -> str:
    from app.identity.grants import scope_for
    from app.identity.models import User
    from app.uow import commit

    batch = db.session.get(ExchangeBatch, batch_id)
    upload = db.session.get(ExchangeUpload, batch_id)
    if batch is None or upload is None or batch.status not in ("received", "running"):
        return "skipped"
    user = db.session.get(User, batch.submitted_by_id) if batch.submitted_by_id else None
    scope = scope_for(user)
    content, kind, mode, name = upload.content, batch.kind, batch.mode, batch.filename or ""
    db.session.rollback()
    _progress(batch_id, 5)
    t0 = service.timed()
    try:
        rows = files.read_table(content, name, kind)
        _progress(batch_id, 30)
        batch = db.session.get(ExchangeBatch, batch_id)
        files.process(kind=kind, rows=rows, scope=scope, user=user, source="file", mode=mode,
                      client=batch.client, filename=name, batch=batch)
    except (service.BatchError, ValueError, UnicodeDecodeError, KeyError) as exc:
        db.session.rollback()
        batch = db.session.get(ExchangeBatch, batch_id)
        batch.status, batch.progress = "failed", 100
        batch.message = getattr(exc, "message", None) or f"无法读取文件：{exc}"
        service.log(channel="file", operation=f"import.{kind}", client=batch.client,
                    status="failed", started=t0, batch=batch, error=batch.message)
        commit()
        return "failed"
    db.session.execute(ExchangeUpload.__table__.delete().where(
        ExchangeUpload.batch_id == batch_id))
    service.log(channel="file", operation=f"import.{kind}", client=batch.client,
                status=batch.status, started=t0, batch=batch)
    commit()
    return batch.status


def init_app(app) -> None:
    app.register_blueprint(bp)
    files.register_importers()
