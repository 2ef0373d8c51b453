"""/api/v1 exchange: meters, readings (JSON, CSV, gzip), batch status, real-time figures."""

from __future__ import annotations

import csv
import gzip
import io
import zlib

from flask import Response, request
from flask_security import auth_required, current_user, permissions_accepted
from flask_smorest import Blueprint
from sqlalchemy import select

from app.api import api_error, error_body
from app.api.pagination import SqlPage
from app.audit.service import record as audit
from app.energy.records import RecordError
from app.exchange import clients, realtime, service
from app.exchange import meters as meter_service
from app.exchange import readings as reading_service
from app.exchange.models import Meter
from app.exchange.schemas import BatchOut, MeterIn, MeterOut, MeterQuery, ReadingsQuery
from app.extensions import db
from app.identity.scope import current_scope

blp = Blueprint("exchange_api", __name__, url_prefix="/api/v1",
                description="数据交换 Data exchange: meters, readings, batches")
WRITE = ("readings.write", "energy.write", "admin.access")
MAX_BODY = 32 * 1024 * 1024


MAX_ID = 2**63 - 1
NUL = "\x00"


def _nul_in(value, path: str) -> str | None:
    """The path of the first string holding a NUL byte (PostgreSQL text cannot store one)."""
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, dict):
        for k, v in value.items():
            hit = _nul_in(str(k), path) or _nul_in(v, f"{path}.{k}" if path else str(k))
            if hit:
                return hit
    elif isinstance(value, list):
        for i, v in enumerate(value):
            hit = _nul_in(v, f"{path}.{i}" if path else str(i))
            if hit:
                return hit
    return None


@blp.before_request
def _strict_input():
    """Refuse NUL bytes anywhere in the path, query or JSON body, and ids beyond BIGINT,
    with a 400 naming the field (before any query: never a 500)."""
    for key, value in (request.view_args or {}).items():
        if isinstance(value, str) and NUL in value:
            return api_error(400, f"{key} 不能包含空字符", fields={key: "不能包含空字符"})
        if isinstance(value, int) and not 0 <= value <= MAX_ID:
            return api_error(404, "批次不存在或不在您的数据范围内")
    for key, values in request.args.lists():
        if NUL in key or any(NUL in v for v in values):
            field = key.replace(NUL, "")
            return api_error(400, f"{field} 不能包含空字符", fields={field: "不能包含空字符"})
    raw = request.get_data(cache=True) if request.mimetype == "application/json" else b""
    if b"\\u0000" in raw:
        field = _nul_in(request.get_json(silent=True), "") or "body"
        return api_error(400, f"{field} 不能包含空字符", fields={field: "不能包含空字符"})
    return None


def _client() -> str | None:
    return clients.client_name(current_user) or getattr(current_user, "email", None)


def _refuse_outside(model_id: str, kind: str) -> None:
    audit("exchange.scope_refused", object_type=kind, object_id=model_id,
          summary={"client": _client(), "path": request.path})
    db.session.commit()


@blp.route("/meters", methods=["POST"])
@auth_required("token", "session")
@permissions_accepted("meters.write", "energy.write", "admin.access")
@blp.arguments(MeterIn)
@blp.response(201, MeterOut)
def post_meter(body):
    """Register a meter of an enterprise within the caller's scope."""
    try:
        return meter_service.create(data=body, scope=current_scope())
    except RecordError as exc:
        if "enterprise" in exc.fields and "不在您的数据范围" in exc.fields["enterprise"]:
            _refuse_outside(str(body.get("enterprise")), "enterprise")
            return api_error(403, exc.fields["enterprise"], code="out_of_scope",
                             fields=exc.fields)
        return api_error(422, "数据校验失败", fields=exc.fields)


@blp.route("/meters", methods=["GET"])
@auth_required("token", "session")
@blp.arguments(MeterQuery, location="query", as_kwargs=True)
@blp.response(200, MeterOut(many=True))
@blp.paginate(SqlPage)
def list_meters(enterprise=None):
    """Meters within the caller's scope."""
    return meter_service.get_all(scope=current_scope(), uscc=enterprise)


def _meter_or_404(external_id: str):
    meter = meter_service.get_by_external_id(external_id=external_id, scope=current_scope())
    if meter is None:
        if db.session.scalar(select(Meter.id).where(Meter.external_id == external_id)):
            _refuse_outside(external_id, "meter")
        return None
    return meter


@blp.route("/meters/<string:external_id>", methods=["GET"])
@auth_required("token", "session")
@blp.response(200, MeterOut)
def get_meter(external_id):
    meter = _meter_or_404(external_id)
    return meter if meter is not None else api_error(404, "计量表不存在或不在您的数据范围内")


def _parse_body() -> tuple[list, str | None, str]:
    """(rows, idempotency key, mode) from JSON or CSV, optionally gzip-compressed."""
    raw = request.get_data(cache=False)
    if request.headers.get("Content-Encoding", "").lower() == "gzip" or raw[:2] == b"\x1f\x8b":
        try:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            raw = d.decompress(raw, MAX_BODY)
            if d.unconsumed_tail:
                raise service.BatchError("解压后的内容过大", "body")
        except (zlib.error, gzip.BadGzipFile) as exc:
            raise service.BatchError(f"gzip 内容无法解压：{exc}", "body") from None
    ctype = (request.mimetype or "").lower()
    key = request.headers.get("Idempotency-Key") or request.args.get("idempotency_key")
    mode = request.args.get("mode", "all")
    if ctype in ("text/csv", "application/csv"):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise service.BatchError("CSV 须为 UTF-8 编码", "body") from None
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or not {"meter", "ts", "value"} <= {
                (f or "").strip() for f in reader.fieldnames}:
            raise service.BatchError("CSV 首行须为列名 meter,ts,value", "body")
        if NUL in text:
            raise service.BatchError("CSV 不能包含空字符", "body")
        return [{(k or "").strip(): v for k, v in r.items()} for r in reader], key, mode
    import json

    if b"\\u0000" in raw or b"\x00" in raw:
        try:
            body = json.loads(raw) if b"\x00" not in raw else None
        except ValueError:
            body = None
        field = _nul_in(body, "") or "body"
        raise service.BatchError(f"{field} 不能包含空字符", field)
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        raise service.BatchError("JSON 格式不正确", "body") from None
    if not isinstance(body, dict) or not isinstance(body.get("readings"), list):
        raise service.BatchError("请求体须为 {\"readings\": [...]}", "readings")
    key = body.get("idempotency_key") or key
    mode = body.get("mode") or mode
    if key is not None and not isinstance(key, str):
        raise service.BatchError("幂等键须为字符串", "idempotency_key")
    if not isinstance(mode, str):
        raise service.BatchError("mode 须为 all 或 partial", "mode")
    return body["readings"], key, mode


def batch_body(batch, replayed: bool = False) -> dict:
    out = BatchOut().dump(batch)
    out["batch"] = batch.id
    out["replayed"] = replayed
    return out


@blp.route("/readings", methods=["POST"])
@auth_required("token", "session")
@permissions_accepted(*WRITE)
@blp.doc(requestBody={"content": {
    "application/json": {"schema": {"type": "object", "properties": {
        "readings": {"type": "array", "items": {"type": "object", "properties": {
            "meter": {"type": "string"}, "ts": {"type": "string", "format": "date-time"},
            "value": {"type": "string"}, "unit": {"type": "string"}}}},
        "idempotency_key": {"type": "string"}, "mode": {"type": "string",
                                                        "enum": ["all", "partial"]}}}},
    "text/csv": {"schema": {"type": "string", "description": "meter,ts,value"}}}})
def post_readings():
    """Submit up to 10,000 readings (JSON, or `text/csv` with header `meter,ts,value`;
    `Content-Encoding: gzip` accepted). Idempotent per (meter, ts): a repeat is ignored,
    a different value is stored as a correction. `mode=all` (default) writes nothing when
    any row is wrong (422, errors per row); `mode=partial` stores the valid rows."""
    t0 = service.timed()
    client = _client()
    try:
        rows, key, mode = _parse_body()
        batch, replayed = service.submit_readings(
            items=rows, scope=current_scope(), user=current_user, source="rest",
            client=client, idempotency_key=key, mode=mode)
    except service.BatchError as exc:
        db.session.rollback()
        service.log(channel="rest", operation="readings.post", client=client,
                    status="error", started=t0, error=exc.message)
        db.session.commit()
        return api_error(422 if exc.field != "body" else 400, exc.message,
                         fields={exc.field: exc.message})
    service.log(channel="rest", operation="readings.post", client=client,
                status=batch.status, started=t0, batch=batch)
    if batch.status == "rejected":
        outside = getattr(batch, "outside", None)
        db.session.commit()  # the batch and its rejected rows are kept
        status = 403 if outside else 422
        body = error_body(status, "存在超出数据范围的计量表，整批未写入" if outside
                          else "数据校验失败，整批未写入", "out_of_scope" if outside else "invalid",
                          service.field_errors(batch, "readings"))
        body["batch"] = batch.id
        return body, status
    return batch_body(batch, replayed), 200 if replayed else 201


@blp.route("/readings", methods=["GET"])
@auth_required("token", "session")
@blp.arguments(ReadingsQuery, location="query")
def get_readings(args):
    """Raw readings (`resolution=raw`, UTC) or rollups (`hour`, `day`, `month`; buckets
    start in Beijing time) of one meter, `from` inclusive, `to` exclusive."""
    res = args.get("resolution") or "raw"
    if res not in ("raw", *reading_service.RESOLUTIONS):
        return api_error(422, "resolution 须为 raw、hour、day 或 month",
                         fields={"resolution": "取值无效"})
    errors: dict[str, str] = {}
    start = (meter_service.parse_ts(args["from_"], "from", errors, "起始时间")
             if args.get("from_") else None)
    end = meter_service.parse_ts(args["to"], "to", errors, "结束时间") if args.get("to") else None
    if errors:
        return api_error(422, "查询参数不正确", fields=errors)
    meter = _meter_or_404(args["meter"])
    if meter is None:
        return api_error(404, "计量表不存在或不在您的数据范围内")
    rows = reading_service.query(meter=meter, start=start, end=end, resolution=res)
    items = []
    for r in rows:
        if res == "raw":
            items.append({"ts": r["ts"].isoformat() + "Z", "value": str(r["value"])})
        else:
            items.append({"bucket": r["bucket"].isoformat() + "+08:00",
                          "total": str(r["total"]), "count": r["count"],
                          "last_ts": r["last_ts"].isoformat() + "Z"})
    return {"meter": meter.external_id, "unit": meter.unit, "multiplier": str(meter.multiplier),
            "resolution": res, "items": items}


@blp.route("/exchange/batches/<int:batch_id>", methods=["GET"])
@auth_required("token", "session")
def get_batch(batch_id):
    """Status, counts and the errors per row of a batch (submitter or administrators)."""
    batch = service.get(batch_id=batch_id, user=current_user, scope=current_scope())
    if batch is None:
        return api_error(404, "批次不存在或不在您的数据范围内")
    body = batch_body(batch)
    body["errors"] = service.row_errors(batch)
    return body


@blp.route("/exchange/batches/<int:batch_id>/rejected.xlsx", methods=["GET"])
@auth_required("token", "session")
def rejected_xlsx(batch_id):
    """The rejected rows as a spreadsheet with an error column."""
    batch = service.get(batch_id=batch_id, user=current_user, scope=current_scope())
    if batch is None:
        return api_error(404, "批次不存在或不在您的数据范围内")
    return Response(service.rejected_xlsx(batch), mimetype=(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), headers={
        "Content-Disposition": f"attachment; filename=batch-{batch.id}-rejected.xlsx"})


@blp.route("/enterprises/<string:uscc>/energy-sources", methods=["GET"])
@auth_required("token", "session")
def get_sources(uscc):
    """Per energy item, which source wins in the monthly account: `form` or `meter`."""
    from app.exchange import monthly
    from app.identity.scope import get_scoped
    from app.orgs.models import Enterprise

    ent = get_scoped(Enterprise, uscc, by="uscc", scope=current_scope())
    if ent is None:
        return api_error(404, "企业不存在或不在您的数据范围内")
    return {"enterprise": uscc, "sources": monthly.choices(enterprise_id=ent.id)}


@blp.route("/enterprises/<string:uscc>/energy-sources", methods=["PUT"])
@auth_required("token", "session")
@permissions_accepted("energy.write", "admin.access")
def put_source(uscc):
    """`{"item": "electricity", "source": "meter"}`; re-derives this year's months."""
    from app.exchange import monthly
    from app.identity.scope import get_scoped
    from app.orgs.models import Enterprise

    ent = get_scoped(Enterprise, uscc, by="uscc", scope=current_scope())
    if ent is None:
        return api_error(404, "企业不存在或不在您的数据范围内")
    body = request.get_json(silent=True) or {}
    try:
        monthly.set_choice(enterprise=ent, item=str(body.get("item") or ""),
                           source=str(body.get("source") or ""))
    except RecordError as exc:
        return api_error(422, "数据校验失败", fields=exc.fields)
    today = service.utcnow() + reading_service.BEIJING
    for m in range(1, today.month + 1):
        monthly.apply(enterprise_id=ent.id, year=today.year, month=m)
    return {"enterprise": uscc, "sources": monthly.choices(enterprise_id=ent.id)}


@blp.route("/exchange/realtime", methods=["GET"])
@auth_required("token", "session")
def get_realtime():
    """Latest value and today's total (Beijing day) per meter of an enterprise in scope."""
    uscc = request.args.get("enterprise")
    stmt = meter_service.get_all(scope=current_scope(), uscc=uscc)
    meters = list(db.session.scalars(stmt.limit(2000)))
    if uscc and not meters:
        return api_error(404, "企业不存在、不在您的数据范围内或没有计量表")
    figures = realtime.latest(meters)
    return {"generated_at": service.utcnow().isoformat() + "Z", "meters": [{
        "meter": m.external_id, "name": m.name, "enterprise": m.enterprise.uscc,
        "energy_type": m.energy_type, "unit": m.unit,
        "ts": figures[m.id]["ts"].isoformat() + "Z" if figures[m.id]["ts"] else None,
        "value": str(figures[m.id]["value"]) if figures[m.id]["value"] is not None else None,
        "today": str(figures[m.id]["today"])} for m in meters]}
