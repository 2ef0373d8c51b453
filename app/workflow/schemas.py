"""Marshmallow schemas of the workflow REST API."""

from __future__ import annotations

import json

from marshmallow import Schema, fields

from app.schema_fields import UtcDateTime


def _data(history) -> object:
    return json.loads(history.data) if history.data else None


class VersionSchema(Schema):
    version = fields.Integer()
    content_hash = fields.String()
    flavor = fields.String()
    deployed_by = fields.String(allow_none=True)
    deployed_at = UtcDateTime()


class ProcessModelSchema(Schema):
    id = fields.Integer()
    key = fields.String()
    name = fields.String()
    latest_version = fields.Integer()
    versions = fields.List(fields.Nested(VersionSchema))


class DeployResultSchema(Schema):
    model = fields.String()
    version = fields.Integer()
    content_hash = fields.String()
    created = fields.Boolean(metadata={"description": "False: identical content, same version"})
    warnings = fields.List(fields.Dict(), metadata={"description": "deployed all the same"})
    lane_roles = fields.Dict(metadata={"description": "lane name -> role, kept with the version"})
    other_processes = fields.List(fields.Dict())
    message_flows = fields.List(fields.Dict())
    partners = fields.List(fields.Dict(), metadata={
        "description": "pools joined by message flows, deployed with it: {id, model, version, "
                       "created}; their messages start or resume each other at run time"})


class ProblemsSchema(Schema):
    problems = fields.List(fields.Dict(), metadata={"description": "errors: refused"})
    warnings = fields.List(fields.Dict(), metadata={"description": "deployable all the same"})
    unmapped_lanes = fields.List(fields.String())
    processes = fields.List(fields.Dict(), metadata={"description": "pools to choose from"})
    lane_roles = fields.Dict()
    process_id = fields.String(allow_none=True)


class TaskSchema(Schema):
    id = fields.String()
    instance_id = fields.Integer()
    name = fields.String()
    label = fields.String()
    lane = fields.String(allow_none=True)
    process_key = fields.String()
    title = fields.String()
    region_code = fields.String(allow_none=True)
    enterprise_uscc = fields.String(allow_none=True)
    assignee_id = fields.Integer(allow_none=True)
    due_at = UtcDateTime(allow_none=True)
    overdue = fields.Boolean()
    created_at = UtcDateTime()


class TaskDetailSchema(TaskSchema):
    form = fields.Dict()
    can_work = fields.Boolean()


class HistorySchema(Schema):
    action = fields.String()
    task_id = fields.String(allow_none=True)
    task_name = fields.String(allow_none=True)
    label = fields.String(allow_none=True)
    user_id = fields.Integer(allow_none=True)
    user_label = fields.String(allow_none=True)
    data = fields.Function(_data)
    comment = fields.String(allow_none=True)
    at = UtcDateTime()


class InstanceSchema(Schema):
    id = fields.Integer()
    process_key = fields.String()
    model_version = fields.Integer()
    title = fields.String()
    status = fields.String()
    status_label = fields.String()
    version = fields.Integer(metadata={"description": "optimistic-lock version"})
    region_code = fields.String(allow_none=True)
    enterprise_uscc = fields.String(allow_none=True)
    initiator_id = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    message = fields.String(allow_none=True)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()
    completed_at = UtcDateTime(allow_none=True)
    tasks = fields.List(fields.Nested(TaskSchema))
    history = fields.List(fields.Nested(HistorySchema))


class StartIn(Schema):
    model = fields.Raw(required=True, metadata={"description": "model key or id"})
    data = fields.Dict(load_default=dict)


class CompleteIn(Schema):
    data = fields.Dict(load_default=dict)


class ReturnIn(Schema):
    comment = fields.String(required=True)


class TaskQuery(Schema):
    instance = fields.Integer(load_default=None)
    mine = fields.Boolean(load_default=False, metadata={"description": "only 我的待办"})
    box = fields.String(load_default="all", metadata={"description": "all|mine|claimable"})
    process = fields.String(load_default=None)
    enterprise = fields.String(load_default=None)
    region = fields.String(load_default=None)
    overdue = fields.Boolean(load_default=False)
