"""`cecp demo`: reference data, demo organisations and the demo accounts (idempotent).

Domain packages add their own demo data through DEMO_LOADERS: fn(enterprises, months).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.identity import service as accounts
from app.orgs.models import Enterprise, Institution, VerificationBody

DEMO_CITY = "330500"       # 湖州市, where the carbon efficiency code began
DEMO_PROVINCE = "330000"   # 浙江省
DEMO_ENTERPRISE = "913305007000000001"[:17]  # check character appended by make_uscc
DEMO_VBODY = "VB-ZJ-001"
#: the demo public institution (湖州市示范中学): its code is its USCC, as onboarding makes it,
#: so the school onboarded through `institution_onboarding` is the one holding the data
DEMO_SCHOOL = "12330502MB0000003"  # check character appended by make_uscc
DEMO_LOADERS: list[Callable[[int, int], None]] = []


def demo_enterprise_uscc() -> str:
    from app.refdata.uscc import make_uscc

    return make_uscc(DEMO_ENTERPRISE)


def demo_school_code() -> str:
    from app.refdata.uscc import make_uscc

    return make_uscc(DEMO_SCHOOL)


def _ensure_orgs() -> None:
    uscc = demo_enterprise_uscc()
    if db.session.scalar(select(Enterprise).where(Enterprise.uscc == uscc)) is None:
        ent = Enterprise(uscc=uscc, name="湖州示范水泥有限公司", region_code="330522",
                         industry_code="3011", scale="规上", key_emitter=True,
                         address="浙江省湖州市长兴县示范路 1 号")
        ent.contact_name = "张工"
        ent.contact_phone = "13800000001"
        db.session.add(ent)
    if db.session.scalar(select(VerificationBody).where(
            VerificationBody.code == DEMO_VBODY)) is None:
        vb = VerificationBody(code=DEMO_VBODY, name="浙江示范碳核查中心",
                              region_code=DEMO_PROVINCE, accreditation="CNAS-示范")
        vb.contact_phone = "0571-00000000"
        db.session.add(vb)
    if db.session.scalar(select(Institution).where(Institution.code == demo_school_code())) is None:
        db.session.add(Institution(code=demo_school_code(), name="湖州市示范中学", kind="public",
                                   region_code="330502", base_year=2020, published=True))
    db.session.flush()


def demo_accounts() -> list[tuple[str, str, list[tuple[str, str]], str]]:
    return [
        ("admin@demo.cecp", "admin", [], "全部"),
        ("reviewer@demo.cecp", "reviewer", [("region", DEMO_CITY)], "湖州市 330500"),
        ("approver@demo.cecp", "approver", [("region", DEMO_PROVINCE)], "浙江省 330000"),
        ("enterprise@demo.cecp", "enterprise", [("enterprise", demo_enterprise_uscc())],
         f"企业 {demo_enterprise_uscc()}"),
        ("verifier@demo.cecp", "verifier", [("verification_body", DEMO_VBODY)],
         f"核查机构 {DEMO_VBODY}"),
        ("designer@demo.cecp", "designer", [], "流程定义"),
    ]


#: people's names for the demo accounts (pages show names, never e-mail prefixes)
DEMO_NAMES = {"admin": "陈静（平台管理员）", "reviewer": "王磊（湖州市经信局）",
              "approver": "李娜（浙江省经信厅）", "enterprise": "张伟（湖州示范水泥）",
              "verifier": "刘洋（浙江核查中心）", "designer": "赵敏（流程设计）"}


def load_demo(*, enterprises: int = 40, months: int = 12) -> list[tuple[str, str, str]]:
    from app.orgs.reference import load_reference

    load_reference()
    accounts.ensure_roles()
    _ensure_orgs()
    password = current_app.config["CECP_DEMO_PASSWORD"]
    printed = []
    for email, role, scopes, scope_label in demo_accounts():
        if accounts.get_by_email(email=email) is None:
            accounts.create(email=email, password=password, roles=[role], scopes=scopes,
                            display_name=DEMO_NAMES.get(role, email.split("@")[0]),
                            check_policy=False)
        printed.append((email, role, scope_label))
    for loader in DEMO_LOADERS:
        loader(enterprises, months)
    return printed
