"""`cecp demo`: deploy the built-in models and start one report case for the demo enterprise
(so the demo reviewer finds it in the inbox after the enterprise submits)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select


def load(enterprises: int, months: int) -> None:
    from app.demo import demo_enterprise_uscc
    from app.identity import service as accounts
    from app.workflow import deploy, service
    from app.workflow.models import ProcessInstance

    deploy.deploy_builtins()
    from app.extensions import db

    uscc = demo_enterprise_uscc()
    exists = db.session.scalar(select(ProcessInstance.id).where(
        ProcessInstance.process_key == "enterprise_report",
        ProcessInstance.enterprise_uscc == uscc).limit(1))
    user = accounts.get_by_email(email="enterprise@demo.cecp")
    if exists is not None or user is None:
        return
    inst = service.start(model="enterprise_report", data={"year": date.today().year - 1},
                         user=user)
    tasks = service.current_tasks(inst=inst)
    submit = next((t for t in tasks if t.name == "submit_report"), None)
    if submit is None:
        return
    from app.workflow.errors import WorkflowError

    try:  # submit it, so that the demo reviewer has 初审 in the inbox
        with db.session.begin_nested():
            service.complete(task_id=submit.id, user=user, data={
                "confirm": True,
                "explanation": "演示数据：自查预警已核实，系演示数据生成方式所致。"})
    except WorkflowError:
        pass  # no accounting data yet: the case waits for the enterprise to submit
