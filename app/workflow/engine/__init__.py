"""cecp's workflow engine layer: SpiffWorkflow 3.2 behind a small, DB-free API.

Deploy:   ``bundle = load_model(files)``; ``validate_model(files, known_roles=...,
          known_services=registered_services(), form_exists=form_exists)`` -> [Problem].
Run:      ``wf = new_workflow(bundle, data)``; ``ready_human_tasks(wf)`` -> [HumanTask];
          ``complete_task(wf, task_id, data, form=bundle.form_for(name))``.
Persist:  ``blob = serialize(wf)`` (no specs inside); ``deserialize(bundle, blob)``.
Timers:   ``waiting_timers(wf)`` -> [(task_id, fire_at)]; ``refresh(wf)`` when due.
Messages: ``outgoing_messages(wf)`` -> [Message]; ``deliver_message(other_wf, message)``.
Services: ``@register_service("report.publish")`` on ``fn(data, **params) -> dict``.
Forms:    ``load_form``, ``validate_form_schema``, ``validate_data``,
          ``camunda_form_to_schema``, ``generic_review_form``.

Every expression in a model runs in `RestrictedScriptEngine` (see `script_engine`).
"""

from . import builtin_services  # noqa: F401  (registers report.self_check, report.publish...)
from .bpmn_xml import FormRef
from .errors import (
    EngineError,
    FormNotFound,
    FormValidationError,
    ModelError,
    ScriptLimitError,
    ServiceError,
    TaskNotReady,
    UnsafeExpressionError,
)
from .events import Message, deliver_message, outgoing_messages, waiting_messages
from .forms import (
    camunda_form_to_schema,
    form_exists,
    generic_review_form,
    load_form,
    resolve_form,
    validate_data,
    validate_form_schema,
)
from .parser import ModelBundle, UserTaskInfo, content_hash, load_model
from .runtime import (
    HumanTask,
    WaitingTimer,
    complete_task,
    deserialize,
    is_completed,
    new_workflow,
    ready_human_tasks,
    refresh,
    serialize,
    set_timer_due,
    waiting_timers,
)
from .script_engine import (
    RestrictedScriptEngine,
    check_source,
    register_service,
    registered_services,
    unregister_service,
)
from .validation import Problem, validate_model

__all__ = [
    "EngineError", "FormNotFound", "FormRef", "FormValidationError", "HumanTask", "Message",
    "ModelBundle", "ModelError", "Problem", "RestrictedScriptEngine", "ScriptLimitError",
    "ServiceError",
    "TaskNotReady", "UnsafeExpressionError", "UserTaskInfo", "WaitingTimer",
    "camunda_form_to_schema", "check_source", "complete_task", "content_hash",
    "deliver_message", "deserialize", "form_exists", "generic_review_form", "is_completed",
    "load_form", "load_model", "new_workflow", "outgoing_messages", "ready_human_tasks",
    "refresh", "register_service", "registered_services", "resolve_form", "serialize",
    "set_timer_due", "unregister_service", "validate_data", "validate_form_schema",
    "validate_model", "waiting_messages", "waiting_timers",
]
