"""Reduction methodologies (R-10.1, 6.3b): the definitions are data (data/methodologies.json);
this module evaluates them in Decimal and writes one derivation line per parameter and term,
so that a verifier can redo every step by hand."""

from __future__ import annotations

import json
import os
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from app.i18n import Msg
from app.trading import origins as texts

DATA_DIR = os.path.join(os.path.dirname(__file__), "data")
PLACES = Decimal("0.000001")  # tCO2e results: six decimals (gram precision)


class MethodologyError(ValueError):
    """Bad input: `fields` maps each offending parameter to a Chinese message."""

    def __init__(self, fields: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


@lru_cache(maxsize=1)
def _catalogue() -> dict[str, dict]:
    with open(os.path.join(DATA_DIR, "methodologies.json"), encoding="utf-8") as fh:
        return {m["code"]: m for m in json.load(fh)["methodologies"]}


@lru_cache(maxsize=1)
def grid_factors() -> list[dict]:
    """The OM/BM factor kind, by regional grid and year; null values are unconfirmed."""
    with open(os.path.join(DATA_DIR, "grid_factors.json"), encoding="utf-8") as fh:
        return json.load(fh)["factors"]


def list_all() -> list[dict]:
    return list(_catalogue().values())


def get(code: str) -> dict | None:
    return _catalogue().get(code)


def _dec(raw: Any, name: str, errors: dict[str, str], *, positive: bool = False) -> Decimal | None:
    if isinstance(raw, bool) or raw is None or raw == "":
        errors[name] = "必须是数字"
        return None
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        errors[name] = "必须是数字"
        return None
    if not value.is_finite():
        errors[name] = "必须是有限数字"
        return None
    if value < 0:
        errors[name] = "不能为负数"
        return None
    if positive and value == 0:
        errors[name] = "必须大于 0"
        return None
    return value


def _q(value: Decimal) -> str:
    return str(value.quantize(PLACES, rounding=ROUND_HALF_UP))


class _Lines:
    def __init__(self, spec: dict):
        self.units = {p["name"]: p["unit"] for p in spec["parameters"]}
        self.labels = {p["name"]: p["label"] for p in spec["parameters"]}
        self.rows: list[dict] = []

    def param(self, name: str, value: Decimal | str, origin: str) -> None:
        self.rows.append({"kind": "parameter", "name": name, "label": self.labels.get(name, name),
                          "value": str(value), "unit": self.units.get(name, ""),
                          "origin": origin})

    def term(self, name: str, formula: str, value: Decimal, unit: str = "tCO2e") -> None:
        self.rows.append({"kind": "term", "name": name, "formula": formula,
                          "value": _q(value) if unit == "tCO2e" else str(value), "unit": unit})


def calculate(code: str, parameters: dict[str, Any] | None) -> dict:
    """Compute one monitoring period's reduction. Raises MethodologyError naming the fields."""
    spec = get(code) if isinstance(code, str) else None
    if spec is None:
        raise MethodologyError({"methodology": f"未知的方法学：{code}；可选 "
                                + "、".join(sorted(_catalogue()))})
    if not isinstance(parameters, dict):
        raise MethodologyError({"parameters": "必须是对象"})
    known = {p["name"] for p in spec["parameters"]}
    errors = {k: "该方法学没有此参数" for k in parameters if k not in known}
    lines = _Lines(spec)
    handler = {"gbt33760": _gbt33760, "grid_renewable": _grid_renewable,
               "energy_efficiency": _energy_efficiency}[code]
    baseline, project, leakage = handler(parameters, errors, lines)
    if errors:
        raise MethodologyError(errors)
    reduction = baseline - project - leakage
    lines.term("ER", f"ER = BE - PE - LE = {_q(baseline)} - {_q(project)} - {_q(leakage)}",
               reduction)
    return {"methodology": code, "formula": spec["formula"], "sources": spec["sources"],
            "baseline": _q(baseline), "project": _q(project), "leakage": _q(leakage),
            "reduction": _q(reduction), "unit": "tCO2e", "lines": lines.rows}


def _required(params: dict, name: str, errors: dict, lines: _Lines, *,
              positive: bool = False) -> Decimal:
    if name not in params:
        errors[name] = "必填"
        return Decimal(0)
    value = _dec(params[name], name, errors, positive=positive)
    if value is None:
        return Decimal(0)
    lines.param(name, value, texts.REQUESTED)
    return value


def _optional(params: dict, name: str, errors: dict, lines: _Lines) -> Decimal:
    if name not in params or params[name] in (None, ""):
        lines.param(name, Decimal(0), texts.DEFAULT_ZERO)
        return Decimal(0)
    value = _dec(params[name], name, errors)
    if value is None:
        return Decimal(0)
    lines.param(name, value, texts.REQUESTED)
    return value


def _gbt33760(p: dict, errors: dict, lines: _Lines) -> tuple[Decimal, Decimal, Decimal]:
    return (_required(p, "baseline", errors, lines), _required(p, "project", errors, lines),
            _required(p, "leakage", errors, lines))


def _weights(p: dict, errors: dict, lines: _Lines, spec_weights: dict) -> tuple[Decimal, Decimal]:
    tech = p.get("technology")
    if tech is not None and tech not in ("wind", "solar", "other"):
        errors["technology"] = "取值应为 wind、solar 或 other"
        return Decimal(0), Decimal(0)
    given = [k for k in ("w_om", "w_bm") if p.get(k) not in (None, "")]
    if len(given) == 1:
        missing = "w_bm" if given == ["w_om"] else "w_om"
        errors[missing] = "w_om 与 w_bm 须同时给出或同时省略"
        return Decimal(0), Decimal(0)
    if given:
        w_om, w_bm = _dec(p["w_om"], "w_om", errors), _dec(p["w_bm"], "w_bm", errors)
        if w_om is None or w_bm is None:
            return Decimal(0), Decimal(0)
        if w_om + w_bm != 1:
            errors["w_bm"] = "w_om + w_bm 必须等于 1"
            return Decimal(0), Decimal(0)
        lines.param("w_om", w_om, texts.REQUESTED)
        lines.param("w_bm", w_bm, texts.REQUESTED)
        return w_om, w_bm
    if tech is None:
        errors["technology"] = "未给出权重时必填（wind、solar 或 other）"
        return Decimal(0), Decimal(0)
    w = spec_weights[tech]
    origin = Msg(texts.WEIGHTS, tech=tech)
    lines.param("technology", tech, texts.REQUESTED)
    lines.param("w_om", Decimal(w["w_om"]), origin)
    lines.param("w_bm", Decimal(w["w_bm"]), origin)
    return Decimal(w["w_om"]), Decimal(w["w_bm"])


def _grid_renewable(p: dict, errors: dict, lines: _Lines) -> tuple[Decimal, Decimal, Decimal]:
    spec = get("grid_renewable")
    eg = _required(p, "eg_net_mwh", errors, lines)
    ef_om = _required(p, "ef_om", errors, lines)
    ef_bm = _required(p, "ef_bm", errors, lines)
    w_om, w_bm = _weights(p, errors, lines, spec["weights"])
    pe = _optional(p, "pe", errors, lines)
    ef_cm = w_om * ef_om + w_bm * ef_bm
    lines.term("EF_CM", f"EF_CM = w_OM × EF_OM + w_BM × EF_BM = {w_om} × {ef_om} + "
               f"{w_bm} × {ef_bm}", ef_cm, unit="tCO2/MWh")
    baseline = eg * ef_cm
    lines.term("BE", f"BE = EG_net × EF_CM = {eg} × {ef_cm}", baseline)
    lines.term("PE", f"PE = {pe}", pe)
    lines.term("LE", texts.NO_LEAKAGE, Decimal(0))
    return baseline, pe, Decimal(0)


def _energy_efficiency(p: dict, errors: dict, lines: _Lines) -> tuple[Decimal, Decimal, Decimal]:
    e_b = _required(p, "baseline_energy", errors, lines)
    p_b = _required(p, "baseline_output", errors, lines, positive=True)
    e_p = _required(p, "project_energy", errors, lines)
    p_p = _required(p, "project_output", errors, lines)
    ef = _required(p, "ef", errors, lines)
    le = _optional(p, "leakage", errors, lines)
    if errors:
        return Decimal(0), Decimal(0), Decimal(0)
    e_norm = e_b * p_p / p_b
    lines.term("E_b,norm", f"E_b,norm = E_b × P_p / P_b = {e_b} × {p_p} / {p_b}", e_norm,
               unit="能源单位")
    baseline = e_norm * ef
    lines.term("BE", f"BE = E_b,norm × EF = {e_norm} × {ef}", baseline)
    project = e_p * ef
    lines.term("PE", f"PE = E_p × EF = {e_p} × {ef}", project)
    lines.term("LE", f"LE = {le}", le)
    return baseline, project, le
