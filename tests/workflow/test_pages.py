"""Server-rendered pages: inbox with counts in the navigation, task form with field errors,
encrypted attachments, designer and error pages with their permissions."""

from __future__ import annotations

import re
from io import BytesIO

from sqlalchemy import select

from app.extensions import db
from app.workflow.models import Attachment, ProcessInstance
from tests.conftest import enrol_totp, login


def test_inbox_task_form_and_attachments(client, world):
    inst = world.start()
    task = world.only_task(inst)
    login(client, world.company)
    page = client.get("/workflow/inbox")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "企业自查并送审" in html
    assert 'id="badge-workflow-inbox">1<' in html  # the navigation badge
    html = client.get(f"/workflow/tasks/{task.id}").get_data(as_text=True)
    assert "系统自查结果" in html and "本企业确认报告数据真实" in html
    r = client.post(f"/workflow/tasks/{task.id}", data={"action": "complete"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "必须勾选确认" in html and "is-invalid" in html
    secret = "证明材料内容 evidence".encode()
    r = client.post(f"/workflow/instances/{inst.id}/attachments",
                    data={"file": (BytesIO(secret), "电费单.pdf"),
                          "next": f"/workflow/tasks/{task.id}"},
                    content_type="multipart/form-data")
    assert r.status_code == 302
    row = db.session.scalars(select(Attachment)).one()
    assert secret not in row.ciphertext and row.size == len(secret)
    r = client.get(f"/workflow/attachments/{row.id}")
    assert r.status_code == 200 and r.data == secret
    r = client.post(f"/workflow/tasks/{task.id}", data={"action": "complete", "confirm": "on"})
    assert r.status_code == 302
    db.session.expire_all()
    assert world.only_task(db.session.get(ProcessInstance, inst.id)).name == "initial_review"
    html = client.get("/workflow/inbox?box=done").get_data(as_text=True)
    assert "企业自查并送审" in html
    html = client.get(f"/workflow/instances/{inst.id}").get_data(as_text=True)
    assert "办理时间线" in html and "电费单.pdf" in html


def test_reviewer_pages_and_other_city(client, world):
    inst = world.start()
    world.do(inst, "submit_report", world.company, {"confirm": True})
    task = world.only_task(inst)
    enrol_totp(world.reviewer_b)
    login(client, world.reviewer_b)
    assert "初审" not in client.get("/workflow/inbox?box=claimable").get_data(as_text=True)
    r = client.get(f"/workflow/tasks/{task.id}")
    assert r.status_code == 302  # flashed "not found", back to the inbox
    assert client.get(f"/workflow/instances/{inst.id}").status_code == 404


def test_designer_and_error_pages_need_permissions(client, world):
    login(client, world.company)
    assert client.get("/designer").status_code == 403
    assert client.get("/workflow/admin/errors").status_code == 403
    client.post("/auth/logout")
    login(client, world.designer)
    html = client.get("/designer").get_data(as_text=True)
    # static names carry a content hash (app.web.static_files)
    assert re.search(r"cecp-designer/cecp-designer\.[0-9a-f]{12}\.js", html)
    assert 'id="btn-deploy"' in html
    assert 'id="properties"' in html and 'id="lane-table"' in html
    assert re.search(r"/static/js/designer\.[0-9a-f]{12}\.js", html)
    client.post("/auth/logout")
    enrol_totp(world.admin)
    login(client, world.admin)
    assert client.get("/workflow/admin/errors").status_code == 200


def test_reminder_reaches_the_reviewer_as_a_message_with_a_badge(client, world):
    from datetime import UTC, datetime, timedelta

    from app.uow import commit
    from app.workflow import events
    from app.workflow.jobs import sweep

    inst = world.start()
    inst = world.do(inst, "submit_report", world.company, {"confirm": True})
    events.move_timers(instance_id=inst.id, fire_at=datetime.now(UTC) - timedelta(seconds=1),
                       user=world.admin, names={"initial_review_reminder"})
    commit()
    assert sweep() == 1
    commit()
    enrol_totp(world.reviewer)
    login(client, world.reviewer)
    home = client.get("/").get_data(as_text=True)
    # the reminder and, before it, the assignment ("待您初审")
    assert 'id="badge-cases-notifications_page">2<' in home
    page = client.get("/notifications").get_data(as_text=True)
    assert "即将到期" in page and "未读" in page
    client.post("/notifications/read")
    assert "未读" not in client.get("/notifications").get_data(as_text=True).split("<tbody>")[1]
    assert 'id="badge-cases-notifications_page"' not in client.get("/").get_data(as_text=True)
    # another user never sees it
    client.post("/auth/logout")
    login(client, world.company)
    assert "即将到期" not in client.get("/notifications").get_data(as_text=True)


def test_attachment_type_is_decided_by_the_platform_and_served_as_download(client, world):
    """Issue 16: a file the uploader declares text/html is never served as a page."""
    inst = world.start()
    login(client, world.company)
    for name, declared, served in (("证明.html", "text/html", "application/octet-stream"),
                                   ("电费单.pdf", "text/html", "application/pdf")):
        r = client.post(f"/workflow/instances/{inst.id}/attachments",
                        data={"file": (BytesIO(b"<script>alert(1)</script>"), name,
                                       declared)},
                        content_type="multipart/form-data")
        assert r.status_code == 302
        row = db.session.scalars(select(Attachment).where(Attachment.filename == name)).one()
        assert row.content_type == served
        r = client.get(f"/workflow/attachments/{row.id}")
        assert r.mimetype == served and r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Content-Disposition"].startswith("attachment")
