"""Server-side HTML forms from a JSON Schema + UI schema: coercion of posted strings to the
schema's types, and the field list a template renders (labels, widgets, errors)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from werkzeug.datastructures import MultiDict

TRUE = {"on", "true", "1", "yes", "y", "是"}


def _types(prop: dict[str, Any]) -> set[str]:
    kind = prop.get("type")
    return {kind} if isinstance(kind, str) else set(kind or [])


def _coerce_one(prop: dict[str, Any], raw: str) -> Any:
    kinds = _types(prop)
    value = raw.strip()
    if "integer" in kinds:
        try:
            return int(value)
        except ValueError:
            pass
    if "number" in kinds:
        try:
            number = Decimal(value)
            return int(number) if number == number.to_integral_value() and "." not in value \
                else float(number)
        except InvalidOperation:
            pass
    if "boolean" in kinds:
        return value.lower() in TRUE
    return raw


def _is_rows(prop: dict[str, Any]) -> bool:
    items = prop.get("items")
    return "array" in _types(prop) and isinstance(items, dict) and isinstance(
        items.get("properties"), dict)


def _coerce_rows(name: str, items: dict[str, Any], posted: Any) -> list[dict[str, Any]]:
    """Repeating rows posted as ``name.<i>.<column>``: rows in index order, a row whose
    cells are all empty is dropped (the blank row the page always offers)."""
    cells: dict[int, dict[str, Any]] = {}
    for key in list(posted.keys()):
        parts = str(key).split(".")
        if len(parts) != 3 or parts[0] != name or not parts[1].isdigit():
            continue
        col = parts[2]
        prop = items["properties"].get(col)
        if not isinstance(prop, dict):
            continue
        raw = posted.get(key)
        if "boolean" in _types(prop):
            cells.setdefault(int(parts[1]), {})[col] = str(raw).strip().lower() in TRUE
        elif str(raw).strip():
            cells.setdefault(int(parts[1]), {})[col] = _coerce_one(prop, str(raw))
    return [row for _, row in sorted(cells.items())
            if any(v not in (None, False, "") for v in row.values())]


def coerce(form: dict[str, Any], posted: MultiDict | dict[str, Any]) -> dict[str, Any]:
    """Turn posted strings into schema-typed values: an empty field is left out (so
    "required" reports it), an unticked checkbox is False, numbers are parsed (a value that
    does not parse stays a string and fails validation with a Chinese message)."""
    props: dict[str, Any] = form["schema"].get("properties", {})
    ui_fields = (form.get("ui") or {}).get("fields", {})
    getlist = posted.getlist if isinstance(posted, MultiDict) else (
        lambda k: posted[k] if isinstance(posted.get(k), list) else [posted[k]])
    data: dict[str, Any] = {}
    for name, prop in props.items():
        prop = prop if isinstance(prop, dict) else {}
        widget = (ui_fields.get(name) or {}).get("widget")
        if prop.get("readOnly") or widget in ("readonly", "file"):
            continue
        if _is_rows(prop):
            rows = _coerce_rows(name, prop["items"], posted)
            if rows or name in posted:
                data[name] = rows
            continue
        if name not in posted:
            if "boolean" in _types(prop):
                data[name] = False
            continue
        if "array" in _types(prop):
            items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
            data[name] = [_coerce_one(items, v) for v in getlist(name) if str(v).strip()]
            continue
        raw = getlist(name)[-1]
        if not isinstance(raw, str):
            data[name] = raw
        elif raw.strip() == "":
            continue
        else:
            data[name] = _coerce_one(prop, raw)
    return data


def fields(form: dict[str, Any], values: dict[str, Any] | None = None,
           errors: dict[str, str] | None = None, english: bool = False) -> list[dict[str, Any]]:
    """Render model: one dict per field in UI order (label, widget, options, value, error)."""
    schema = form["schema"]
    props: dict[str, Any] = schema.get("properties", {})
    ui = form.get("ui") or {}
    ui_fields = ui.get("fields", {})
    order = [n for n in ui.get("order", []) if n in props] + [
        n for n in props if n not in ui.get("order", [])]
    required = set(schema.get("required", []))
    then = schema.get("then") if isinstance(schema.get("then"), dict) else {}
    conditional = set(then.get("required", []))
    values, errors = values or {}, errors or {}
    out = []
    for name in order:
        prop = props[name] if isinstance(props[name], dict) else {}
        spec = ui_fields.get(name) or {}
        kinds = _types(prop)
        widget = spec.get("widget") or (
            "checkbox" if "boolean" in kinds else "select" if "enum" in prop
            else "number" if kinds & {"integer", "number"}
            else "date" if prop.get("format") == "date" else "text")
        options = spec.get("options") or [{"value": v, "label": str(v)}
                                          for v in prop.get("enum", [])]
        label = (spec.get("label_en") if english else None) or spec.get("label") or prop.get(
            "title") or name
        value = values.get(name, prop.get("default"))
        if _is_rows(prop):
            widget = "rows"
        elif "array" in kinds and isinstance(prop.get("items"), dict) and (
                "enum" in prop["items"]):
            widget = "checklist"
            options = spec.get("options") or [{"value": v, "label": str(v)}
                                              for v in prop["items"]["enum"]]
        columns = _columns(prop, spec, errors, name, english) if widget == "rows" else []
        out.append({
            "name": name, "label": label, "widget": widget,
            "help": (spec.get("help_en") if english else None) or spec.get("help"),
            "options": [{"value": o["value"], "label": (o.get("label_en") if english else None)
                         or o.get("label") or o["value"]} for o in options],
            "required": name in required, "conditional": name in conditional,
            "readonly": bool(prop.get("readOnly") or spec.get("readonly")),
            "value": value, "error": errors.get(name),
            "max_length": prop.get("maxLength"), "minimum": prop.get("minimum"),
            "maximum": prop.get("maximum"),
            "step": "1" if "integer" in kinds else "any",
            "columns": columns, "rows": value if widget == "rows" and isinstance(value, list)
            else [], "row_errors": {k: v for k, v in errors.items()
                                    if k.startswith(f"{name}.")}})
    return out


def _columns(prop: dict[str, Any], spec: dict[str, Any], errors: dict[str, str], name: str,
             english: bool) -> list[dict[str, Any]]:
    """The cells of a repeating row, rendered like fields (one level deep)."""
    items = prop["items"]
    sub = fields({"schema": items, "ui": {"fields": spec.get("columns") or {}}},
                 english=english)
    for col in sub:
        col["required"] = col["name"] in set(items.get("required", []))
    return sub
