"""The form files modelers bring, read into cecp's one form shape (`forms.py`).

- SpiffArena: a plain JSON Schema (``<name>-schema.json``, ``<name>_JSONSchema.json`` or any
  name the task's ``formJsonSchemaFilename`` gives) with a react-jsonschema-form UI schema
  beside it (``-uischema.json``, ``_UISchema.json`` or ``formUiSchemaFilename``); file names
  in any case; a top level without ``type`` is an object.
- Camunda Forms (``.form``, form-js JSON), referenced by ``camunda:formRef`` (form id) or
  ``camunda:formKey="camunda-forms:deployment:x.form"``.
- cecp's own ``{"schema", "ui"}`` documents (``forms/<name>.json``).
- A key the platform cannot render (embedded HTML, JSF, an external application's page)
  resolves to the generic review form with a warning instead of refusing the model: such
  models come from Camunda 7 projects whose Tasklist pages cannot travel with the BPMN.

Why resolve from the stored files at run time: a version keeps every file it was deployed
with, so the same files always give the same form (`FormLibrary`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from .bpmn_xml import CAMUNDA_NS, NS, FormRef, form_name_from_key, has_inline_form

SCHEMA_2020 = "https://json-schema.org/draft/2020-12/schema"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
_UNRENDERABLE = re.compile(r"(\.(html?|jsf|xhtml|jsp|faces)$)|^(embedded:|app:|https?:)", re.I)
_RJSF_WIDGETS = {"textarea": "textarea", "radio": "radio", "select": "select",
                 "checkbox": "checkbox", "checkboxes": "checklist", "date": "date",
                 "datetime": "datetime", "hidden": "hidden", "updown": "number",
                 "range": "number", "file": "file", "data-url": "file", "text": "text",
                 "email": "text", "uri": "text", "password": "text"}


def is_cecp_form(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("schema"), dict)


def looks_like_schema(doc: Any) -> bool:
    """A JSON Schema of a form (not a UI schema, not SpiffArena's process_model.json)."""
    return isinstance(doc, dict) and (isinstance(doc.get("properties"), dict)
                                      or doc.get("type") == "object")


# ---- SpiffArena: JSON Schema + react-jsonschema-form UI schema ---------------------------

def _options(prop: dict[str, Any]) -> list[dict[str, Any]] | None:
    for key in ("oneOf", "anyOf"):
        alts = prop.get(key)
        if isinstance(alts, list) and alts and all(isinstance(a, dict) and "const" in a
                                                   for a in alts):
            return [{"value": a["const"], "label": a.get("title") or str(a["const"])}
                    for a in alts]
    names = prop.get("enumNames")
    if isinstance(prop.get("enum"), list) and isinstance(names, list):
        return [{"value": v, "label": str(n)} for v, n in zip(prop["enum"], names, strict=False)]
    return None


def _ui_field(name: str, prop: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    options = spec.get("ui:options") if isinstance(spec.get("ui:options"), dict) else {}
    out: dict[str, Any] = {"label": spec.get("ui:title") or options.get("title")
                           or prop.get("title") or name}
    widget = _RJSF_WIDGETS.get(spec.get("ui:widget") or options.get("widget") or "")
    items = prop.get("items") if isinstance(prop.get("items"), dict) else None
    if prop.get("type") == "array" and items is not None:
        if items.get("type") == "object" or isinstance(items.get("properties"), dict):
            widget = "rows"
            sub_ui = spec.get("items") if isinstance(spec.get("items"), dict) else {}
            out["columns"] = {k: _ui_field(k, v if isinstance(v, dict) else {},
                                           sub_ui.get(k) or {})
                              for k, v in (items.get("properties") or {}).items()}
        elif "enum" in items or _options(items):
            widget = "checklist"
            out["options"] = _options(items) or [{"value": v, "label": str(v)}
                                                 for v in items["enum"]]
    if widget:
        out["widget"] = widget
    help_text = spec.get("ui:help") or spec.get("ui:description") or prop.get("description")
    if help_text:
        out["help"] = str(help_text)
    if "options" not in out and _options(prop):
        out["options"] = _options(prop)
    if spec.get("ui:readonly") or spec.get("ui:disabled"):
        out["readonly"] = True
    return out


def _normalise_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Top level without ``type`` is an object; oneOf/anyOf const lists become enums (one
    validation message); draft-07 ``$schema`` is read as 2020-12 (what cecp validates)."""
    schema = deepcopy(schema)
    schema.setdefault("type", "object")
    schema.setdefault("properties", {})
    schema["$schema"] = SCHEMA_2020

    def walk(prop: Any) -> None:
        if not isinstance(prop, dict):
            return
        opts = _options(prop)
        if opts and "enum" not in prop:
            prop["enum"] = [o["value"] for o in opts]
        prop.pop("enumNames", None)
        for sub in (prop.get("properties") or {}).values():
            walk(sub)
        if isinstance(prop.get("items"), dict):
            if isinstance(prop["items"].get("properties"), dict):
                prop["items"].setdefault("type", "object")
            walk(prop["items"])

    for value in schema["properties"].values():
        walk(value)
    return schema


def from_json_schema(schema: dict[str, Any], ui: dict[str, Any] | None = None
                     ) -> dict[str, Any]:
    """SpiffArena's JSON Schema + UI schema -> a cecp form document."""
    schema = _normalise_schema(schema)
    ui = ui if isinstance(ui, dict) else {}
    props = schema["properties"]
    order = [n for n in (ui.get("ui:order") or []) if n in props]
    order += [n for n in props if n not in order]
    fields = {name: _ui_field(name, prop if isinstance(prop, dict) else {},
                              ui.get(name) if isinstance(ui.get(name), dict) else {})
              for name, prop in props.items()}
    return {"schema": schema, "ui": {"order": order, "fields": fields}}


# ---- Camunda Forms (form-js) -------------------------------------------------------------

_FORM_JS_SKIP = frozenset({"text", "html", "image", "spacer", "separator", "button",
                           "iframe", "table", "documentPreview", "expression", "filepicker"})


def _form_js_field(comp: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    kind = comp.get("type")
    rules = comp.get("validate") if isinstance(comp.get("validate"), dict) else {}
    values = [{"value": v.get("value"), "label": v.get("label") or str(v.get("value"))}
              for v in comp.get("values") or [] if isinstance(v, dict)]
    prop: dict[str, Any]
    ui: dict[str, Any] = {"label": comp.get("label") or comp.get("key")}
    if kind == "number":
        prop = {"type": "integer" if comp.get("decimalDigits") == 0 else "number"}
        ui["widget"] = "number"
        if rules.get("min") is not None:
            prop["minimum"] = rules["min"]
        if rules.get("max") is not None:
            prop["maximum"] = rules["max"]
    elif kind == "checkbox":
        prop, ui["widget"] = {"type": "boolean"}, "checkbox"
    elif kind in ("checklist", "taglist"):
        prop = {"type": "array", "items": {"type": "string"}}
        if values:
            prop["items"]["enum"] = [v["value"] for v in values]
            ui["widget"], ui["options"] = "checklist", values
    elif kind in ("radio", "select"):
        prop = {"type": "string"}
        if values:
            prop["enum"] = [v["value"] for v in values]
            ui["options"] = values
        ui["widget"] = kind
    elif kind == "datetime":
        sub = comp.get("subtype", "date")
        prop = {"type": "string", "format": "date" if sub == "date" else (
            "date-time" if sub == "datetime" else "time")}
        ui["widget"] = "date" if sub == "date" else "text"
    else:  # textfield, textarea
        prop = {"type": "string"}
        ui["widget"] = "textarea" if kind == "textarea" else "text"
        if rules.get("minLength") is not None:
            prop["minLength"] = rules["minLength"]
        if rules.get("maxLength") is not None:
            prop["maxLength"] = rules["maxLength"]
        if rules.get("pattern"):
            prop["pattern"] = rules["pattern"]
        if rules.get("validationType") == "email":
            prop["format"] = "email"
        if rules.get("required"):
            prop.setdefault("minLength", 1)
    if comp.get("defaultValue") is not None:
        prop["default"] = comp["defaultValue"]
    if comp.get("readonly") or comp.get("disabled"):
        prop["readOnly"] = True
        ui["readonly"] = True
    if comp.get("description"):
        ui["help"] = str(comp["description"])
    return prop, ui


def _form_js_components(components: list[Any], props: dict[str, Any], ui: dict[str, Any],
                        required: list[str]) -> None:
    for comp in components or []:
        if not isinstance(comp, dict) or comp.get("type") in _FORM_JS_SKIP:
            continue
        if comp.get("type") == "dynamiclist" and comp.get("path"):
            item_props: dict[str, Any] = {}
            item_ui: dict[str, Any] = {}
            item_required: list[str] = []
            _form_js_components(comp.get("components"), item_props, item_ui, item_required)
            items: dict[str, Any] = {"type": "object", "properties": item_props}
            if item_required:
                items["required"] = item_required
            props[comp["path"]] = {"type": "array", "items": items}
            ui[comp["path"]] = {"label": comp.get("label") or comp["path"], "widget": "rows",
                                "columns": item_ui}
            continue
        if comp.get("type") == "group" or "components" in comp:
            _form_js_components(comp.get("components"), props, ui, required)
            continue
        key = comp.get("key")
        if not key:
            continue
        props[key], ui[key] = _form_js_field(comp)
        if (comp.get("validate") or {}).get("required"):
            required.append(key)


def from_form_js(doc: dict[str, Any]) -> dict[str, Any]:
    """A Camunda Form (form-js ``.form`` JSON) -> a cecp form document. Display-only
    components (text, image, buttons...) are left out; groups are flattened; a dynamic list
    becomes an array of objects (repeating rows)."""
    props: dict[str, Any] = {}
    ui: dict[str, Any] = {}
    required: list[str] = []
    _form_js_components(doc.get("components") or [], props, ui, required)
    schema: dict[str, Any] = {"$schema": SCHEMA_2020, "type": "object", "properties": props}
    if required:
        schema["required"] = required
    return {"schema": schema, "ui": {"order": list(props), "fields": ui}}


# ---- references in BPMN ------------------------------------------------------------------

def form_ref(node: etree._Element) -> FormRef:
    """Where the form of a user task or start event comes from (any modeler's vocabulary)."""
    from .forms import camunda_form_to_schema

    if has_inline_form(node):
        return FormRef("inline", None, camunda_form_to_schema(node))
    props = {p.get("name"): p.get("value") for p in node.xpath(
        "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property",
        namespaces=NS)}
    schema = props.get("formJsonSchemaFilename") or props.get("form")
    if schema:
        return FormRef("file", form_name_from_key(schema), ui=props.get("formUiSchemaFilename"),
                       key=schema)
    ref = node.get(f"{{{CAMUNDA_NS}}}formRef")
    if ref:
        return FormRef("form-js", ref, key=ref)
    zeebe = node.xpath("./bpmn:extensionElements/zeebe:formDefinition/@formId",
                       namespaces={**NS, "zeebe": ZEEBE_NS})
    if zeebe:
        return FormRef("form-js", str(zeebe[0]), key=str(zeebe[0]))
    key = node.get(f"{{{CAMUNDA_NS}}}formKey")
    if key and key.startswith("camunda-forms:"):
        name = key.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
        return FormRef("form-js", name, key=name)
    return FormRef("file", form_name_from_key(key), key=key) if key else FormRef("generic")


@dataclass
class Resolved:
    """A resolved form: the document, and what a deploy says about it."""

    form: dict[str, Any] | None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    builtin: str | None = None  # name in forms/ when taken from there (stored with the version)


def _ui_candidates(name: str) -> list[str]:
    low = name.lower()
    out = []
    for schema_end, ui_end in (("-schema.json", "-uischema.json"),
                               ("_jsonschema.json", "_uischema.json"),
                               ("schema.json", "uischema.json"), (".json", "-uischema.json"),
                               (".json", "_uischema.json")):
        if low.endswith(schema_end):
            out.append(low[: -len(schema_end)] + ui_end)
    return out


class FormLibrary:
    """The form files of an upload or a stored version (name -> parsed JSON), looked up in
    any case, with the platform's ``forms/`` directory as the fallback for cecp forms."""

    def __init__(self, files: dict[str, Any], *,
                 exists: Callable[[str], bool] | None = None,
                 loader: Callable[[str], Any] | None = None):
        self.files = {n: d for n, d in files.items() if not isinstance(d, Exception)}
        self.lower = {n.lower(): n for n in self.files}
        self.exists, self.loader = exists, loader

    def _find(self, key: str) -> tuple[str, Any] | None:
        base = key.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
        stem = re.sub(r"\.(json|form|html?|jsf|xhtml|jsp|faces)$", "", base, flags=re.I)
        for cand in (base, f"{base}.json", f"{stem}.json", f"{stem}.form"):
            real = self.lower.get(cand.lower())
            if real is not None:
                return real, self.files[real]
        return None

    def resolve(self, ref: FormRef, what: str = "") -> Resolved:
        if ref.kind == "inline" and ref.inline is not None:
            return Resolved(ref.inline)
        key = ref.key or ref.name
        if ref.kind == "form-js":
            return self._camunda_form(key or "", what)
        if ref.kind != "file" or not key:
            return Resolved(None)
        found = self._find(key)
        if found is not None:
            name, doc = found
            if is_cecp_form(doc):
                return Resolved(doc)
            if looks_like_schema(doc):
                ui_doc = None
                for cand in ([ref.ui] if ref.ui else []) + _ui_candidates(name):
                    hit = self._find(cand)
                    if hit is not None:
                        ui_doc = hit[1]
                        break
                return Resolved(from_json_schema(doc, ui_doc))
            if name.lower().endswith(".form") and isinstance(doc, dict):
                return Resolved(from_form_js(doc))
            return Resolved(None, errors=[f"{what}的表单文件 {name} 既不是 JSON Schema 也不是"
                                          "平台表单"])
        builtin = form_name_from_key(key)
        if self.exists is not None and self.loader is not None and self.exists(builtin):
            return Resolved(self.loader(builtin), builtin=builtin)
        if _UNRENDERABLE.search(key):
            return Resolved(None, warnings=[
                f"{what}的表单 {key} 是嵌入式 HTML、JSF 或外部应用表单，平台无法显示，"
                "将使用通用表单（审核结论与意见）"])
        return Resolved(None, errors=[f"{what}引用的表单 {key} 不存在"])

    def _camunda_form(self, name: str, what: str) -> Resolved:
        found = self._find(name)
        if found is None:
            found = next(((n, d) for n, d in self.files.items() if n.lower().endswith(".form")
                          and isinstance(d, dict) and d.get("id") == name), None)
        if found is None or not isinstance(found[1], dict):
            return Resolved(None, errors=[f"{what}引用的 Camunda 表单 {name} 不存在"
                                          "（请一并上传 .form 文件）"])
        return Resolved(from_form_js(found[1]))
