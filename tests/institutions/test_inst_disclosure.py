"""Disclosure end to end on the real engine: the institution submits a complete year, the
government reviewer of its region finds it in the inbox and returns it, the institution
corrects a month and resubmits from its inbox, the reviewer approves, and the public page
(no login) shows the approved figures; a reviewer of another region never sees the task."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from app.audit.models import AuditRecord
from app.uow import commit
from app.workflow import assignment
from app.workflow import service as workflow
from tests.institutions.conftest import fill_year, month


def _inbox(user, db):
    return list(db.session.scalars(assignment.tasks_query(user=user)))


def test_submit_return_resubmit_approve_publish(client, world):
    db, h = world["db"], world["h"]["member_a"]
    fill_year(client, h, "PI-T-A", 2025, electricity=100, gas=1)
    # an incomplete year is refused, naming the year
    client.post("/api/v1/institutions/PI-T-A/energy", json=month(2024, 1, electricity=1),
                headers=h)
    r = client.post("/api/v1/institutions/PI-T-A/disclosures", json={"year": 2024}, headers=h)
    assert r.status_code == 422 and "12 个月" in r.get_json()["error"]["fields"]["year"]
    r = client.post("/api/v1/institutions/PI-T-A/disclosures", json={"year": 2025}, headers=h)
    assert r.status_code == 201, r.get_json()
    case_id = r.get_json()["case_id"]
    again = client.post("/api/v1/institutions/PI-T-A/disclosures", json={"year": 2025},
                        headers=h)
    assert again.status_code == 422 and "已提交" in again.get_json()["error"]["message"]
    # the year is frozen while under review
    frozen = client.post("/api/v1/institutions/PI-T-A/energy",
                         json=month(2025, 3, electricity=1), headers=h)
    assert frozen.status_code == 422 and "审核中" in frozen.get_json()["error"]["fields"]["year"]
    assert client.get("/api/v1/public/institutions/PI-T-A/disclosures").status_code == 404

    reviewer, far = world["reviewer"], world["far_reviewer"]
    tasks = [t for t in _inbox(reviewer, db) if t.instance_id == case_id]
    assert [t.name for t in tasks] == ["review"]
    assert not [t for t in _inbox(far, db) if t.instance_id == case_id]
    assert not [t for t in _inbox(world["member_b"], db) if t.instance_id == case_id]
    hh = world["h"]
    for who in ("far_reviewer", "member_b", "enterprise", "bank"):
        assert client.get(f"/api/v1/process-instances/{case_id}",
                          headers=hh[who]).status_code == 404, who
        assert client.get(f"/api/v1/tasks/{tasks[0].id}", headers=hh[who]).status_code == 404
        r = client.post(f"/api/v1/tasks/{tasks[0].id}/complete", headers=hh[who],
                        json={"data": {"decision": "approve"}})
        assert r.status_code in (403, 404), (who, r.status_code)
    # the institution follows its case but cannot decide it
    assert client.get(f"/api/v1/process-instances/{case_id}", headers=h).status_code == 200
    r = client.post(f"/api/v1/tasks/{tasks[0].id}/complete", headers=h,
                    json={"data": {"decision": "approve"}})
    assert r.status_code == 403
    # the review page shows the locked figures (browser-free)
    from tests.conftest import login

    login(client, reviewer)
    page = client.get(f"/workflow/tasks/{tasks[0].id}").get_data(as_text=True)
    assert "范围一" in page and "2025 年公示数据" in page
    client.post("/auth/logout")
    inst = workflow.complete(task_id=tasks[0].id, user=reviewer,
                             data={"decision": "return", "comment": "3 月电量与电费单不符"})
    commit()
    lst = client.get("/api/v1/institutions/PI-T-A/disclosures", headers=h).get_json()
    assert lst["items"][0]["status"] == "returned"
    assert lst["items"][0]["comment"] == "3 月电量与电费单不符"
    # correct March, then resubmit from the institution's inbox
    r = client.post("/api/v1/institutions/PI-T-A/energy",
                    json=month(2025, 3, electricity=90, natural_gas=1), headers=h)
    assert r.status_code == 201
    mine = [t for t in _inbox(world["member_a"], db) if t.instance_id == case_id]
    assert [t.name for t in mine] == ["resubmit"]
    assert not [t for t in _inbox(world["member_b"], db) if t.instance_id == case_id]
    inst = workflow.complete(task_id=mine[0].id, user=world["member_a"],
                             data={"response": "已按电费单更正 3 月电量"})
    commit()
    task = next(t for t in workflow.current_tasks(inst=inst) if t.name == "review")
    inst = workflow.complete(task_id=task.id, user=reviewer,
                             data={"decision": "approve", "comment": "同意公示"})
    commit()
    assert inst.status == "completed"
    body = client.get("/api/v1/public/institutions/PI-T-A/disclosures").get_json()
    figures = body["items"][0]["figures"]
    # (11 × 100 + 90) MWh × 0.4974 = 591.906 t (scope 2); 12 × 21.621888 t gas (scope 1)
    assert Decimal(figures["scope2"]) == Decimal("591.906")
    assert Decimal(figures["scope1"]) == Decimal("259.462656")
    client.post("/auth/logout")
    page = client.get("/disclosure/institutions/PI-T-A")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "测试市第一中学" in text and "591.906" in text and "范围二" in text
    assert "电力" in text and "天然气" in text and "公告" in text  # names, factor sources
    assert "测试市第一中学" in client.get("/disclosure/institutions/").get_data(as_text=True)
    # published years are frozen; every step is audited
    frozen = client.post("/api/v1/institutions/PI-T-A/energy",
                         json=month(2025, 3, electricity=1), headers=h)
    assert "已公示" in frozen.get_json()["error"]["fields"]["year"]
    actions = set(db.session.scalars(select(AuditRecord.action).where(
        AuditRecord.action.like("institution.disclosure.%"))))
    assert actions >= {"institution.disclosure.submit", "institution.disclosure.return",
                       "institution.disclosure.publish"}
    assert client.get("/disclosure/institutions/PI-T-B").status_code == 404


def test_only_members_start_a_disclosure(client, world):
    from app.workflow.errors import Forbidden

    h = world["h"]["member_a"]
    fill_year(client, h, "PI-T-A", 2025)
    for who in ("member_b", "reviewer"):
        try:
            workflow.start(model="institution_disclosure",
                           data={"institution": "PI-T-A", "year": 2025}, user=world[who])
        except Forbidden:
            pass
        else:
            raise AssertionError(f"{who} started a disclosure of another institution")
