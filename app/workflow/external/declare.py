"""The deploy option ``external``: which unimplemented service tasks wait for a worker.

Given as a form field of the deploy/validate upload: a JSON list or a comma-separated list
of element ids, operator/delegate names or topics. The BPMN files are rewritten with
Camunda's own declaration (``camunda:type="external" camunda:topic=...``) before
validation, so the deployed version carries the decision (and its content hash changes).
"""

from __future__ import annotations

import json

from app.workflow.engine.errors import ModelError
from app.workflow.engine.external import declare_external as _declare


def parse_names(raw: str | None) -> set[str]:
    if not raw or not raw.strip():
        return set()
    text = raw.strip()
    if text.startswith("["):
        try:
            items = json.loads(text)
        except ValueError:
            items = []
        return {str(i).strip() for i in items if str(i).strip()}
    return {p.strip() for p in text.split(",") if p.strip()}


def declare_external(files: dict[str, bytes], raw: str | None) -> dict[str, bytes]:
    names = parse_names(raw)
    if not names:
        return files
    out = {}
    for name, content in files.items():
        if name.lower().endswith(".bpmn"):
            try:
                content, _ = _declare(content, names)
            except ModelError:
                pass  # validation reports the broken file
        out[name] = content
    return out
