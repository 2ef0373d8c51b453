"""The bound on an instance's task data (default 1 MB of JSON per live task).

Why: task data is copied into every task, serialized on every step and sent to script
children; a script or a form that grows it without bound would slow every later step of
the instance and eventually the database. The bound is checked after every engine run
(`steps.run_engine`) and before a submitted form is applied (`runtime.complete_task`).
"""

from __future__ import annotations

import json
from typing import Any

from SpiffWorkflow.util.task import TaskState

from .errors import ScriptLimitError

DEFAULT_MAX_BYTES = 1024 * 1024
_LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


class _Bound:
    max_bytes: int = DEFAULT_MAX_BYTES


BOUND = _Bound()


def data_size(data: dict[str, Any]) -> int:
    """Bytes of the data as compact UTF-8 JSON (non-JSON values as their text)."""
    return len(
        json.dumps(data, default=str, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    )


def too_large_message(size: int, limit: int | None = None) -> str:
    limit = limit or BOUND.max_bytes
    return (
        f"流程数据超过上限：{size / 1024:,.0f} KB，上限 {limit / 1024:,.0f} KB。"
        "请减少表单或脚本写入的数据（大文件请作为附件上传）。"
    )


def check_workflow(wf: Any) -> None:
    """Raise `ScriptLimitError` (kind "data") when a live task's data exceeds the bound."""
    limit = BOUND.max_bytes
    if limit <= 0:
        return
    for task in wf.get_tasks(state=_LIVE):
        if task.data:
            size = data_size(task.data)
            if size > limit:
                raise ScriptLimitError(too_large_message(size, limit), kind="data")
