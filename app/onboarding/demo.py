"""Demo organisations that went through onboarding, one of each type, with their accounts
(`research@`, `exchange@`, `institution@`, `bank@demo.cecp`; the demo password). The demo
exchange has one API key (never printed: its administrator issues its own to use one) and
one webhook endpoint, registered but disabled (it points nowhere); the demo enterprise lets
it read its grade."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.identity import service as accounts
from app.onboarding import agreement
from app.onboarding.models import KINDS, Application, Consent
from app.orgs.models import Enterprise
from app.refdata.uscc import make_uscc

#: (kind, account, organisation name, first 17 characters of its USCC, extra scopes)
DEMO_ORGS = (
    ("research", "research@demo.cecp", "浙江示范低碳研究院", "12330500MB0000001", ()),
    ("exchange", "exchange@demo.cecp", "示范环境能源交易所", "91330500MA0000002", ()),
    ("public", "institution@demo.cecp", "湖州市示范中学", "12330502MB0000003",
     (("institution", "PI-330500-001"),)),
    ("bank", "bank@demo.cecp", "湖州示范绿色银行", "91330500MA0000004", ()),
)


def load_demo(enterprises: int, months: int) -> None:
    password = current_app.config["CECP_DEMO_PASSWORD"]
    for kind, email, name, first17, extra in DEMO_ORGS:
        uscc = make_uscc(first17)
        app_ = db.session.scalar(select(Application).where(Application.uscc == uscc))
        if app_ is None:
            now = utcnow()
            app_ = Application(kind=kind, name=name, uscc=uscc, region_code="330500",
                               intended_use="演示：入驻机构工作台", status="active",
                               agreement_version=agreement.VERSION,
                               agreement_text=agreement.TEXT, agreement_accepted_at=now,
                               reviewed_at=now)
            app_.contact_name, app_.contact_phone = "演示联系人", "0572-0000000"
            app_.contact_email = email
            db.session.add(app_)
            db.session.flush()
        if accounts.get_by_email(email=email) is None:
            user = accounts.create(email=email, password=password,
                                   roles=[KINDS[kind][1], "org_admin"],
                                   scopes=[("institution", uscc), *extra],
                                   display_name=name, user_class="institution",
                                   check_policy=False)
            app_.admin_user_id = user.id
    db.session.flush()
    _demo_consent()
    _demo_research()
    _demo_exchange()


def _demo_consent() -> None:
    """The demo enterprise has granted the demo bank consent; other enterprises have not."""
    from app.demo import demo_enterprise_uscc

    ent = db.session.scalar(select(Enterprise).where(Enterprise.uscc == demo_enterprise_uscc()))
    bank = make_uscc(DEMO_ORGS[3][3])
    if ent is None or db.session.scalar(select(Consent).where(
            Consent.enterprise_id == ent.id, Consent.bank_code == bank)) is not None:
        return
    now = utcnow()
    db.session.add(Consent(enterprise_id=ent.id, bank_code=bank, granted_at=now,
                           expires_at=now + timedelta(days=365)))
    db.session.flush()


def _demo_research() -> None:
    """The demo research institute has one approved data request with its export: the
    demo city's latest year by industry division (divisions with fewer than k demo
    enterprises are withheld, which is what the rules are for)."""
    from sqlalchemy import func

    from app.accounting.models import CarbonAccount
    from app.onboarding import research
    from app.onboarding.models import DataRequest

    code = make_uscc(DEMO_ORGS[0][3])
    year = db.session.scalar(select(func.max(CarbonAccount.year)))
    if year is None or db.session.scalar(select(DataRequest.id).where(
            DataRequest.institution_code == code)) is not None:
        return
    req = DataRequest(institution_code=code,
                      purpose="演示：湖州市分行业碳排放强度研究",
                      indicators="co2,energy,value_added,intensity", regions="330500",
                      industries="", region_level="city", period_from=year * 100 + 1,
                      period_to=year * 100 + 12, status="approved",
                      decided_by="admin@demo.cecp", decided_at=utcnow())
    db.session.add(req)
    db.session.flush()
    research.build_export(request_id=req.id)


DEMO_WEBHOOK_URL = "https://exchange.demo.cecp.invalid/cecp/webhook"


def _demo_exchange() -> None:
    from app.demo import demo_enterprise_uscc
    from app.onboarding import exchange_keys, webhooks

    code = make_uscc(DEMO_ORGS[1][3])
    org = db.session.scalar(select(Application).where(Application.uscc == code,
                                                      Application.status == "active"))
    if org is None:
        return
    if not exchange_keys.list_for(org):
        exchange_keys.create(org, label="demo-feed", scopes=list(exchange_keys.SCOPES),
                             by="demo")  # the key itself is discarded
    if not webhooks.list_for(org):
        ep, _secret = webhooks.register(org, url=DEMO_WEBHOOK_URL, events=None, by="demo")
        ep.active, ep.disabled_reason = False, "演示端点：地址不存在，未启用"
    ent = db.session.scalar(select(Enterprise).where(Enterprise.uscc == demo_enterprise_uscc()))
    if ent is not None and db.session.scalar(select(Consent).where(
            Consent.enterprise_id == ent.id, Consent.bank_code == code)) is None:
        now = utcnow()
        db.session.add(Consent(enterprise_id=ent.id, bank_code=code, granted_at=now,
                               items="grade", expires_at=now + timedelta(days=365)))
    db.session.flush()
