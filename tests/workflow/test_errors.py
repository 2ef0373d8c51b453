"""A failing service task: the instance goes to the error state (the user's work is kept,
the user sees a clear message), administrators see the error and retry."""

from __future__ import annotations

from sqlalchemy import select

from app.cases.models import ReportPublication
from app.extensions import db
from app.workflow.engine import script_engine
from app.workflow.service import USER_ERROR_MESSAGE

from .conftest import YEAR


def test_failing_publish_then_retry(client, auth, world, monkeypatch):
    real = script_engine._SERVICES["report.publish"]

    def broken(data, **params):
        raise RuntimeError("发布服务不可用")

    monkeypatch.setitem(script_engine._SERVICES, "report.publish", broken)
    inst = world.start()
    inst = world.do(inst, "submit_report", world.company, {"confirm": True})
    inst = world.do(inst, "initial_review", world.reviewer, {"decision": "approve"})
    final = world.only_task(inst)
    approver, admin = auth(world.approver), auth(world.admin)
    r = client.post(f"/api/v1/tasks/{final.id}/complete", headers=approver,
                    json={"data": {"decision": "approve"}})
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "error" and body["message"] == USER_ERROR_MESSAGE
    assert "发布服务不可用" not in (body["error"] or "")
    r = client.get(f"/api/v1/process-instances/{inst.id}", headers=admin)
    assert "发布服务不可用" in r.get_json()["error"]
    assert [h["action"] for h in r.get_json()["history"]][-2:] == ["complete", "error"]
    r = client.post(f"/api/v1/process-instances/{inst.id}/retry", headers=approver)
    assert r.status_code == 403
    r = client.post(f"/api/v1/process-instances/{inst.id}/retry", headers=admin)
    assert r.status_code == 200 and r.get_json()["status"] == "error"  # still broken
    monkeypatch.setitem(script_engine._SERVICES, "report.publish", real)
    r = client.post(f"/api/v1/process-instances/{inst.id}/retry", headers=admin)
    assert r.status_code == 200 and r.get_json()["status"] == "completed", r.get_json()
    assert db.session.scalars(select(ReportPublication)).one().period_key == str(YEAR)
    r = client.post(f"/api/v1/process-instances/{inst.id}/retry", headers=admin)
    assert r.status_code == 409


def test_failing_first_service_task_keeps_the_new_instance(world, monkeypatch):
    from app.workflow import service

    def broken(data, **params):
        raise ValueError("核算库不可用")

    monkeypatch.setitem(script_engine._SERVICES, "report.self_check", broken)
    inst = world.start()
    assert inst.status == "error" and "核算库不可用" in inst.error
    assert service.current_tasks(inst=inst) == []
    assert [i.id for i in service.errored()] == [inst.id]
