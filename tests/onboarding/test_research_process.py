"""Research data requests as the BPMN process `research_data_request`: the review task is
in the platform administrators' inbox, a return gives the requesting institute an amend task
(and no one else), the amended request goes back to review in the same case, and an approval
- from the API or the inbox - runs the export with the disclosure rules still applied."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from app.workflow.models import ProcessInstance
from tests.onboarding.test_research import BODY, _accounts, _member

PROCESS = "research_data_request"


def _tasks(client, headers) -> list[dict]:
    r = client.get(f"/api/v1/tasks?process={PROCESS}", headers=headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _task(client, headers, case_id: int, name: str) -> dict | None:
    return next((t for t in _tasks(client, headers)
                 if t["instance_id"] == case_id and t["name"] == name), None)


def test_request_return_amend_approve_in_one_case(app, client, reference, onboard, make_user,
                                                  auth):
    _accounts(reference, region="330502", industry="3011", co2=[100] * 6, seq=11)   # published
    _accounts(reference, region="330502", industry="2611", co2=[100, 120], seq=12)  # < k
    _accounts(reference, region="330502", industry="3120", co2=[900, 10, 10, 10, 10, 10],
              seq=13)                                                                # dominated
    org_a, _, h_a = _member(client, reference, onboard)
    email_a, pw_a = org_a["contact_email"], "Org#Admin-Pass-2026x"
    _, _, h_b = _member(client, reference, onboard)
    _, _, h_bank = _member(client, reference, onboard, kind="bank")
    admin = auth(make_user("admin"))
    r = client.post("/api/v1/research/requests", headers=h_a,
                    json={**BODY, "period_to": "2026-12"})
    assert r.status_code == 201, r.get_json()
    uid, case_id = r.get_json()["id"], r.get_json()["case_id"]
    assert case_id is not None
    # the review task: the administrators' inbox only; the case: the institute and admins
    assert _task(client, admin, case_id, "review") is not None
    for h in (h_a, h_b, h_bank):
        assert _task(client, h, case_id, "review") is None
    assert client.get(f"/api/v1/process-instances/{case_id}", headers=h_a).status_code == 200
    for h in (h_b, h_bank):
        assert client.get(f"/api/v1/process-instances/{case_id}",
                          headers=h).status_code == 404
    # return: the requesting institute's members get the amend task, no one else
    r = client.post(f"/api/v1/research/requests/{uid}/decision", headers=admin,
                    json={"decision": "return", "reason": "请将期间限定在 2025 年"})
    assert r.status_code == 200 and r.get_json()["status"] == "returned", r.get_json()
    amend = _task(client, h_a, case_id, "amend")
    assert amend is not None and amend["lane"] == "research"
    assert _task(client, h_b, case_id, "amend") is None
    assert _task(client, admin, case_id, "amend") is None
    # its page shows the request and the reason beside the form
    from app.identity.models import User
    from tests.conftest import enrol_totp, login

    member = reference.session.scalar(select(User).where(User.email == email_a))
    enrol_totp(member)
    browser = app.test_client()  # a session of its own: the API calls below use tokens
    login(browser, member, password=pw_a)
    page = browser.get(f"/workflow/tasks/{amend['id']}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="research-context"' in text
    assert "请将期间限定在 2025 年" in text and 'name="purpose"' in text
    r = client.post(f"/api/v1/tasks/{amend['id']}/complete", headers=h_b,
                    json={"data": {**BODY}})
    assert r.status_code == 404
    # a repeated decision on a returned request: 409
    assert client.post(f"/api/v1/research/requests/{uid}/decision", headers=admin,
                       json={"decision": "approve"}).status_code == 409
    # the amend task checks the request like the API (fields named)
    r = client.post(f"/api/v1/tasks/{amend['id']}/complete", headers=h_a,
                    json={"data": {**BODY, "regions": ["339999"]}})
    assert r.status_code == 422 and "regions" in r.get_json()["error"]["fields"]
    # the API resubmission completes the amend task: the same case is back in review
    r = client.post(f"/api/v1/research/requests/{uid}/resubmit", headers=h_a, json=BODY)
    assert r.status_code == 200 and r.get_json()["status"] == "submitted", r.get_json()
    assert r.get_json()["case_id"] == case_id and r.get_json()["period_to"] == "2025-12"
    assert client.post(f"/api/v1/research/requests/{uid}/resubmit", headers=h_a,
                       json=BODY).status_code == 409
    review = _task(client, admin, case_id, "review")
    assert review is not None
    # approve from the inbox: the export job runs (embedded mode) with suppression
    r = client.post(f"/api/v1/tasks/{review['id']}/complete", headers=admin,
                    json={"data": {"decision": "approve"}})
    assert r.status_code == 200, r.get_json()
    reference.session.expire_all()
    assert reference.session.get(ProcessInstance, case_id).status == "completed"
    body = client.get(f"/api/v1/research/requests/{uid}/export", headers=h_a).get_json()
    assert body["request"]["status"] == "ready"
    rows = {row["industry_code"]: row for row in body["rows"]}
    assert rows["30"]["enterprises"] == 6 and Decimal(rows["30"]["co2"]) == Decimal("600.00")
    assert rows["26"]["suppressed"] and rows["26"]["co2"] is None
    assert rows["26"]["enterprises"] is None
    assert rows["31"]["suppressed"] and "50%" in rows["31"]["reason"]
    assert client.get(f"/api/v1/research/requests/{uid}/export", headers=h_b).status_code == 404
    # decided: a second approval or rejection is 409, the export is not rebuilt
    for decision in ("approve", "reject"):
        r = client.post(f"/api/v1/research/requests/{uid}/decision", headers=admin,
                        json={"decision": decision, "reason": "再次审批"})
        assert r.status_code == 409
    from app.audit.models import AuditRecord

    actions = list(reference.session.scalars(select(AuditRecord.action).where(
        AuditRecord.object_id == uid).order_by(AuditRecord.seq)))
    assert actions[:4] == ["research.request", "research.return", "research.resubmit",
                           "research.approve"]
    assert actions.count("research.export_built") == 1


def test_reject_ends_the_case(client, reference, onboard, make_user, auth):
    _, _, h_a = _member(client, reference, onboard)
    admin = auth(make_user("admin"))
    r = client.post("/api/v1/research/requests", headers=h_a, json=BODY)
    uid, case_id = r.get_json()["id"], r.get_json()["case_id"]
    review = _task(client, admin, case_id, "review")
    r = client.post(f"/api/v1/tasks/{review['id']}/complete", headers=admin,
                    json={"data": {"decision": "reject", "reason": "x"}})
    assert r.status_code == 422 and "reason" in r.get_json()["error"]["fields"]
    r = client.post(f"/api/v1/research/requests/{uid}/decision", headers=admin,
                    json={"decision": "reject", "reason": "用途与申请数据不符"})
    assert r.status_code == 200 and r.get_json()["status"] == "rejected"
    reference.session.expire_all()
    assert reference.session.get(ProcessInstance, case_id).status == "completed"
    assert client.get(f"/api/v1/research/requests/{uid}/export", headers=h_a).status_code == 409
