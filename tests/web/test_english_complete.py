"""English complete when switched (issue 12): the main pages of every role carry no Chinese
in English, apart from data values (names stored in the database) and the standard's title;
the catalogue has an English text for every message."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import enrol_totp, login

PO = Path(__file__).resolve().parents[2] / "app/translations/en/LC_MESSAGES/messages.po"
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")

#: pages per role; a page missing for that role (403/404) is skipped, never a 500
PAGES = {
    "enterprise": ["/", "/accounts", "/energy/records", "/energy/factors", "/documents/",
                   "/workflow/inbox", "/notifications", "/profile", "/onboarding/bank",
                   "/factors", "/countries", "/public-institutions", "/trading/projects",
                   "/trading/projects/HZPV01", "/assets/serials",
                   "/assets/serials?serial=HZPV01-2025-000000001"],
    "reviewer": ["/", "/monitoring/region", "/monitoring/industry", "/monitoring/enterprises",
                 "/accounts", "/accounting/benchmarks", "/analytics/anomalies",
                 "/analytics/at-risk", "/analytics/forecast", "/analytics/potential",
                 "/workflow/inbox", "/factors", "/factors/estimates", "/documents/",
                 "/exchange/batches", "/exchange/log", "/exchange/realtime", "/notifications",
                 "/trading/monitoring"],
    "verifier": ["/", "/verification", "/workflow/inbox", "/notifications", "/profile"],
    "admin": ["/", "/admin/", "/admin/alerts/", "/admin/audit_search/", "/admin/users/",
              "/onboarding/review", "/workflow/admin/errors", "/monitoring/institutions"],
    "designer": ["/", "/designer"],
}

#: pages of the demo's onboarded institutions, signed in as the demo account itself
INSTITUTION_PAGES = {
    "research@demo.cecp": ["/", "/research/", "/onboarding/workspace", "/notifications"],
    "bank@demo.cecp": ["/", "/onboarding/bank", "/onboarding/workspace"],
    "exchange@demo.cecp": ["/", "/onboarding/workspace"],
}
#: pages anyone may open before signing in
PUBLIC_PAGES = ["/auth/login", "/onboarding/apply", "/countries", "/public-institutions",
                "/assets/serials"]
#: the security pages of a signed-in user
AUTH_PAGES = ["/auth/change", "/auth/tf-setup", "/auth/mf-recovery-codes", "/profile"]

#: the standard cited in the footer is named by its Chinese title (a citation, not prose)
CITATIONS = ["工业碳效码平台建设应用规范"]
#: a label the demo loader stores inside an audit record's summary (data, shown as recorded)
RECORDED = ["新建用户"]


def _visible(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    page = re.sub(r"<!--.*?-->", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _data_names(db) -> list[str]:
    """Values stored as data and shown as entered: names of enterprises, regions, industries,
    energy types, factors, bodies and people; process and task names written by the process
    designer; factor sources, which cite official Chinese documents by their title; trading
    projects, accounts and the reasons entered for movements; titles of signed documents
    (part of the signed content, issued in Chinese); the source system a meter reports from;
    what people entered in task forms and comments, a data request's purpose and an
    application's intended use."""
    from app.documents.models import Document
    from app.energy.models import EmissionFactor, EnergyType
    from app.exchange.models import Meter
    from app.identity.models import User
    from app.onboarding.models import Application, DataRequest
    from app.orgs.models import Enterprise, Industry, Institution, Region, VerificationBody
    from app.trading.models import Account, Movement, Project
    from app.workflow.models import (
        ProcessInstance,
        ProcessModel,
        ProcessModelVersion,
        TaskHistory,
        WorkTask,
    )

    names: set[str] = set()
    for col in (Enterprise.name, Region.name, Industry.name, EnergyType.name,
                EmissionFactor.name, EmissionFactor.scope_name, EmissionFactor.source,
                EnergyType.tce_source, Institution.name, VerificationBody.name,
                User.display_name, ProcessModel.name, ProcessInstance.title, WorkTask.name,
                TaskHistory.task_name, Project.name, Account.name, Movement.reason,
                Document.title, Meter.source_system, TaskHistory.comment,
                DataRequest.purpose, Application.intended_use):
        names.update(n for n in db.session.scalars(select(col)) if n)
    for data in db.session.scalars(select(TaskHistory.data)):  # what was entered in forms
        names.update(_strings(json.loads(data)) if data else ())
    for files in db.session.scalars(select(ProcessModelVersion.files)):  # BPMN element names
        names.update(html.unescape(n) for n in re.findall(r'name=\\?"([^"\\]+)', files))
    return sorted(names | set(CITATIONS) | set(RECORDED), key=len, reverse=True)


def _strings(node) -> list[str]:
    if isinstance(node, dict):
        node = list(node.values())
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return [node] if isinstance(node, str) else []


def _leftovers(text: str, allowed: list[str]) -> list[str]:
    for name in allowed:
        if CJK.search(name):
            text = text.replace(name, " ")
    return CJK.findall(text)


@pytest.fixture()
def demo(reference, db):
    from app.demo import load_demo

    load_demo(enterprises=8, months=3)
    db.session.commit()
    return db


def _user(make_user, role):
    from app.demo import DEMO_CITY, DEMO_VBODY, demo_enterprise_uscc

    scopes = {"enterprise": {"enterprise": demo_enterprise_uscc()},
              "reviewer": {"region": DEMO_CITY},
              "verifier": {"verification_body": DEMO_VBODY}}.get(role, {})
    user = make_user(role, **scopes)
    if user.requires_two_factor():
        enrol_totp(user)
    return user


@pytest.mark.parametrize("role", sorted(PAGES))
def test_pages_have_no_chinese_in_english(app, client, demo, make_user, role):
    user = _user(make_user, role)
    client.get("/?lang=en")  # chosen before signing in: the sign-in flashes are English too
    login(client, user)
    allowed = _data_names(demo)
    found = {}
    for url in PAGES[role]:
        r = client.get(url + ("&" if "?" in url else "?") + "lang=en")
        assert r.status_code < 500, url
        if r.status_code != 200:
            continue
        left = _leftovers(_visible(r.get_data(as_text=True)), allowed)
        if left:
            found[url] = sorted(set(left))
    assert found == {}


def test_chinese_by_default_without_english_headings(app, client, demo, make_user):
    user = _user(make_user, "reviewer")
    login(client, user)
    client.get("/?lang=zh_CN")
    for url, heading in [("/monitoring/region", "Regions"), ("/workflow/inbox", "Inbox"),
                         ("/factors", "Electricity carbon factors"),
                         ("/exchange/batches", "Data exchange batches")]:
        page = _visible(client.get(url).get_data(as_text=True))
        assert heading not in page, url
        assert CJK.search(page), url
    page = _visible(client.get("/workflow/inbox?lang=en").get_data(as_text=True))
    assert "Inbox" in page


def test_catalogue_complete():
    from babel.messages.pofile import read_po

    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="en")
    empty = [m.id for m in catalog if m.id and not (m.string or "").strip()]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert empty == [] and fuzzy == []
    assert len(catalog) > 900
    cjk_in_english = [m.id for m in catalog if m.id and CJK.search(m.string or "")]
    assert cjk_in_english == []


def _check(client, urls, allowed) -> dict:
    found = {}
    for url in urls:
        r = client.get(url + ("&" if "?" in url else "?") + "lang=en")
        assert r.status_code < 500, url
        if r.status_code != 200:
            continue
        left = _leftovers(_visible(r.get_data(as_text=True)), allowed)
        if left:
            found[url] = sorted(set(left))
    return found


def _case_pages(db, role: str) -> list[str]:
    """The pages of one piece of work: a task and its case, a signed document, a plan."""
    from app.demo import demo_enterprise_uscc
    from app.documents.models import Document
    from app.workflow.models import ProcessInstance, WorkTask

    urls = []
    task = db.session.scalars(select(WorkTask).order_by(WorkTask.id)).first()
    if task is not None:
        urls.append(f"/workflow/tasks/{task.id}")
    for inst in db.session.scalars(select(ProcessInstance).order_by(ProcessInstance.id)
                                   .limit(3)):
        urls.append(f"/workflow/instances/{inst.id}")
    doc = db.session.scalars(select(Document)).first()
    if doc is not None:
        urls.append(f"/documents/{doc.id}")
    if role in ("enterprise", "reviewer"):
        urls.append(f"/analytics/plan/{demo_enterprise_uscc()}")
        urls.append(f"/accounts/{demo_enterprise_uscc()}")
    if role == "enterprise":
        urls += ["/energy/records/new", "/workflow/start"]
    return urls


@pytest.mark.parametrize("role", ["enterprise", "reviewer", "verifier"])
def test_work_pages_in_english(app, client, demo, make_user, role):
    """Task, case, document, plan and entry pages as the role that works on them, and the
    signed-in security pages; a page the role may not open (403/404) is skipped."""
    user = _user(make_user, role)
    client.get("/?lang=en")
    login(client, user)
    allowed = _data_names(demo)
    found = _check(client, _case_pages(demo, role) + AUTH_PAGES, allowed)
    assert found == {}


def test_institution_and_public_pages_in_english(app, client, demo):
    from app.identity import service as accounts

    allowed = _data_names(demo)
    client.get("/?lang=en")
    found = _check(client, PUBLIC_PAGES, allowed)
    for email, urls in INSTITUTION_PAGES.items():
        user = accounts.get_by_email(email=email)
        if user is None:
            continue
        if user.requires_two_factor():
            enrol_totp(user)
        member = app.test_client()
        member.get("/?lang=en")
        login(member, user, password=app.config["CECP_DEMO_PASSWORD"])
        assert member.get("/profile").status_code == 200, email
        found.update({f"{email} {u}": v for u, v in _check(member, urls, allowed).items()})
    assert found == {}
