"""Onboarding as the BPMN process `institution_onboarding`: the application starts a case,
the review task is in the platform administrators' inbox with the application's context,
the decision API and the inbox complete the same task, a return continues in the same case
after the applicant's changes, the invitation's acceptance switches the workspace on, and a
re-activation goes through its own review task. Repeated decisions are 409; the case is
visible only to the platform and the organisation itself."""

from __future__ import annotations

from sqlalchemy import select

from app.audit.models import AuditRecord
from app.onboarding.models import Application
from app.workflow.models import ProcessInstance, TaskHistory
from tests.conftest import login
from tests.onboarding.conftest import application_body

PASSWORD = "Org#Admin-Pass-2026x"


def _apply(client, **over) -> tuple[str, dict]:
    body = application_body(**over)
    r = client.post("/api/v1/onboarding/applications", json=body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"], body


def _app(reference, uid: str) -> Application:
    reference.session.expire_all()
    return reference.session.scalar(select(Application).where(Application.uid == uid))


def _tasks(client, headers, process="institution_onboarding") -> list[dict]:
    r = client.get(f"/api/v1/tasks?process={process}", headers=headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _task_of(client, headers, case_id: int, name: str) -> dict | None:
    return next((t for t in _tasks(client, headers) if t["instance_id"] == case_id
                 and t["name"] == name), None)


def _actions(reference, app_id: int) -> list[str]:
    return [r.action for r in reference.session.scalars(select(AuditRecord).where(
        AuditRecord.object_type == "onboarding_application",
        AuditRecord.object_id == str(app_id)).order_by(AuditRecord.seq))]


def test_apply_review_in_inbox_approve_accept_active(client, reference, make_user, auth):
    admin_user = make_user("admin")
    admin = auth(admin_user)
    uid, body = _apply(client, kind="bank")
    a = _app(reference, uid)
    assert a.case_id is not None
    # the review task is in the platform administrators' inbox, not a reviewer's
    task = _task_of(client, admin, a.case_id, "review")
    assert task is not None and task["lane"] == "admin"
    assert body["name"] in task["title"]
    reviewer = auth(make_user("reviewer", region="330500"))
    assert _task_of(client, reviewer, a.case_id, "review") is None
    # the task page shows the application's context: USCC check, intended use, documents
    login(client, admin_user)
    page = client.get(f"/workflow/tasks/{task['id']}").get_data(as_text=True)
    assert 'id="onboarding-context"' in page and body["uscc"] in page
    assert "校验码正确" in page and body["intended_use"] in page
    # the decision API completes that task; the invitation is issued by the process
    url = f"/api/v1/onboarding/applications/{uid}/decision"
    r = client.post(url, json={"decision": "approve"}, headers=admin)
    assert r.status_code == 200 and r.get_json()["status"] == "approved", r.get_json()
    token = r.get_json()["invitation_url"].rsplit("/", 1)[1]
    assert _task_of(client, admin, a.case_id, "review") is None
    inst = reference.session.get(ProcessInstance, a.case_id)
    assert inst.status == "running"  # waiting for the acceptance
    # a repeated decision is a clear 409, with no second effect
    for decision in ("approve", "reject"):
        r = client.post(url, json={"decision": decision, "reason": "再次"}, headers=admin)
        assert r.status_code == 409, r.get_json()
    # the acceptance correlates the waiting step; the case switches the workspace on
    r = client.post(f"/api/v1/onboarding/invitations/{token}/accept",
                    json={"password": PASSWORD, "accept_agreement": True})
    assert r.status_code == 201, r.get_json()
    a = _app(reference, uid)
    assert a.status == "active" and a.institution_id is not None
    reference.session.expire_all()
    assert reference.session.get(ProcessInstance, a.case_id).status == "completed"
    steps = [h.action for h in reference.session.scalars(select(TaskHistory).where(
        TaskHistory.instance_id == a.case_id).order_by(TaskHistory.id))]
    assert steps[0] == "start" and "complete" in steps and "message" in steps
    assert _actions(reference, a.id) == ["onboarding.apply", "onboarding.approve",
                                         "onboarding.invite", "onboarding.agreement_accept",
                                         "onboarding.activate"]
    # a second acceptance of the used link: 404, nothing changes
    r = client.post(f"/api/v1/onboarding/invitations/{token}/accept",
                    json={"password": PASSWORD, "accept_agreement": True})
    assert r.status_code == 404


def test_return_resubmit_same_case_then_approve_in_inbox(client, reference, make_user, auth):
    admin = auth(make_user("admin"))
    uid, body = _apply(client)
    case_id = _app(reference, uid).case_id
    url = f"/api/v1/onboarding/applications/{uid}/decision"
    r = client.post(url, json={"decision": "return", "reason": "请补充事业单位法人证书"},
                    headers=admin)
    assert r.status_code == 200 and r.get_json()["status"] == "returned"
    link = r.get_json()["resubmit_url"]
    token = link.rsplit("/", 1)[1]
    assert "invitation_url" not in r.get_json()
    assert _task_of(client, admin, case_id, "review") is None
    # the applicant's page shows the reason; bad input is named; unknown links are 404
    page = client.get(f"/onboarding/resubmit/{token}")
    assert page.status_code == 200 and "请补充事业单位法人证书" in page.get_data(as_text=True)
    assert client.get("/onboarding/resubmit/nope").status_code == 404
    assert client.post("/api/v1/onboarding/resubmissions/nope",
                       json={"intended_use": "x" * 20}).status_code == 404
    r = client.post(f"/api/v1/onboarding/resubmissions/{token}",
                    json={"contact_email": "not-an-address"})
    assert r.status_code == 422 and "contact_email" in r.get_json()["error"]["fields"]
    assert _app(reference, uid).status == "returned"
    # the page takes the changes and a document; the same case goes back to review
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    import io

    form = {"name": body["name"], "contact_name": "王联系", "contact_phone": "0572-7654321",
            "contact_email": body["contact_email"],
            "intended_use": "补充：开展区域碳效研究并使用聚合去标识化数据（已附法人证书）。",
            "documents": (io.BytesIO(pdf), "法人证书.pdf")}
    r = client.post(f"/onboarding/resubmit/{token}", data=form,
                    content_type="multipart/form-data")
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    a = _app(reference, uid)
    assert a.status == "submitted" and a.case_id == case_id and a.contact_name == "王联系"
    assert client.get(f"/onboarding/resubmit/{token}").status_code == 404  # single use
    task = _task_of(client, admin, case_id, "review")
    assert task is not None
    # approve from the inbox (the task API): the same hooks; the link comes from /links
    r = client.post(f"/api/v1/tasks/{task['id']}/complete",
                    json={"data": {"decision": "approve"}}, headers=admin)
    assert r.status_code == 200, r.get_json()
    assert _app(reference, uid).status == "approved"
    r = client.post(f"/api/v1/onboarding/applications/{uid}/links", headers=admin)
    assert r.status_code == 200, r.get_json()
    token = r.get_json()["invitation_url"].rsplit("/", 1)[1]
    r = client.post(f"/api/v1/onboarding/invitations/{token}/accept",
                    json={"password": PASSWORD, "accept_agreement": True})
    assert r.status_code == 201, r.get_json()
    a = _app(reference, uid)
    assert a.status == "active"
    assert reference.session.get(ProcessInstance, case_id).status == "completed"
    actions = _actions(reference, a.id)
    assert actions[:5] == ["onboarding.apply", "onboarding.return", "onboarding.documents",
                           "onboarding.resubmit", "onboarding.approve"]
    assert "onboarding.activate" in actions


def test_reject_ends_the_case_and_the_inbox_enforces_reasons(client, reference, make_user,
                                                              auth):
    admin = auth(make_user("admin"))
    uid, _ = _apply(client)
    case_id = _app(reference, uid).case_id
    task = _task_of(client, admin, case_id, "review")
    # the inbox runs the same checks: a rejection needs its reason
    r = client.post(f"/api/v1/tasks/{task['id']}/complete",
                    json={"data": {"decision": "reject"}}, headers=admin)
    assert r.status_code == 422 and "reason" in r.get_json()["error"]["fields"]
    r = client.post(f"/api/v1/onboarding/applications/{uid}/decision",
                    json={"decision": "reject", "reason": "不属于可入驻机构"}, headers=admin)
    assert r.status_code == 200 and r.get_json()["status"] == "rejected"
    assert reference.session.get(ProcessInstance, case_id).status == "completed"
    # the task is done: completing it again (inbox) or deciding again (API) is 409
    r = client.post(f"/api/v1/tasks/{task['id']}/complete",
                    json={"data": {"decision": "approve"}}, headers=admin)
    assert r.status_code == 409
    r = client.post(f"/api/v1/onboarding/applications/{uid}/decision",
                    json={"decision": "approve"}, headers=admin)
    assert r.status_code == 409
    assert _actions(reference, _app(reference, uid).id) == ["onboarding.apply",
                                                             "onboarding.reject"]
    # a rejected application has no link to reissue
    r = client.post(f"/api/v1/onboarding/applications/{uid}/links", headers=admin)
    assert r.status_code == 409


def test_reactivation_goes_through_a_review_task(client, reference, onboard, admin_headers,
                                                 make_user, auth):
    from app.identity.models import User
    from tests.conftest import api_token

    org, email, pw = onboard()
    uid = org["id"]
    base = f"/api/v1/onboarding/applications/{uid}"
    r = client.post(f"{base}/suspend", json={"reason": "资质到期"}, headers=admin_headers)
    assert r.status_code == 200 and r.get_json()["status"] == "suspended"
    # a re-activation request puts a review task in the administrators' inbox
    r = client.post(f"{base}/reactivation-request", json={"reason": "已提交新资质"},
                    headers=admin_headers)
    assert r.status_code == 201, r.get_json()
    case_id = r.get_json()["case_id"]
    task = _task_of(client, admin_headers, case_id, "reactivation_review")
    assert task is not None and "恢复审核" in task["title"]
    assert client.post(f"{base}/reactivation-request", json={"reason": "再次"},
                       headers=admin_headers).status_code == 409
    # refusing in the inbox: still suspended, audited; a new request, then approval
    r = client.post(f"/api/v1/tasks/{task['id']}/complete",
                    json={"data": {"decision": "reject", "reason": "资质仍未更新"}},
                    headers=admin_headers)
    assert r.status_code == 200, r.get_json()
    assert _app(reference, uid).status == "suspended"
    r = client.post(f"{base}/reactivate", json={}, headers=admin_headers)
    assert r.status_code == 422 and "reason" in r.get_json()["error"]["fields"]
    r = client.post(f"{base}/reactivate", json={"reason": "新资质已核验"}, headers=admin_headers)
    assert r.status_code == 200 and r.get_json()["status"] == "active", r.get_json()
    assert r.get_json()["accounts"] == 1
    new_case = _app(reference, uid).case_id
    assert new_case != case_id
    assert reference.session.get(ProcessInstance, new_case).status == "completed"
    r = client.post(f"{base}/reactivate", json={"reason": "再次"}, headers=admin_headers)
    assert r.status_code == 409
    user = reference.session.scalar(select(User).where(User.email == email))
    h = api_token(client, user, password=pw)
    assert client.get("/api/v1/onboarding/organisation", headers=h).status_code == 200
    actions = _actions(reference, _app(reference, uid).id)
    assert actions[-3:] == ["onboarding.suspend", "onboarding.reactivation_refused",
                            "onboarding.reactivate"]
    # only the platform administrator asks for or decides a re-activation
    assert client.post(f"{base}/reactivation-request", json={"reason": "x"},
                       headers=h).status_code == 403


def test_cases_and_new_endpoints_are_isolated(client, reference, onboard, admin_headers,
                                              make_user, auth):
    from app.identity.models import User
    from tests.conftest import api_token

    org_a, email_a, pw = onboard()
    org_b, email_b, _ = onboard(kind="bank")
    a, b = _app(reference, org_a["id"]), _app(reference, org_b["id"])
    ua = reference.session.scalar(select(User).where(User.email == email_a))
    h_a = api_token(client, ua, password=pw)
    # the organisation sees its own onboarding case; another organisation, a bank, an
    # enterprise get 404 for it
    assert client.get(f"/api/v1/process-instances/{a.case_id}", headers=h_a).status_code == 200
    assert client.get(f"/api/v1/process-instances/{b.case_id}", headers=h_a).status_code == 404
    from app.refdata.uscc import make_uscc

    ent = auth(make_user("enterprise", enterprise=make_uscc("91330500000000001")))
    reviewer = auth(make_user("reviewer", region="330500"))
    for h in (ent, reviewer):
        assert client.get(f"/api/v1/process-instances/{a.case_id}",
                          headers=h).status_code == 404
    # no one but the platform administrators has onboarding tasks
    uid, _ = _apply(client)
    assert _tasks(client, h_a) == [] and _tasks(client, ent) == []
    assert _tasks(client, reviewer) == []
    # the administrator endpoints refuse everyone else
    for path in (f"/api/v1/onboarding/applications/{uid}/links",
                 f"/api/v1/onboarding/applications/{uid}/reactivation-request"):
        assert client.post(path, json={"reason": "x"}, headers=h_a).status_code == 403
        assert client.post(path, json={"reason": "x"}).status_code == 401


def test_concurrent_decisions_one_wins(app, client, reference, make_user, auth):
    """Two administrators deciding the same application at the same moment: one decision,
    the other a 409; one audit record, one invitation at most."""
    import threading

    from app.onboarding.models import Invitation

    if reference.engine.dialect.name != "postgresql":
        import pytest

        pytest.skip("row locks: PostgreSQL")
    heads = [auth(make_user("admin")), auth(make_user("admin"))]
    uid, _ = _apply(client)
    url = f"/api/v1/onboarding/applications/{uid}/decision"
    barrier, codes = threading.Barrier(2), []
    bodies = [{"decision": "approve"}, {"decision": "reject", "reason": "资质不符"}]

    def worker(i: int) -> None:
        c = app.test_client()
        barrier.wait()
        codes.append(c.post(url, json=bodies[i], headers=heads[i]).status_code)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(codes) == [200, 409], codes
    a = _app(reference, uid)
    decided = [x for x in _actions(reference, a.id)
               if x in ("onboarding.approve", "onboarding.reject")]
    assert len(decided) == 1
    invitations = reference.session.scalars(select(Invitation).where(
        Invitation.application_id == a.id)).all()
    assert len(invitations) == (1 if a.status == "approved" else 0)
