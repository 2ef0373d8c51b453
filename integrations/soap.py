"""The Web Service adapter (R-9.2c): SOAP 1.1 at /ws/exchange, WSDL at /ws/exchange?wsdl.

Operations: SubmitEnergyRecords, SubmitReadings, GetCarbonAccount, GetBatchStatus. A
machine client authenticates with a WS-Security UsernameToken (its name, its API key as a
PasswordText). Everything runs through `app.exchange.service`: the same staging, the same
validators and the same data scope as REST; field errors come back as a SOAP Fault whose
detail lists `<fieldError row= field=>message</fieldError>`.

XML safety: any `<!DOCTYPE` is refused with 400 before a parser sees the body; the
header is read with an lxml parser that resolves no entities and loads nothing.
"""

from __future__ import annotations

import io
import time

from flask import Blueprint, Response, current_app, g, request
from lxml import etree
from spyne import (
    Application,
    Array,
    Boolean,
    ComplexModel,
    Fault,
    Integer,
    ServiceBase,
    Unicode,
    rpc,
)
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication

NS = "urn:cecp:exchange:1"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                              huge_tree=False)
MAX_BODY = 32 * 1024 * 1024

bp = Blueprint("soap", __name__)


class Reading(ComplexModel):
    __namespace__ = NS
    meter = Unicode
    ts = Unicode          # ISO 8601 with a zone
    value = Unicode       # a decimal, as text (exact)
    unit = Unicode


class EnergyLine(ComplexModel):
    __namespace__ = NS
    flow = Unicode
    item = Unicode
    amount = Unicode
    unit = Unicode
    ncv = Unicode
    carbon_content = Unicode
    oxidation_rate = Unicode
    factor_value = Unicode
    note = Unicode


class EnergyRecord(ComplexModel):
    __namespace__ = NS
    uscc = Unicode
    year = Unicode
    month = Unicode
    gross_output = Unicode
    value_added = Unicode
    note = Unicode
    lines = Array(EnergyLine)


class RowError(ComplexModel):
    __namespace__ = NS
    row = Integer
    field = Unicode
    message = Unicode


class BatchResult(ComplexModel):
    __namespace__ = NS
    batch_id = Integer
    kind = Unicode
    status = Unicode
    status_label = Unicode
    rows = Integer
    accepted = Integer
    inserted = Integer
    corrected = Integer
    unchanged = Integer
    rejected = Integer
    replayed = Boolean
    errors = Array(RowError)


class EnergyEmission(ComplexModel):
    __namespace__ = NS
    item = Unicode
    name = Unicode
    bucket = Unicode
    amount = Unicode
    tce = Unicode
    co2 = Unicode


class CarbonAccount(ComplexModel):
    __namespace__ = NS
    uscc = Unicode
    name = Unicode
    period = Unicode
    energy_tce = Unicode
    co2_total = Unicode
    value_added = Unicode
    intensity = Unicode
    k_value = Unicode
    grade = Unicode
    grade_label = Unicode
    months_reported = Integer
    by_energy = Array(EnergyEmission)


def _s(v) -> str | None:
    return None if v is None else str(v)


def _result(batch, replayed: bool = False) -> BatchResult:
    from app.exchange import service

    errors = [RowError(row=e["row"], field=f, message=m)
              for e in service.row_errors(batch) for f, m in e["fields"].items()]
    return BatchResult(batch_id=batch.id, kind=batch.kind, status=batch.status,
                       status_label=batch.status_label, rows=batch.row_count,
                       accepted=batch.accepted, inserted=batch.inserted,
                       corrected=batch.corrected, unchanged=batch.unchanged,
                       rejected=batch.rejected, replayed=replayed, errors=errors)


def _fault(code: str, message: str, errors: list[tuple[int, str, str]] = (),
           batch_id: int | None = None) -> Fault:
    detail = etree.Element(f"{{{NS}}}errors")
    if batch_id is not None:
        detail.set("batch", str(batch_id))
    for row, field, msg in errors:
        el = etree.SubElement(detail, f"{{{NS}}}fieldError", row=str(row), field=field)
        el.text = msg
    return Fault(faultcode=f"Client.{code}", faultstring=message, detail=detail)


def _caller():
    user = g.get("cecp_soap_user")
    if user is None:
        raise _fault("Authentication", "需要 WS-Security UsernameToken（客户端名称与 API Key）")
    from app.identity.grants import scope_for

    return user, scope_for(user), g.get("cecp_soap_client")


def _submit(kind: str, items: list, idempotency_key: str | None, mode: str | None):
    from app.exchange import service
    from app.extensions import db

    user, scope, client = _caller()
    t0 = time.perf_counter()
    try:
        if kind == "readings":
            batch, replayed = service.submit_readings(
                items=items, scope=scope, user=user, source="soap", client=client,
                idempotency_key=idempotency_key, mode=mode or "all")
        else:
            batch, replayed = service.submit_records(
                items=items, scope=scope, user=user, source="soap", client=client,
                idempotency_key=idempotency_key, mode=mode or "all")
    except service.BatchError as exc:
        db.session.rollback()
        service.log(channel="soap", operation=f"Submit.{kind}", client=client, status="error",
                    started=t0, error=exc.message)
        db.session.commit()
        raise _fault("Validation", exc.message, [(0, exc.field, exc.message)]) from None
    service.log(channel="soap", operation=f"Submit.{kind}", client=client,
                status=batch.status, started=t0, batch=batch)
    if batch.status == "rejected":
        errors = [(e["row"], f, m) for e in service.row_errors(batch)
                  for f, m in e["fields"].items()]
        db.session.commit()  # the batch and its rejected rows are kept
        code = "OutOfScope" if getattr(batch, "outside", None) else "Validation"
        raise _fault(code, "数据校验失败，整批未写入", errors, batch.id)
    return _result(batch, replayed)


def _plain(obj) -> dict | list | str | None:
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj


class ExchangeService(ServiceBase):
    @rpc(Array(Reading), Unicode, Unicode, _returns=BatchResult)
    def SubmitReadings(ctx, readings, idempotency_key, mode):  # noqa: N802, N805
        """Meter readings, idempotent per (meter, ts); same rules as POST /api/v1/readings."""
        items = [{"meter": r.meter, "ts": r.ts, "value": r.value, "unit": r.unit}
                 for r in (readings or [])]
        return _submit("readings", items, idempotency_key, mode)

    @rpc(Array(EnergyRecord), Unicode, Unicode, _returns=BatchResult)
    def SubmitEnergyRecords(ctx, records, idempotency_key, mode):  # noqa: N802, N805
        """Monthly energy records; same rules as POST /api/v1/energy-records."""
        items = []
        for r in records or []:
            items.append({"uscc": r.uscc, "year": r.year, "month": r.month,
                          "gross_output": r.gross_output, "value_added": r.value_added,
                          "note": r.note, "lines": [
                              {k: getattr(ln, k) for k in EnergyLine._type_info}
                              for ln in (r.lines or [])]})
        return _submit("energy", items, idempotency_key, mode)

    @rpc(Integer, _returns=BatchResult)
    def GetBatchStatus(ctx, batch_id):  # noqa: N802, N805
        from app.exchange import service

        user, scope, _ = _caller()
        batch = service.get(batch_id=batch_id or 0, user=user, scope=scope)
        if batch is None:
            raise _fault("NotFound", "批次不存在或不在您的数据范围内")
        return _result(batch)

    @rpc(Unicode, Integer, Integer, _returns=CarbonAccount)
    def GetCarbonAccount(ctx, uscc, year, month):  # noqa: N802, N805
        from app.accounting import account
        from app.accounting import service as acc_service
        from app.identity.scope import get_scoped
        from app.orgs.models import Enterprise

        _, scope, _ = _caller()
        ent = get_scoped(Enterprise, (uscc or "").strip(), by="uscc", scope=scope)
        if ent is None:
            raise _fault("NotFound", "企业不存在或不在您的数据范围内")
        if month is not None and not 1 <= month <= 12:
            msg = "月份应在 1 至 12 之间"
            raise _fault("Validation", msg, [(0, "month", msg)])
        year = year or acc_service.latest_year(enterprise_id=ent.id)
        data = account.build(enterprise=ent, year=year, month=month)
        code = data.get("code") or {}
        return CarbonAccount(
            uscc=ent.uscc, name=ent.name, period=data["period"],
            energy_tce=_s(data["energy_tce"]), co2_total=_s(data["co2_total"]),
            value_added=_s(data["value_added"]), intensity=_s(data["intensity"]),
            k_value=_s(code.get("k_value")), grade=_s(code.get("grade")),
            grade_label=_s(code.get("grade_label")),
            months_reported=data.get("months_reported") or 0,
            by_energy=[EnergyEmission(item=e["item"], name=e["name"], bucket=_s(e["bucket"]),
                                      amount=_s(e["amount"]), tce=_s(e["tce"]),
                                      co2=_s(e["co2"])) for e in data["by_energy"]])


def _application() -> WsgiApplication:
    app = Application([ExchangeService], tns=NS, name="CecpExchange",
                      in_protocol=Soap11(validator="lxml"), out_protocol=Soap11())
    return WsgiApplication(app, max_content_length=MAX_BODY)


def _username_token(body: bytes) -> tuple[str | None, str | None]:
    try:
        root = etree.parse(io.BytesIO(body), SAFE_PARSER).getroot()
    except etree.XMLSyntaxError:
        return None, None
    token = root.find(f".//{{{WSSE}}}UsernameToken")
    if token is None:
        return None, None
    return (token.findtext(f"{{{WSSE}}}Username"), token.findtext(f"{{{WSSE}}}Password"))


def _strip_security(body: bytes) -> bytes:
    """spyne knows no WS-Security header: drop it (already read) before handing over."""
    root = etree.parse(io.BytesIO(body), SAFE_PARSER).getroot()
    for sec in root.findall(f".//{{{WSSE}}}Security"):
        sec.getparent().remove(sec)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def _bad_request(message: str) -> Response:
    return Response(message, status=400, mimetype="text/plain; charset=utf-8")


@bp.route("/ws/exchange", methods=["GET", "POST"])
def endpoint():
    from app.exchange import clients
    from app.exchange import service as ex_service

    # spyne caches the WSDL (with its address) per application: one per host name
    apps = current_app.extensions.setdefault("cecp_soap", {})
    host = request.host
    wsgi = apps.get(host)
    if wsgi is None:
        if len(apps) >= 16:  # a forged Host header must not grow this without end
            apps.clear()
        wsgi = apps[host] = _application()
    environ = dict(request.environ)
    if request.method == "POST":
        if (request.content_length or 0) > MAX_BODY:
            return _bad_request("请求体过大")
        body = request.get_data(cache=False)
        if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
            t0 = time.perf_counter()
            ex_service.log(channel="soap", operation="refused", client=None,
                           status="refused", started=t0, error="DOCTYPE/ENTITY")
            from app.extensions import db

            db.session.commit()
            return _bad_request("不接受含 DOCTYPE 或实体声明的 XML")
        name, key = _username_token(body)
        if name and key:
            user = clients.authenticate_name(name.strip(), key.strip())
            if user is not None:
                g.cecp_soap_user, g.cecp_soap_client = user, name.strip()
                g._login_user = user  # the audit names the machine account as the actor
                g.cecp_token_auth = True
            else:
                from app.exchange.auth import _refused

                _refused()
        try:
            body = _strip_security(body)
        except etree.XMLSyntaxError:
            return _bad_request("XML 格式不正确")
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
    environ["SCRIPT_NAME"] = ""
    environ["PATH_INFO"] = "/ws/exchange"
    resp = Response.from_app(wsgi, environ)
    if resp.status_code >= 400:  # a fault: whatever must stay was committed already
        from app.extensions import db

        db.session.rollback()
    return resp


def init_app(app) -> None:
    from app.extensions import csrf

    csrf.exempt(endpoint)
    app.register_blueprint(bp)
