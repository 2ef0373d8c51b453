"""Messages between the pools of a collaboration, at run time.

A message thrown by an instance (intermediate throw event, message end event, send task)
leaves through the outbox (`persistence.save`) and is routed here (job
``workflow.deliver_message``):

1. Receivers: running instances waiting for the message name, of the sender's enterprise
   (a case without enterprise: the same region, no enterprise). A payload ``case_id`` names
   the receiving instance explicitly.
2. When the sender's model has message flows for the name (a collaboration), only instances
   of the processes those flows lead to receive it, and only the right one: BPMN
   correlation keys (``bpmn:correlationKey`` / ``correlationProperty``, SpiffArena) when
   the receiver has them, otherwise the conversation (an instance started by a message
   belongs to its sender's conversation; Camunda models carry no keys).
3. If no instance took it, the flow's target process is started when its start event
   catches that message (a message start event): a new case of the same enterprise, region
   and initiator, in the sender's conversation, the payload delivered to the start event.
   Without message flows, a message no instance takes is dropped (as before).
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from sqlalchemy import select

from app.extensions import db
from app.workflow import deploy, engine, persistence, service
from app.workflow.context import CaseContext, case
from app.workflow.engine.bpmn_xml import file_kind, safe_parse
from app.workflow.engine.collaboration import flow_targets
from app.workflow.engine.events import CONVERSATION, conversation_of, join_conversation
from app.workflow.errors import NotFound, WorkflowError
from app.workflow.journal import Journal
from app.workflow.models import MessageWait, ProcessInstance

_TARGETS: dict[str, dict[str, set[str]]] = {}


def targets_of(loaded: deploy.LoadedVersion) -> dict[str, set[str]]:
    """Message name -> processes the version's message flows lead to (cached per hash)."""
    bundle = loaded.bundle
    hit = _TARGETS.get(bundle.content_hash)
    if hit is None:
        roots = []
        for name, content in bundle.files.items():
            root = safe_parse(content, name)
            if file_kind(root) == "bpmn":
                roots.append(root)
        hit = _TARGETS[bundle.content_hash] = flow_targets(roots)
    return hit


def correlated(wf: Any, default: int, message: engine.Message,
               conversation: int | None) -> bool:
    """Rule 2 of the module docstring."""
    own = wf.correlations
    known = [k for k in message.correlations if k != CONVERSATION and k in own]
    if known:
        return all(own[k] == message.correlations[k] for k in known)
    return conversation is None or conversation_of(wf, default) == conversation


def _receivers(msg: engine.Message, source: ProcessInstance | None,
               targets: set[str]) -> list[ProcessInstance]:
    stmt = select(ProcessInstance).join(
        MessageWait, MessageWait.instance_id == ProcessInstance.id).where(
        MessageWait.name == msg.name, ProcessInstance.status == "running")
    target = msg.payload.get("case_id") if isinstance(msg.payload, dict) else None
    if target is not None:
        stmt = stmt.where(ProcessInstance.id == int(target))
    elif source is None:
        return []
    elif source.enterprise_uscc is not None:
        stmt = stmt.where(ProcessInstance.enterprise_uscc == source.enterprise_uscc)
    else:
        stmt = stmt.where(ProcessInstance.enterprise_uscc.is_(None),
                          ProcessInstance.region_code.is_not_distinct_from(source.region_code))
    if targets:
        stmt = stmt.where(ProcessInstance.process_key.in_(sorted(targets)))
    return list(db.session.scalars(stmt.order_by(ProcessInstance.id)).all())


def _starts_with(key: str, name: str) -> bool:
    try:
        _, version = deploy.get_latest(key_or_id=key)
    except NotFound:
        return False
    return any(isinstance(ts, StartEvent) and isinstance(ts.event_definition,
                                                         MessageEventDefinition)
               and ts.event_definition.name == name
               for ts in deploy.loaded(version).bundle.spec.task_specs.values())


def _start_partner(key: str, msg: engine.Message, source: ProcessInstance,
                   conversation: int | None, journal: Journal) -> ProcessInstance:
    inst = service.start(model=key, data={}, user=None, case_of=source)
    opened = persistence.open_instance(inst)
    join_conversation(opened.wf, conversation if conversation is not None else source.id)
    ctx = CaseContext.of(inst)
    ctx.journal = journal
    with case(ctx):
        try:
            caught, error = engine.deliver_message(opened.wf, msg), None
            if not caught:
                error = f"消息 {msg.name} 未被新实例的开始事件接收"
        except Exception as exc:  # noqa: BLE001 - a later step failed: the instance errs
            error = persistence.describe(exc)
        persistence.save(inst=inst, wf=opened.wf, loaded=opened.loaded, ctx=ctx,
                         before=opened.before, error=error)
    if error:
        service.record_error(journal, inst, error, None)
    return inst


def deliver(*, message: dict[str, Any], source_instance_id: int | None = None) -> list[int]:
    """Route a message (module docstring); returns the ids of the instances that took it,
    including one started by it."""
    msg = engine.Message.from_dict(message)
    conversation = message.get("conversation")
    source = db.session.get(ProcessInstance, source_instance_id) if source_instance_id \
        else None
    targets: set[str] = set()
    if source is not None:
        loaded = deploy.loaded_by_id(source.version_id, source.content_hash)
        targets = targets_of(loaded).get(msg.name, set())
    explicit = isinstance(msg.payload, dict) and msg.payload.get("case_id") is not None
    journal = Journal()  # one history INSERT and one audit append for every receiver
    delivered = []
    for inst in _receivers(msg, source, targets):
        opened = persistence.open_instance(inst)
        if targets and not explicit and not correlated(opened.wf, inst.id, msg, conversation):
            continue
        ctx = CaseContext.of(inst)
        ctx.journal = journal
        with case(ctx):
            try:
                caught = engine.deliver_message(opened.wf, msg)
                error = None
            except Exception as exc:  # noqa: BLE001
                caught, error = 1, persistence.describe(exc)
            if not caught:
                continue
            persistence.save(inst=inst, wf=opened.wf, loaded=opened.loaded, ctx=ctx,
                             before=opened.before, error=error)
        _record(journal, inst, msg, source_instance_id, "resumed")
        if error:
            service.record_error(journal, inst, error, None)
        delivered.append(inst.id)
    if not delivered and targets and not explicit and source is not None:
        for key in sorted(targets):
            if key != source.process_key and _starts_with(key, msg.name):
                try:
                    started = _start_partner(key, msg, source, conversation, journal)
                except WorkflowError as exc:  # e.g. the model's start hook refused
                    journal.audit("workflow.message.start_refused", object_type="workflow_model",
                                  object_id=key, email="system",
                                  summary={"message": msg.name, "from": source.id,
                                           "reason": exc.message[:300]})
                    continue
                _record(journal, started, msg, source_instance_id, "started")
                delivered.append(started.id)
    journal.write()
    return delivered


def _record(journal: Journal, inst: ProcessInstance, msg: engine.Message,
            source_id: int | None, result: str) -> None:
    journal.history(instance_id=inst.id, action="message", label=f"收到消息 {msg.name}",
                    data=msg.payload if isinstance(msg.payload, dict) else None)
    journal.audit("workflow.message.deliver", object_type="workflow_instance",
                  object_id=inst.id, email="system",
                  summary={"message": msg.name, "from": source_id, "result": result})
