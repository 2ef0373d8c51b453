"""Messages between process instances.

SpiffWorkflow delivers a thrown message only inside one `BpmnWorkflow`; a message no task of
the instance catches is queued in ``wf.bpmn_events`` (``get_events()``). Routing between
instances is ours: after each step the persistence layer takes `outgoing_messages(wf)`,
finds the instances whose `waiting_messages` include the name (and whose correlation keys
match), and calls `deliver_message` on each, then saves them.

Payload: a Spiff message throw sends the value of its ``spiffworkflow:messagePayload``
expression (plain BPMN throws send ``{}``); a catch stores it under its
``spiffworkflow:messageVariable``. A plain BPMN / Camunda catch has no variable, so
`deliver_message` merges a dict payload into the catching task's data instead.
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState

from .steps import run_engine


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
