"""Who may work a task, and the inbox queries.

The BPMN lane names a role; the case carries its region and enterprise; the candidates are
the users with that role whose data scope covers the case. A task in no lane belongs to the
instance's initiator. Nothing here reads task data, and no group is ever made from a lane.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.orm import selectinload

from app.db import utcnow
from app.extensions import db
from app.identity.grants import grants_for
from app.identity.models import Role, User
from app.identity.scope import DataScope, region_covers, scope_clause, scope_for
from app.workflow.models import ProcessInstance, TaskHistory, WorkTask


def scope_covers_case(scope: DataScope, region_code: str | None,
                      enterprise_uscc: str | None, body_code: str | None = None,
                      institution_code: str | None = None) -> bool:
    """Does a data scope cover a case (its region, its enterprise, or the verification body
    or institution it is assigned to while it is)?"""
    if scope.all:
        return True
    if enterprise_uscc and enterprise_uscc in scope.enterprise:
        return True
    if body_code and body_code in scope.verification_body:
        return True
    if institution_code and institution_code in scope.institution:
        return True
    return any(region_covers(code, region_code) for code in scope.region)


def covers(scope: DataScope, case: Any) -> bool:
    """`scope_covers_case` for a case row (instance or task) with all its parties."""
    return scope_covers_case(scope, case.region_code, case.enterprise_uscc,
                             getattr(case, "verification_body_code", None),
                             getattr(case, "institution_code", None))


def can_work(user: Any, task: WorkTask) -> bool:
    """May `user` claim / complete `task` (ignoring who has claimed it)?"""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if task.lane is None:
        return task.initiator_id == user.id
    grants = grants_for(user)
    if task.lane not in grants.roles:
        return False
    return covers(grants.scope, task)


def candidates(task: WorkTask) -> list[User]:
    """Users who may work the task (for notifications): role = lane, scope covers the case
    (three queries whatever the number of users: the users, their roles, their scopes)."""
    if task.lane is None:
        user = db.session.get(User, task.initiator_id) if task.initiator_id else None
        return [user] if user is not None else []
    users = db.session.scalars(
        select(User).join(User.roles).where(Role.name == task.lane, User.active.is_(True))
        .options(selectinload(User.roles), selectinload(User.scopes))
    ).unique().all()
    return [u for u in users
            if covers(scope_for(u), task)]


def _roles(user: Any) -> list[str]:
    return sorted(grants_for(user).roles)


def claimable_clause(user: Any) -> ColumnElement[bool]:
    """Unclaimed tasks whose lane is one of the user's roles and whose case is in scope."""
    roles = _roles(user)
    if not roles:
        return false()
    return and_(WorkTask.assignee_id.is_(None), WorkTask.lane.in_(roles),
                scope_clause(WorkTask, scope_for(user)))


def mine_clause(user: Any) -> ColumnElement[bool]:
    """Claimed by the user, or lane-less tasks of the instances the user started."""
    return or_(WorkTask.assignee_id == user.id,
               and_(WorkTask.assignee_id.is_(None), WorkTask.lane.is_(None),
                    WorkTask.initiator_id == user.id))


def workable_clause(user: Any) -> ColumnElement[bool]:
    return or_(mine_clause(user), claimable_clause(user))


@dataclass(frozen=True)
class InboxFilter:
    process: str | None = None
    enterprise: str | None = None
    region: str | None = None
    due_before: datetime | None = None
    overdue: bool = False
    instance_id: int | None = None


def _filtered(stmt: Select, flt: InboxFilter | None) -> Select:
    if flt is None:
        return stmt
    if flt.process:
        stmt = stmt.where(WorkTask.process_key == flt.process)
    if flt.enterprise:
        stmt = stmt.where(or_(WorkTask.enterprise_uscc == flt.enterprise,
                              WorkTask.title.contains(flt.enterprise)))
    if flt.region:
        stmt = stmt.where(
            WorkTask.region_code.startswith(flt.region.rstrip("0")[:6], autoescape=True))
    if flt.due_before:
        stmt = stmt.where(WorkTask.due_at <= flt.due_before)
    if flt.overdue:
        stmt = stmt.where(WorkTask.due_at < utcnow())
    if flt.instance_id:
        stmt = stmt.where(WorkTask.instance_id == flt.instance_id)
    return stmt


def tasks_query(*, user: Any, box: str = "all", flt: InboxFilter | None = None) -> Select:
    """One query: box 'mine' (我的待办), 'claimable' (可认领) or 'all' (both)."""
    clause = {"mine": mine_clause, "claimable": claimable_clause}.get(box, workable_clause)
    stmt = select(WorkTask).where(clause(user))
    return _filtered(stmt, flt).order_by(WorkTask.due_at.is_(None), WorkTask.due_at,
                                         WorkTask.created_at)


def done_query(*, user: Any, flt: InboxFilter | None = None) -> Select:
    """已办: the user's completions and returns, newest first."""
    stmt = select(TaskHistory, ProcessInstance).join(
        ProcessInstance, ProcessInstance.id == TaskHistory.instance_id).where(
        TaskHistory.user_id == user.id, TaskHistory.action.in_(("complete", "return")))
    if flt and flt.process:
        stmt = stmt.where(ProcessInstance.process_key == flt.process)
    if flt and flt.enterprise:
        stmt = stmt.where(or_(ProcessInstance.enterprise_uscc == flt.enterprise,
                              ProcessInstance.title.contains(flt.enterprise)))
    if flt and flt.region:
        stmt = stmt.where(ProcessInstance.region_code.startswith(
            flt.region.rstrip("0")[:6], autoescape=True))
    return stmt.order_by(TaskHistory.at.desc(), TaskHistory.id.desc())


def counts(*, user: Any) -> dict[str, int]:
    """Numbers for the navigation badge and the inbox tabs (one pass, two filtered counts:
    every page shows the badge)."""
    mine_c, claim_c = mine_clause(user), claimable_clause(user)
    mine, claimable = db.session.execute(
        select(func.count().filter(mine_c), func.count().filter(claim_c))
        .select_from(WorkTask).where(or_(mine_c, claim_c))).one()
    return {"mine": mine or 0, "claimable": claimable or 0}


def visible_instances_clause(user: Any) -> ColumnElement[bool]:
    """Instances a user may look at: in scope, or started by the user."""
    return or_(scope_clause(ProcessInstance, scope_for(user)),
               ProcessInstance.initiator_id == user.id)
