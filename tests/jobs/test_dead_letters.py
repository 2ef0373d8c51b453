"""Dead letters: an administrator sees them (job, error, attempts, payload, times) and
retries or discards them; both actions and refusals are audited. Metrics show them."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.audit.models import AuditRecord
from app.extensions import db
from app.jobs import outbox
from app.jobs.models import OutboxJob
from app.jobs.registry import JOBS, job
from app.uow import commit
from tests.conftest import enrol_totp, login

if "test.flaky" not in JOBS:
    FLAKY = {"fail": True}

    @job("test.flaky")
    def _flaky(tag: str) -> None:
        from app.audit import service as audit

        if FLAKY["fail"]:
            raise ValueError(f"上游不可用 ({tag})")
        audit.record("test.flaky_ran", object_id=tag)


def _dead_letter(app, tag: str) -> int:
    app.config.update(CECP_JOB_MAX_ATTEMPTS=2, CECP_JOB_BACKOFF_SECONDS=0)
    try:
        FLAKY["fail"] = True
        job_id = outbox.enqueue("test.flaky", tag=tag).id
        commit()  # embedded mode: both attempts run now
    finally:
        app.config.pop("CECP_JOB_MAX_ATTEMPTS")
        app.config.pop("CECP_JOB_BACKOFF_SECONDS")
    assert db.session.get(OutboxJob, job_id).status == "dead"
    return job_id


def _token(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def test_admin_sees_retries_and_discards_dead_letters(app, client, make_user, db):
    retry_id, discard_id = _dead_letter(app, "甲"), _dead_letter(app, "乙")
    admin = make_user("admin")
    enrol_totp(admin)
    login(client, admin)
    page = client.get("/admin/jobs/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for text in ("死信", "test.flaky", "上游不可用 (甲)", "&#34;tag&#34;: &#34;甲&#34;", "重试",
                 "放弃", "workflow.sweep_timers", "jobs.sweep", "monitoring.sweep"):
        assert text in html, text
    token = _token(page)
    assert client.post("/admin/jobs/", data={"action": "retry", "job_id": retry_id}
                       ).status_code == 400  # no CSRF token
    FLAKY["fail"] = False
    r = client.post("/admin/jobs/", data={"action": "retry", "job_id": retry_id,
                                          "csrf_token": token})
    assert r.status_code == 302
    r = client.post("/admin/jobs/", data={"action": "discard", "job_id": discard_id,
                                          "csrf_token": token})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(OutboxJob, retry_id).status == "done"  # retried and ran
    assert db.session.get(OutboxJob, discard_id).status == "discarded"
    acts = {a.action: a for a in db.session.scalars(select(AuditRecord).where(
        AuditRecord.action.in_(("job.retry", "job.discard")))).all()}
    assert set(acts) == {"job.retry", "job.discard"}
    assert acts["job.retry"].user_email == admin.email
    assert acts["job.retry"].object_id == str(retry_id)
    assert "test.flaky" in str(acts["job.discard"].summary)
    # acting twice: the row is no longer a dead letter
    r = client.post("/admin/jobs/", data={"action": "discard", "job_id": discard_id,
                                          "csrf_token": token}, follow_redirects=True)
    assert "已不在死信中" in r.get_data(as_text=True)


def test_dead_letters_are_for_administrators_only(app, client, make_user, db):
    job_id = _dead_letter(app, "丙")
    reviewer = make_user("reviewer", region="330500")
    enrol_totp(reviewer)
    login(client, reviewer)
    assert client.get("/admin/jobs/").status_code == 403
    assert client.post("/admin/jobs/", data={"action": "discard", "job_id": job_id}
                       ).status_code in (400, 403)
    db.session.expire_all()
    assert db.session.get(OutboxJob, job_id).status == "dead"


def test_metrics_show_dead_letters_and_outbox_depth(app, client, db):
    _dead_letter(app, "丁")
    outbox.enqueue("test.flaky", tag="later", run_at=None)
    db.session.info.pop("cecp_jobs", None)
    db.session.commit()  # pending, never dispatched
    text = client.get("/api/v1/metrics").get_data(as_text=True)
    assert "cecp_outbox_dead_letters 1.0" in text
    assert 'cecp_outbox_jobs{status="pending"} 1.0' in text
    assert 'cecp_outbox_jobs{status="dead"} 1.0' in text
