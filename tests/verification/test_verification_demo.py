"""`cecp demo` runs one verification of the demo enterprise from assignment to a signed
statement that the demo report case receives (and stays idempotent)."""

from __future__ import annotations

from sqlalchemy import select


def test_demo_runs_a_verification_to_a_signed_statement(app, db):
    from app.cli import cli
    from app.demo import demo_enterprise_uscc
    from app.verification import statement as statements
    from app.verification.models import Statement, Verification
    from app.workflow import service
    from app.workflow.models import ProcessInstance

    runner = app.test_cli_runner()
    result = runner.invoke(cli, ["demo", "--enterprises", "2", "--months", "12"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    stmt = db.session.scalars(select(Statement)).one()
    assert stmt.enterprise_uscc == demo_enterprise_uscc() and stmt.opinion == "unqualified"
    assert statements.check(stmt)["valid"] is True
    v = db.session.scalars(select(Verification)).one()
    assert v.status == "completed" and v.body_code == "VB-ZJ-001"
    report = db.session.get(ProcessInstance, v.report_instance_id)
    assert [t.name for t in service.current_tasks(inst=report)] == ["final_review"]
    assert service.task_data(report)["statement_uid"] == stmt.uid
    again = runner.invoke(cli, ["demo", "--enterprises", "2", "--months", "12"])
    assert again.exit_code == 0, again.output
    assert db.session.scalar(select(db.func.count()).select_from(Statement)) == 1
