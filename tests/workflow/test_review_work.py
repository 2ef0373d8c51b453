"""Review work: one open report case per enterprise and period (a second start is refused
with a link to the open one); the enterprise withdraws (撤回) a case before review starts,
never after; the reviewer's task page gives the review its context."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.uow import commit
from app.workflow import service
from app.workflow.errors import Conflict
from app.workflow.models import ProcessInstance, WorkTask
from tests.conftest import enrol_totp, login

from .conftest import YEAR


def test_a_second_report_for_the_same_period_is_refused_with_the_open_case(world, client):
    inst = world.start()
    with pytest.raises(Conflict) as exc:
        service.start(model="enterprise_report", data={"year": YEAR}, user=world.company)
    assert exc.value.fields["open_case"] == inst.id and exc.value.code == "case_open"
    db.session.rollback()
    other = world.start(year=YEAR - 1)  # another period is fine
    assert other.id != inst.id
    login(client, world.company)
    page = client.post("/workflow/start", data={"model": "enterprise_report",
                                                "year": str(YEAR)}).get_data(as_text=True)
    assert 'id="open-case"' in page and f"/workflow/instances/{inst.id}" in page
    assert page.count('role="alert"') == 1  # said once, not flashed a second time


def test_withdraw_before_review_starts_and_never_after(world, client):
    inst = world.start()
    assert not service.withdrawable(inst=inst, user=world.company)  # not submitted yet
    inst = world.do(inst, "submit_report", world.company, {"confirm": True})
    assert not service.withdrawable(inst=inst, user=world.company_b)
    assert service.withdrawable(inst=inst, user=world.company)
    login(client, world.company)
    page = client.get(f"/workflow/instances/{inst.id}").get_data(as_text=True)
    assert 'id="withdraw"' in page
    r = client.post(f"/workflow/instances/{inst.id}/withdraw", data={"reason": "数据有误"})
    assert r.status_code == 302
    db.session.expire_all()
    inst = db.session.get(ProcessInstance, inst.id)
    assert inst.status == "withdrawn" and inst.status_label == "已撤回"
    assert db.session.scalars(select(WorkTask).where(
        WorkTask.instance_id == inst.id)).all() == []  # gone from every inbox
    again = world.start()  # the period is free again
    again = world.do(again, "submit_report", world.company, {"confirm": True})
    task = world.only_task(again)
    service.claim(task_id=task.id, user=world.reviewer)  # review has started
    commit()
    assert not service.withdrawable(inst=again, user=world.company)
    with pytest.raises(Conflict):
        service.withdraw(instance_id=again.id, user=world.company)


def test_the_task_page_gives_the_review_its_context(world, client):
    inst = world.start()
    inst = world.do(inst, "submit_report", world.company, {"confirm": True})
    service.return_task(task_id=world.only_task(inst).id, user=world.reviewer,
                        comment="3 月电量与电网数据不符")
    commit()
    inst = world.do(inst, "submit_report", world.company, {"confirm": True,
                                                            "explanation": "已按电网数据更正"})
    task = world.only_task(inst)
    enrol_totp(world.reviewer)
    login(client, world.reviewer)
    page = client.get(f"/workflow/tasks/{task.id}").get_data(as_text=True)
    assert 'id="review-context"' in page
    assert f"/accounts/{world.ent.uscc}" in page  # the account is one click away
    assert 'id="monthly-breakdown"' in page and f"{YEAR}-12" in page
    assert "3 月电量与电网数据不符" in page and "已按电网数据更正" in page  # return + answer
    assert 'id="self-check"' in page
