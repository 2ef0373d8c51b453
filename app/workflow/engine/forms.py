"""Task forms: JSON Schema (Draft 2020-12) for the data plus a small UI schema for the page.

A form file ``forms/<name>.json`` is ``{"schema": {...}, "ui": {"order": [...], "fields":
{name: {"label": "中文", "label_en": "...", "widget": "textarea", "help": "...", "help_en": "...",
"options": [{"value": "approve", "label": "通过"}]}}}}``.

Why JSON Schema: the same document validates on the server (here, with Chinese messages per
field), renders the page, and can be checked by the designer before deployment. Camunda
Modeler's inline ``camunda:formField`` forms are converted into the same shape, so the rest of
the platform only knows one kind of form.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from lxml import etree

from .bpmn_xml import CAMUNDA_NS, NS, FormRef, form_name_from_key
from .errors import FormNotFound

FORMS_DIR = Path(__file__).resolve().parents[3] / "forms"
FORM_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,99}$")
KNOWN_WIDGETS = frozenset({"text", "textarea", "number", "select", "radio", "checkbox", "date",
                           "datetime", "file", "hidden", "readonly", "checklist", "rows"})
FORM_ERROR_KEY = "_form"  # key of errors that belong to the whole form, not one field

_TYPE_MESSAGES = {"number": "必须是数字", "integer": "必须是整数", "string": "必须是文本",
                  "boolean": "必须是是/否", "array": "必须是列表", "object": "必须是对象",
                  "null": "必须为空"}
_FORMAT_MESSAGES = {"date": "日期格式不正确（应为 YYYY-MM-DD）",
                    "date-time": "日期时间格式不正确", "email": "电子邮件地址格式不正确"}


def form_path(name: str, forms_dir: Path | None = None) -> Path:
    """Path of a form file; refuses names that could leave the forms directory."""
    if not isinstance(name, str) or not FORM_NAME.match(name):
        raise FormNotFound(f"表单名称不合法: {name!r}")
    return (forms_dir or FORMS_DIR) / f"{name}.json"


def form_exists(name: str, forms_dir: Path | None = None) -> bool:
    try:
        return form_path(name, forms_dir).is_file()
    except FormNotFound:
        return False


def load_form(name: str, forms_dir: Path | None = None) -> dict[str, Any]:
    """Read ``forms/<name>.json``; FormNotFound if missing."""
    path = form_path(name, forms_dir)
    if not path.is_file():
        raise FormNotFound(f"表单不存在: {name}")
    return json.loads(path.read_text(encoding="utf-8"))


def validate_form_schema(form: Any) -> list[str]:
    """Problems of a form document (empty list = usable): shape, meta-schema, UI references."""
    if not isinstance(form, dict) or not isinstance(form.get("schema"), dict):
        return ["表单必须是包含 schema 对象的 JSON 对象"]
    schema, ui = form["schema"], form.get("ui", {})
    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA)
    problems = [f"schema 不符合 JSON Schema 2020-12（{'/'.join(map(str, e.absolute_path)) or '根'}"
                f"）: {e.message}" for e in meta.iter_errors(schema)]
    if problems:
        return problems
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        return ["schema 的 type 必须是 object 且包含 properties"]
    props = schema["properties"]
    if not isinstance(ui, dict):
        return ["ui 必须是对象"]
    fields = ui.get("fields", {})
    order = ui.get("order", [])
    if not isinstance(fields, dict) or not isinstance(order, list):
        return ["ui.fields 必须是对象，ui.order 必须是列表"]
    problems += [f"ui.order 中的字段 {n!r} 不在 schema.properties 中" for n in order
                 if n not in props]
    problems += [f"ui.fields 中的字段 {n!r} 不在 schema.properties 中" for n in fields
                 if n not in props]
    for name, spec in fields.items():
        widget = spec.get("widget") if isinstance(spec, dict) else None
        if widget is not None and widget not in KNOWN_WIDGETS:
            problems.append(f"字段 {name!r} 的控件 {widget!r} 不受支持")
    for name, prop in props.items():
        label = (fields.get(name) or {}).get("label") or (
            prop.get("title") if isinstance(prop, dict) else None)
        if not label:
            problems.append(f"字段 {name!r} 缺少中文标签（ui.fields.{name}.label）")
    return problems


def _message(err: ValidationError) -> str:
    kind, value = err.validator, err.validator_value
    if kind == "type":
        types = [value] if isinstance(value, str) else list(value)
        return "；".join(_TYPE_MESSAGES.get(t, f"类型必须是 {t}") for t in types)
    simple = {
        "minimum": f"不得小于 {value}", "maximum": f"不得大于 {value}",
        "exclusiveMinimum": f"必须大于 {value}", "exclusiveMaximum": f"必须小于 {value}",
        "maxLength": f"长度不得超过 {value} 个字符", "multipleOf": f"必须是 {value} 的整数倍",
        "minItems": f"至少需要 {value} 项", "maxItems": f"最多允许 {value} 项",
        "uniqueItems": "不得包含重复项", "pattern": "格式不正确",
    }
    if kind in simple:
        return simple[kind]
    if kind == "minLength":
        return "不能为空" if value == 1 else f"长度不得少于 {value} 个字符"
    if kind == "enum":
        return "取值必须是以下之一: " + ", ".join(str(v) for v in value)
    if kind == "const":
        return "必须勾选确认" if value is True else f"取值必须为 {value}"
    if kind == "format":
        return _FORMAT_MESSAGES.get(value, f"格式不正确（{value}）")
    return "取值不符合要求"


def validate_data(form: dict[str, Any], data: Any) -> dict[str, str]:
    """Validate submitted data; returns ``{field: 中文消息}`` (first problem per field).

    Nested fields are dotted (``items.0.amount``); problems of the whole form use ``_form``.
    """
    schema = form["schema"]
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors: dict[str, str] = {}

    def key(path: list[Any]) -> str:
        return ".".join(str(p) for p in path) or FORM_ERROR_KEY

    for err in validator.iter_errors(data):
        path = list(err.absolute_path)
        if err.validator == "required" and isinstance(err.instance, dict):
            for missing in err.validator_value:
                if missing not in err.instance:
                    errors.setdefault(key([*path, missing]), "必填")
        elif err.validator == "additionalProperties" and isinstance(err.instance, dict):
            allowed = set(err.schema.get("properties", {}))
            for extra in sorted(set(err.instance) - allowed):
                errors.setdefault(key([*path, extra]), "不允许的字段")
        else:
            errors.setdefault(key(path), _message(err))
    return errors


def generic_review_form() -> dict[str, Any]:
    """The form of a user task that names none: a decision (approve/return) and a comment,
    required when returning."""
    return {
        "schema": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "decision": {"type": "string", "enum": ["approve", "return"]},
                "comment": {"type": "string", "maxLength": 2000},
            },
            "required": ["decision"],
            "if": {"properties": {"decision": {"const": "return"}}, "required": ["decision"]},
            "then": {"required": ["comment"], "properties": {"comment": {"minLength": 1}}},
        },
        "ui": {
            "order": ["decision", "comment"],
            "fields": {
                "decision": {"label": "审核结论", "label_en": "Decision", "widget": "radio",
                             "options": [{"value": "approve", "label": "通过",
                                          "label_en": "Approve"},
                                         {"value": "return", "label": "退回修改",
                                          "label_en": "Return for correction"}]},
                "comment": {"label": "审核意见", "label_en": "Comment", "widget": "textarea",
                            "help": "退回时必须填写意见",
                            "help_en": "A comment is required when returning"},
            },
        },
    }


def resolve_form(ref: FormRef, loader: Any = load_form) -> dict[str, Any]:
    """The form document for a user task's `FormRef` (file, inline Camunda form or generic)."""
    if ref.kind == "file" and ref.name:
        return loader(form_name_from_key(ref.name))
    if ref.kind == "inline" and ref.inline is not None:
        return ref.inline
    return generic_review_form()


# ---- Camunda inline forms ----------------------------------------------------------------

_CAMUNDA_TYPES = {"string": ({"type": "string"}, "text"), "long": ({"type": "integer"}, "number"),
                  "boolean": ({"type": "boolean"}, "checkbox"),
                  "date": ({"type": "string", "format": "date"}, "date"),
                  "enum": ({"type": "string"}, "select")}


def _fields_from_xml(node: etree._Element) -> list[dict[str, Any]]:
    out = []
    for f in node.xpath(".//camunda:formData/camunda:formField", namespaces=NS):
        out.append({
            "id": f.get("id"), "label": f.get("label"), "type": f.get("type") or "string",
            "default": f.get("defaultValue"),
            "constraints": [(c.get("name"), c.get("config")) for c in
                            f.xpath("./camunda:validation/camunda:constraint", namespaces=NS)],
            "options": [(v.get("id"), v.get("name")) for v in
                        f.findall(f"{{{CAMUNDA_NS}}}value")],
        })
    return out


def _fields_from_spiff_form(form: Any) -> list[dict[str, Any]]:
    return [{"id": f.id, "label": f.label, "type": f.type or "string",
             "default": f.default_value or None,
             "constraints": [(v.name, v.config) for v in f.validation],
             "options": [(o.id, o.name) for o in getattr(f, "options", [])]}
            for f in form.fields]


def _typed(kind: str, value: str | None) -> Any:
    if value is None:
        return None
    if kind == "long":
        try:
            return int(value)
        except ValueError:
            return float(value)
    if kind == "boolean":
        return value.strip().lower() == "true"
    return value


def camunda_form_to_schema(source: Any) -> dict[str, Any]:
    """Convert an inline Camunda form into a cecp form document.

    `source` is a ``bpmn:userTask`` lxml element, a SpiffWorkflow Camunda ``UserTask`` spec
    (``.form``) or its ``Form``. Types: string, long (integer), boolean, date (ISO
    ``YYYY-MM-DD``, not Camunda Tasklist's ``dd/MM/yyyy``), enum (``camunda:value``);
    constraints: required, min, max, minlength, maxlength, readonly (others are ignored).
    """
    if isinstance(source, etree._Element):
        fields = _fields_from_xml(source)
    else:
        fields = _fields_from_spiff_form(getattr(source, "form", source))
    props: dict[str, Any] = {}
    ui_fields: dict[str, Any] = {}
    required: list[str] = []
    for f in fields:
        kind = f["type"] if f["type"] in _CAMUNDA_TYPES else "string"
        base, widget = _CAMUNDA_TYPES[kind]
        prop = dict(base)
        ui: dict[str, Any] = {"label": f["label"] or f["id"], "widget": widget}
        if kind == "enum":
            prop["enum"] = [o[0] for o in f["options"]]
            ui["options"] = [{"value": o[0], "label": o[1] or o[0]} for o in f["options"]]
        if f["default"] is not None:
            prop["default"] = _typed(kind, f["default"])
        for name, config in f["constraints"]:
            if name == "required":
                required.append(f["id"])
                if kind == "string":
                    prop.setdefault("minLength", 1)
            elif name in ("min", "max") and kind == "long" and config is not None:
                prop["minimum" if name == "min" else "maximum"] = _typed("long", config)
            elif name in ("minlength", "maxlength") and config is not None:
                prop["minLength" if name == "minlength" else "maxLength"] = int(config)
            elif name == "readonly":
                prop["readOnly"] = True
                ui["readonly"] = True
        props[f["id"]] = prop
        ui_fields[f["id"]] = ui
    schema: dict[str, Any] = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                              "type": "object", "properties": props}
    if required:
        schema["required"] = required
    return {"schema": schema, "ui": {"order": list(props), "fields": ui_fields}}
