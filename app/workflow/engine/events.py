"""Messages between process instances.

SpiffWorkflow delivers a thrown message only inside one `BpmnWorkflow`; a message no task of
the instance catches is queued in ``wf.bpmn_events`` (``get_events()``). Routing between
instances is ours: after each step the persistence layer takes `outgoing_messages(wf)`,
finds the instances whose `waiting_messages` include the name (and whose correlation keys
match), and calls `deliver_message` on each, then saves them.

Payload: a Spiff message throw sends the value of its ``spiffworkflow:messagePayload``
expression; a plain BPMN / Camunda throw (no payload expression) sends the task's data, its
reserved ``_`` keys left out (Camunda correlates with variables the same way); a catch
stores it under its ``spiffworkflow:messageVariable``. A plain BPMN / Camunda catch has no
variable, so `deliver_message` merges a dict payload into the catching task's data instead.

Conversations: an instance started by another instance's message keeps the sender's
conversation id in ``wf.correlations[CONVERSATION]`` (an instance that was not started so is
its own conversation). Messages without BPMN correlation keys go back only to instances of
the same conversation (`app.workflow.messaging.flows`).
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import (
    MessageEventDefinition as SpiffMessageEventDefinition,
)
from SpiffWorkflow.util.task import TaskState

from .steps import run_engine

CONVERSATION = "_conversation"


class CecpMessageEventDefinition(SpiffMessageEventDefinition):
    """A throw without ``spiffworkflow:messagePayload`` sends the task data (module
    docstring). Every message definition of a loaded model gets this class (catching compares
    classes), `use_task_data_payloads`."""

    def catches(self, my_task: Any, event: Any) -> bool:
        """SpiffWorkflow's rule with the platform's conversation key left out."""
        known = {k: v for k, v in my_task.workflow.correlations.items() if k != CONVERSATION}
        keys = [k for k in event.correlations if k != CONVERSATION]
        correlated = (not self.correlation_properties or not known
                      or any(event.correlations.get(k) == known.get(k) for k in keys))
        return self == event.event_definition and correlated

    def throw(self, my_task: Any) -> None:
        if self.expression is not None:
            return super().throw(my_task)
        payload = {k: deepcopy(v) for k, v in my_task.data.items()
                   if isinstance(k, str) and not k.startswith("_")}
        correlations = self.get_correlations(my_task, payload)
        my_task.workflow.correlations.update(correlations)
        my_task.workflow.top_workflow.catch(BpmnEvent(self, payload=payload,
                                                      correlations=correlations))
        return None


def use_task_data_payloads(specs: list[Any]) -> None:
    """Swap the message definitions of freshly parsed specs (specs are not serialized)."""
    for spec in specs:
        for ts in spec.task_specs.values():
            ed = getattr(ts, "event_definition", None)
            if type(ed) is SpiffMessageEventDefinition:
                ed.__class__ = CecpMessageEventDefinition


def conversation_of(wf: BpmnWorkflow, default: int | None) -> int | None:
    """The conversation an instance belongs to (module docstring)."""
    return (wf.correlations.get(CONVERSATION) or {}).get("id", default)


def join_conversation(wf: BpmnWorkflow, conversation: int) -> None:
    wf.correlations[CONVERSATION] = {"id": conversation}


@dataclass(frozen=True)
class Message:
    """A message in transit between instances (JSON-friendly: store it in the outbox)."""

    name: str
    payload: Any = None
    correlations: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "payload": self.payload, "correlations": self.correlations}

    @classmethod
    def from_dict(cls, dct: dict[str, Any]) -> Message:
        return cls(dct["name"], dct.get("payload"), dct.get("correlations") or {})


def outgoing_messages(wf: BpmnWorkflow) -> list[Message]:
    """Take the messages this instance threw and did not catch itself (other events stay)."""
    events = wf.get_events()
    out = [Message(e.event_definition.name, deepcopy(e.payload), deepcopy(e.correlations))
           for e in events if isinstance(e.event_definition, MessageEventDefinition)]
    wf.bpmn_events = [e for e in events
                      if not isinstance(e.event_definition, MessageEventDefinition)]
    return out


def _message_waiters(wf: BpmnWorkflow, name: str | None = None) -> list[Any]:
    return [t for t in wf.event_manager.tasks.values()
            if isinstance(t.task_spec.event_definition, MessageEventDefinition)
            and t.state == TaskState.WAITING
            and (name is None or t.task_spec.event_definition.name == name)]


def waiting_messages(wf: BpmnWorkflow) -> list[str]:
    """Names of the messages this instance waits for (index them to route messages)."""
    return sorted({t.task_spec.event_definition.name for t in _message_waiters(wf)})


def deliver_message(wf: BpmnWorkflow, message: Message) -> int:
    """Deliver a message to this instance and run on; returns how many tasks caught it
    (0 when nothing waits for it or the correlation keys do not match)."""
    waiters = _message_waiters(wf, message.name)
    if not waiters:
        return 0
    definition = waiters[0].task_spec.event_definition
    event = BpmnEvent(definition, deepcopy(message.payload), deepcopy(message.correlations))
    try:
        wf.send_event(event)
    except WorkflowException:
        return 0
    caught = [t for t in waiters if t.state == TaskState.READY]
    for task in caught:
        ed = task.task_spec.event_definition
        if getattr(ed, "message_var", None) is None:
            task.internal_data.pop(ed.name, None)
            if isinstance(message.payload, dict):
                task.data.update(deepcopy(message.payload))
    run_engine(wf)
    return len(caught)
