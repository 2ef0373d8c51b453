"""A research institute's model run as evidence in the third-party check of factors: the
verify task of a factor_check case lists the latest comparable runs (region covering the
enterprise's, its industry division with metrics) with their errors; the verifier may attach
one - it is recorded on the signed check record and audited; a run that is not comparable is
refused naming the field."""

from __future__ import annotations

from sqlalchemy import select

from app.uow import commit
from tests.accounting.conftest import energy_ref, make_ent  # noqa: F401  (shared fixtures)
from tests.conftest import api_token, login
from tests.factors.conftest import history  # noqa: F401


def _model(client, h, **over) -> str:
    body = {"name": "电碳线性模型", "region": "330500", "period_from": "2023-01",
            "period_to": "2024-12", "parameters": {"30": {"a": 0, "b": 0.9}}, **over}
    r = client.post("/api/v1/research/models", headers=h, json=body)
    assert r.status_code == 201, r.get_json()
    uid = r.get_json()["id"]
    assert client.get(f"/api/v1/research/models/{uid}", headers=h).get_json()["status"] == "done"
    return uid


def test_model_run_attached_to_factor_check(
        app, client, reference, onboard, make_ent, history,  # noqa: F811  (imported fixtures)
        make_user, auth, monkeypatch):
    import json
    from datetime import date

    from app.audit.models import AuditRecord
    from app.factors import library
    from app.factors.models import FactorCheck
    from app.identity.models import User
    from app.orgs.models import VerificationBody
    from app.workflow import deploy
    from app.workflow import service as workflow

    monkeypatch.setitem(app.config, "CECP_RESEARCH_MIN_ENTERPRISES", 1)
    ent = make_ent(91)
    history(ent)
    library.compute()
    reference.session.add(VerificationBody(
        code="VB-E", name="佐证核查中心", region_code="330000", accreditation="CNAS-E",
        accreditation_scope="*", accredited_until=date(2099, 12, 31)))
    deploy.deploy_builtins()
    commit()
    _, email, pw = onboard(kind="research")
    h = api_token(client, reference.session.scalar(select(User).where(User.email == email)),
                  password=pw)
    good = _model(client, h)
    elsewhere = _model(client, h, name="杭州模型", region="330100")
    other_division = _model(client, h, name="化工模型", parameters={"26": {"a": 0, "b": 1}})

    reviewer = make_user("reviewer", region="330500")
    verifier = make_user("verifier", verification_body="VB-E")
    inst = workflow.start(model="factor_check", data={
        "subject": "enterprise", "enterprise_uscc": ent.uscc, "tolerance_pct": 50,
        "body_code": "VB-E"}, user=reviewer)
    commit()
    (task,) = workflow.current_tasks(inst=inst)
    # the task page lists the comparable run with its errors, and only that one
    login(client, verifier)
    page = client.get(f"/workflow/tasks/{task.id}").get_data(as_text=True)
    assert 'id="model-runs"' in page and f'data-model="{good}"' in page
    assert f'data-model="{elsewhere}"' not in page
    assert f'data-model="{other_division}"' not in page
    hv = auth(verifier)
    url = f"/api/v1/tasks/{task.id}/complete"
    for bad in (elsewhere, other_division, "nope"):
        r = client.post(url, headers=hv, json={"data": {"decision": "confirm",
                                                        "evidence_model": bad}})
        assert r.status_code == 422 and "evidence_model" in r.get_json()["error"]["fields"]
    r = client.post(url, headers=hv, json={"data": {"decision": "confirm",
                                                    "comment": "参考研究模型试算，一致",
                                                    "evidence_model": good}})
    assert r.status_code == 200, r.get_json()
    reference.session.expire_all()
    rec = reference.session.scalars(select(FactorCheck)).one()
    evidence = rec.details["evidence"]
    assert evidence["model"] == good and evidence["division"] == "30"
    assert evidence["mape_pct"] is not None and evidence["enterprises"] == 1
    audit = reference.session.scalars(select(AuditRecord).where(
        AuditRecord.action == "factors.check.evidence")).one()
    summary = json.loads(audit.summary) if isinstance(audit.summary, str) else audit.summary
    assert summary["model"] == good and audit.object_id == str(inst.id)
