"""processes/factor_check end to end: errors against measured results, the verification
body's decision, the SM2-signed record, certified versions; and the metrics by hand."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.uow import commit


def test_metrics_by_hand():
    from app.factors.checks import metrics

    m = metrics([110, 95, 100], [100, 100, 100], tolerance_pct=5)
    assert m["mape_pct"] == pytest.approx(5.0)
    assert m["bias_pct"] == pytest.approx(5 / 3)
    assert m["max_error_pct"] == pytest.approx(10.0)
    assert m["passed"] is True and m["n"] == 3
    assert metrics([110], [100], tolerance_pct=5)["passed"] is False


@pytest.fixture()
def bodies(db):
    """Two accredited verification bodies (VB-A first by code, so auto-assigned)."""
    from datetime import date

    from app.orgs.models import VerificationBody

    db.session.add_all([
        VerificationBody(code="VB-A", name="甲核查中心", region_code="330000",
                         accreditation="CNAS-A", accreditation_scope="*",
                         accredited_until=date(2099, 12, 31)),
        VerificationBody(code="VB-B", name="乙核查中心", region_code="330000",
                         accreditation="CNAS-B", accreditation_scope="*")])
    commit()
    return ("VB-A", "VB-B")


def _run(world_user, verifier, data):
    from app.workflow import service

    inst = service.start(model="factor_check", data=data, user=world_user)
    commit()
    assert inst.status == "running", inst.error if hasattr(inst, "error") else inst.status
    (task,) = service.current_tasks(inst=inst)
    assert task.name == "verify" and task.lane == "verifier"
    return inst, task


def test_enterprise_check_signed_and_certified(db, make_ent, history, make_user, bodies):
    from app.factors import checks, library
    from app.factors.models import FactorCheck
    from app.workflow import deploy, service
    from app.workflow.errors import NotFound

    ent = make_ent(81)
    history(ent)
    library.compute()
    deploy.deploy_builtins()
    commit()
    reviewer = make_user("reviewer", region="330500")
    verifier = make_user("verifier", verification_body="VB-A")
    outsider = make_user("verifier", region="330100")
    inst, task = _run(reviewer, verifier, {"subject": "enterprise",
                                           "enterprise_uscc": ent.uscc, "tolerance_pct": 10})
    data = service.task_data(inst)
    assert data["check"]["basis"] == "accounts" and data["check"]["n"] == 24
    assert data["check"]["passed"] is True and data["check"]["mape_pct"] < 10
    with pytest.raises(NotFound):  # a verifier outside the case sees no such task
        service.complete(task_id=task.id, user=outsider, data={"decision": "confirm"})
    db.session.rollback()
    inst = service.complete(task_id=task.id, user=verifier,
                            data={"decision": "confirm", "comment": "抽查 3 个月，一致"})
    commit()
    assert inst.status == "completed"
    rec = db.session.scalars(select(FactorCheck)).one()
    assert rec.passed and rec.subject == "enterprise" and rec.n == 24
    statement = json.loads(rec.statement)
    assert statement["body_decision"] == "confirm" and statement["verifier"] == verifier.email
    assert checks.verify(rec)
    rec.statement = rec.statement.replace('"passed":true', '"passed":false')
    assert not checks.verify(rec)
    db.session.rollback()
    cur = library.current(enterprise_id=ent.id)
    assert (cur.origin, cur.version, cur.check_id) == ("certified", 2, rec.id)
    assert [h.origin for h in library.history(enterprise_id=ent.id)] == ["certified",
                                                                          "computed"]


def test_rejected_or_out_of_tolerance_is_signed_but_not_certified(db, make_ent, history,
                                                                   make_user, bodies):
    from app.factors import library
    from app.factors.models import FactorCheck
    from app.workflow import deploy, service

    ent = make_ent(82)
    history(ent)
    library.compute()
    deploy.deploy_builtins()
    commit()
    reviewer = make_user("reviewer", region="330500")
    verifier = make_user("verifier", verification_body="VB-B")
    inst, task = _run(reviewer, verifier, {"subject": "enterprise",
                                           "enterprise_uscc": ent.uscc, "body_code": "VB-B",
                                           "tolerance_pct": 0.0001})
    assert service.task_data(inst)["check"]["passed"] is False
    service.complete(task_id=task.id, user=verifier, data={"decision": "confirm"})
    commit()
    rec = db.session.scalars(select(FactorCheck)).one()
    assert rec.passed is False and json.loads(rec.statement)["computed_pass"] is False
    assert library.current(enterprise_id=ent.id).origin == "computed"


def test_regional_check_against_official_factors(db, reference, make_user, bodies):
    from app.factors import regional
    from app.factors.models import FactorCheck, RegionalNetwork
    from app.workflow import deploy, service

    net = regional.load_demo()
    deploy.deploy_builtins()
    commit()
    approver = make_user("approver", region="330000")
    verifier = make_user("verifier", verification_body="VB-A")
    inst, task = _run(approver, verifier, {"subject": "region", "network_id": net.id,
                                           "region_code": "330000", "tolerance_pct": 50})
    chk = service.task_data(inst)["check"]
    assert chk["n"] == 30 and chk["basis"] == "official_provincial_factors" and chk["is_demo"]
    service.complete(task_id=task.id, user=verifier, data={"decision": "confirm"})
    commit()
    rec = db.session.scalars(select(FactorCheck)).one()
    net = db.session.get(RegionalNetwork, net.id)
    assert rec.subject == "region" and rec.network_id == net.id
    assert net.status == ("certified" if rec.passed else "simulated")
    assert rec.passed == (float(rec.mape_pct) <= 50)


def test_check_from_the_page_and_the_signed_record_api(client, db, make_ent, history,
                                                       make_user, auth, bodies):
    from app.factors import library
    from app.workflow import deploy, service
    from tests.conftest import enrol_totp, login

    ent, other = make_ent(83), make_ent(84, region="330106")
    history(ent)
    history(other, seed=9)
    library.compute()
    deploy.deploy_builtins()
    commit()
    approver = make_user("approver", region="330000")
    verifier = make_user("verifier", verification_body="VB-A")
    enrol_totp(approver)
    login(client, approver)
    r = client.post(f"/factors/enterprises/{ent.uscc}/check", data={"tolerance_pct": "abc"},
                    follow_redirects=True)
    assert "容差应为" in r.get_data(as_text=True)
    r = client.post(f"/factors/enterprises/{ent.uscc}/check", data={"tolerance_pct": "15"})
    assert r.status_code == 302 and "/workflow/instances/" in r.headers["Location"]
    inst_id = int(r.headers["Location"].rsplit("/", 1)[1])
    from app.workflow.models import ProcessInstance

    inst = db.session.get(ProcessInstance, inst_id)
    (task,) = service.current_tasks(inst=inst)
    service.complete(task_id=task.id, user=verifier, data={"decision": "confirm"})
    commit()
    html = client.get(f"/factors/enterprises/{ent.uscc}").get_data(as_text=True)
    assert "SM2 签名有效" in html and "第三方认证" in html
    from app.factors.models import FactorCheck

    rec = db.session.scalars(select(FactorCheck)).one()
    client.post("/auth/logout")  # from here on, only the tokens speak
    owner = make_user("enterprise", enterprise=ent.uscc)
    body = client.get(f"/api/v1/factors/checks/{rec.id}", headers=auth(owner)).get_json()
    assert body["signature_valid"] is True and body["passed"] is True
    assert json.loads(body["statement"])["enterprise"] == ent.uscc
    stranger = make_user("enterprise", enterprise=other.uscc)
    assert client.get(f"/api/v1/factors/checks/{rec.id}",
                      headers=auth(stranger)).status_code == 404
