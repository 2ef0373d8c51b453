"""Correlating an external message (Camunda's ``POST /message``, simplified).

Order, as in Camunda 7: an instance in the caller's scope waiting at an intermediate catch
(or boundary/receive) event for the name, whose task data match every correlation key, is
resumed; if none waits, a deployed process with a message start event of that name is
started with the payload as its data; nothing -> 404, several candidates -> 409. Instances
and starts are scoped to the caller; every correlation (and refusal, API layer) is audited.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from sqlalchemy import select

from app.extensions import db
from app.identity.scope import scope_for, scoped
from app.workflow import deploy, engine, persistence, service
from app.workflow.context import CaseContext, case
from app.workflow.engine.data_limit import BOUND, data_size, too_large_message
from app.workflow.engine.events import _message_waiters
from app.workflow.errors import Conflict, Invalid, NotFound
from app.workflow.models import MessageWait, ProcessInstance

MAX_CANDIDATES = 200


def _matches(task_data: dict[str, Any], keys: dict[str, Any]) -> bool:
    return all(
        k in task_data and (task_data[k] == v or str(task_data[k]) == str(v))
        for k, v in keys.items()
    )


def _waiting(name: str, keys: dict[str, Any], instance_id: int | None, user: Any) -> list:
    stmt = (
        select(ProcessInstance)
        .join(MessageWait, MessageWait.instance_id == ProcessInstance.id)
        .where(MessageWait.name == name, ProcessInstance.status == "running")
        .order_by(ProcessInstance.id)
        .limit(MAX_CANDIDATES)
    )
    if instance_id is not None:
        stmt = stmt.where(ProcessInstance.id == instance_id)
    found = []
    for inst in db.session.scalars(scoped(stmt, ProcessInstance, scope_for(user))):
        opened = persistence.open_instance(inst)
        if any(_matches(t.data, keys) for t in _message_waiters(opened.wf, name)):
            found.append((inst, opened))
    return found


def start_models(name: str) -> list[str]:
    """Keys of deployed models (latest version) whose process starts with message `name`."""
    keys = []
    for model in deploy.get_all():
        try:
            _, version = deploy.get_latest(key_or_id=model.key)
        except NotFound:
            continue
        spec = deploy.loaded(version).bundle.spec
        if any(
            isinstance(ts, StartEvent)
            and isinstance(ts.event_definition, MessageEventDefinition)
            and ts.event_definition.name == name
            for ts in spec.task_specs.values()
        ):
            keys.append(model.key)
    return keys


def _deliver(
    inst: ProcessInstance, opened: Any, message: engine.Message, user: Any, *, started: bool
) -> None:
    ctx = CaseContext.of(inst, user)
    with case(ctx):
        try:
            caught = engine.deliver_message(opened.wf, message)
            error = None if caught else f"消息 {message.name} 未被实例接收"
        except Exception as exc:  # noqa: BLE001 - a later step failed: the instance errs
            error = persistence.describe(exc)
        persistence.save(
            inst=inst,
            wf=opened.wf,
            loaded=opened.loaded,
            ctx=ctx,
            before=opened.before,
            error=error,
        )
    data = message.payload if isinstance(message.payload, dict) else None
    ctx.journal.history(
        instance_id=inst.id,
        action="message",
        user=user,
        label=f"收到消息 {message.name}",
        data=data,
    )
    ctx.journal.audit(
        "workflow.message.correlate",
        object_type="workflow_instance",
        object_id=inst.id,
        user=user,
        summary={
            "message": message.name,
            "result": "started" if started else "resumed",
            "correlation_keys": sorted(message.correlations),
        },
    )
    if error:
        service.record_error(ctx.journal, inst, error, user)
    ctx.journal.write()


def correlate(
    *,
    name: str,
    correlation_keys: dict[str, Any] | None,
    payload: Any,
    process_instance_id: int | None = None,
    user: Any,
) -> dict[str, Any]:
    """Resume the one waiting instance or start the one message-started process."""
    if not name or not isinstance(name, str):
        raise Invalid("消息名称必填", fields={"messageName": "必填"})
    keys = correlation_keys or {}
    if not isinstance(keys, dict):
        raise Invalid("correlationKeys 必须是对象", fields={"correlationKeys": "必须是对象"})
    keys = {k: (v["value"] if isinstance(v, dict) and "value" in v else v) for k, v in keys.items()}
    if payload is not None and not isinstance(payload, dict):
        raise Invalid("processVariables 必须是对象", fields={"processVariables": "必须是对象"})
    payload = {
        k: (v["value"] if isinstance(v, dict) and "value" in v else v)
        for k, v in (payload or {}).items()
    }
    bad = [k for k in payload if not isinstance(k, str) or k.startswith("_")]
    if bad:
        raise Invalid(
            "变量名不得以下划线开头", fields={"processVariables": f"不允许的变量名 {bad}"}
        )
    size = data_size(payload)
    if BOUND.max_bytes > 0 and size > BOUND.max_bytes:
        raise Invalid(too_large_message(size), fields={"processVariables": "数据量超过上限"})
    message = engine.Message(name, payload, keys)
    waiting = _waiting(name, keys, process_instance_id, user)
    if len(waiting) > 1:
        raise Conflict(
            f"消息 {name} 匹配到 {len(waiting)} 个等待中的流程实例"
            f"（{', '.join(str(i.id) for i, _ in waiting[:10])}），"
            "请提供能唯一确定实例的关联键（correlationKeys）",
            code="ambiguous",
        )
    if waiting:
        inst, opened = waiting[0]
        _deliver(inst, opened, message, user, started=False)
        return {
            "resultType": "Execution",
            "processInstanceId": inst.id,
            "status": inst.status,
            "started": False,
        }
    if process_instance_id is None:
        models = start_models(name)
        if len(models) > 1:
            raise Conflict(f"有多个流程以消息 {name} 启动: {', '.join(models)}", code="ambiguous")
        if models:
            inst = service.start(model=models[0], data={**keys, **payload}, user=user)
            opened = persistence.open_instance(inst)
            if name in engine.waiting_messages(opened.wf):
                _deliver(inst, opened, message, user, started=True)
            return {
                "resultType": "ProcessDefinition",
                "processInstanceId": inst.id,
                "status": inst.status,
                "started": True,
            }
    raise NotFound(
        f"没有等待消息「{name}」且关联键匹配的流程实例（在您的数据范围内），"
        "也没有以该消息启动的流程",
        code="no_match",
    )


def deliver(*, instance: ProcessInstance, name: str, payload: dict[str, Any] | None,
            user: Any) -> bool:
    """Resume one known instance waiting for `name` (a domain module that found the case
    itself, e.g. an invitation link naming its application: no scope search, since the
    caller may be an applicant without an account). False when it does not wait for it."""
    if instance.status != "running":
        return False
    opened = persistence.open_instance(instance)
    if name not in engine.waiting_messages(opened.wf):
        return False
    _deliver(instance, opened, engine.Message(name, payload or {}, {}), user, started=False)
    return True
