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
from app.demo import DEMO_SCHOOL
from app.extensions import db
from app.identity import service as accounts
from app.onboarding import agreement, flow, lifecycle, service
from app.onboarding.models import Application, Consent
from app.orgs.models import Enterprise
from app.refdata.uscc import make_uscc

#: (kind, account, organisation name, first 17 characters of its USCC, extra scopes)
DEMO_ORGS = (
    ("research", "research@demo.cecp", "浙江示范低碳研究院", "12330500MB0000001", ()),
    ("exchange", "exchange@demo.cecp", "示范环境能源交易所", "91330500MA0000002", ()),
    ("public", "institution@demo.cecp", "湖州市示范中学", DEMO_SCHOOL, ()),
    ("bank", "bank@demo.cecp", "湖州示范绿色银行", "91330500MA0000004", ()),
)


def load_demo(enterprises: int, months: int) -> None:
    """Each organisation goes the real way: its application starts `institution_onboarding`,
    the demo platform administrator approves it in the review task, the invitation is
    accepted (agreement and administrator account) and the case switches it on."""
    password = current_app.config["CECP_DEMO_PASSWORD"]
    admin = accounts.get_by_email(email="admin@demo.cecp")
    for kind, email, name, first17, extra in DEMO_ORGS:
        uscc = make_uscc(first17)
        app_ = db.session.scalar(select(Application).where(Application.uscc == uscc))
        if app_ is not None or accounts.get_by_email(email=email) is not None:
            continue
        app_ = service.create(data={
            "kind": kind, "name": name, "uscc": uscc, "contact_name": "演示联系人",
            "contact_phone": "0572-0000000", "contact_email": email,
            "intended_use": "演示：入驻机构工作台（经平台审核开通）"}, source_ip=None)
        token = flow.decide(app_, decision="approve", reason=None, user=admin)["invite"]
        lifecycle.accept(token=token, password=password, accepted=True,
                         version=agreement.VERSION, extra_scopes=extra, check_policy=False)
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
    user = accounts.get_by_email(email=DEMO_ORGS[0][1])
    admin = accounts.get_by_email(email="admin@demo.cecp")
    if user is None or admin is None:
        return
    from app.identity.scope import scope_for
    from app.onboarding import research_flow

    req = research.create(data={
        "purpose": "演示：湖州市分行业碳排放强度研究（聚合、去标识化数据）",
        "indicators": ["co2", "energy", "value_added", "intensity"], "regions": ["330500"],
        "region_level": "city", "period_from": f"{year}-01", "period_to": f"{year}-12"},
        scope=scope_for(user), user=user)
    research_flow.decide(req=req, decision="approve", reason=None, user=admin)
    research.build_export(request_id=req.id)  # the queued job rebuilds the same export


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
