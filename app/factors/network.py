"""A network as JSON (the simulate API, the import files) ↔ the arrays of `flow`.

Errors name the path of the offending entry (`nodes[2].generation[0].mwh`,
`flows[5].to`) so that a caller can fix exactly that row.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from app.factors.flow import (
    ENERGY_UNIT,
    INTENSITY_UNITS,
    FlowResult,
    Network,
    NetworkError,
    solve,
)

#: energy units accepted in input and their factor to MWh
ENERGY_UNITS = {"MWh": 1.0, "GWh": 1000.0, "TWh": 1e6, "kWh": 1e-3,
                "亿千瓦时": 1e5, "万千瓦时": 10.0}
MAX_NODES = 20_000
MAX_FLOWS = 200_000
CITATION = ("周天睿, 康重庆, 徐乾耀, 等. 电力系统碳排放流分析理论初探. 电力系统自动化, 2012, "
            "36(7): 38-43")


def _number(value: Any, path: str, errors: dict[str, str]) -> float:
    if isinstance(value, bool) or value is None:
        errors[path] = "必须是数值"
        return math.nan
    try:
        x = float(value)
    except (TypeError, ValueError):
        errors[path] = "必须是数值"
        return math.nan
    if not math.isfinite(x):
        errors[path] = "必须是有限数值"
    elif x < 0:
        errors[path] = "不能为负数"
    return x


def _energy_factor(entry: dict, path: str, errors: dict[str, str]) -> float:
    unit = entry.get("energy_unit", ENERGY_UNIT)
    if unit not in ENERGY_UNITS:
        errors[path + ".energy_unit"] = (f"电量单位 {unit} 不受支持；可用："
                                         + "、".join(ENERGY_UNITS))
        return 1.0
    return ENERGY_UNITS[unit]


def parse(payload: Any) -> tuple[Network, dict[int, float]]:
    """Build a `Network` from the API shape; returns it and the consumption stated per node
    (index → MWh) for the balance check. Raises `NetworkError` naming every bad path."""
    errors: dict[str, str] = {}
    if not isinstance(payload, dict):
        raise NetworkError({"body": "请求体必须是 JSON 对象"})
    nodes = payload.get("nodes")
    flows = payload.get("flows", [])
    if not isinstance(nodes, list) or not nodes:
        raise NetworkError({"nodes": "至少需要一个节点（列表）"})
    if not isinstance(flows, list):
        raise NetworkError({"flows": "必须是列表"})
    if len(nodes) > MAX_NODES:
        raise NetworkError({"nodes": f"节点数 {len(nodes)} 超过上限 {MAX_NODES}"})
    if len(flows) > MAX_FLOWS:
        raise NetworkError({"flows": f"支路数 {len(flows)} 超过上限 {MAX_FLOWS}"})
    unit = payload.get("intensity_unit")
    if unit is not None and unit not in INTENSITY_UNITS:
        errors["intensity_unit"] = f"不支持的强度单位 {unit}；可用：" + "、".join(INTENSITY_UNITS)

    ids: list[str] = []
    index: dict[str, int] = {}
    sources: dict[str, int] = {}
    g_node: list[int] = []
    g_src: list[int] = []
    g_mwh: list[float] = []
    g_int: list[float] = []
    g_fuel: list[float] = []
    stated: dict[int, float] = {}
    for i, node in enumerate(nodes):
        p = f"nodes[{i}]"
        if not isinstance(node, dict) or not str(node.get("id") or "").strip():
            errors[p + ".id"] = "缺少节点标识 id"
            continue
        nid = str(node["id"]).strip()
        if nid in index:
            errors[p + ".id"] = f"节点 {nid} 重复"
            continue
        index[nid] = len(ids)
        ids.append(nid)
        if node.get("consumption_mwh") is not None:
            stated[index[nid]] = _number(node["consumption_mwh"], p + ".consumption_mwh",
                                         errors) * _energy_factor(node, p, errors)
        gens = node.get("generation", [])
        if not isinstance(gens, list):
            errors[p + ".generation"] = "必须是列表"
            continue
        for k, g in enumerate(gens):
            gp = f"{p}.generation[{k}]"
            if not isinstance(g, dict):
                errors[gp] = "必须是对象 {source, mwh, intensity}"
                continue
            src = str(g.get("source") or "").strip()
            if not src:
                errors[gp + ".source"] = "缺少电源类型 source"
            g_unit = g.get("intensity_unit")
            if g_unit is not None:
                if unit is None:
                    unit = g_unit
                if g_unit != unit:
                    errors[gp + ".intensity_unit"] = (
                        f"单位不一致：节点 {nid} 的强度单位 {g_unit} 与 {unit} 不同")
            mwh = _number(g.get("mwh"), gp + ".mwh", errors) * _energy_factor(g, gp, errors)
            inten = _number(g.get("intensity"), gp + ".intensity", errors)
            fuel = g.get("fuel_t_per_mwh")
            g_fuel.append(math.nan if fuel is None else
                          _number(fuel, gp + ".fuel_t_per_mwh", errors))
            g_node.append(index[nid])
            g_src.append(sources.setdefault(src, len(sources)))
            g_mwh.append(mwh)
            g_int.append(inten)
    f_from: list[int] = []
    f_to: list[int] = []
    f_mwh: list[float] = []
    for r, f in enumerate(flows):
        p = f"flows[{r}]"
        if not isinstance(f, dict):
            errors[p] = "必须是对象 {from, to, mwh}"
            continue
        a, b = str(f.get("from", "")).strip(), str(f.get("to", "")).strip()
        for key, val in (("from", a), ("to", b)):
            if val not in index:
                errors[f"{p}.{key}"] = f"未知节点 {val or '（空）'}"
        if a == b and a:
            errors[p] = f"节点 {a} 不能向自身输电"
        mwh = _number(f.get("mwh"), p + ".mwh", errors) * _energy_factor(f, p, errors)
        if a in index and b in index:
            f_from.append(index[a])
            f_to.append(index[b])
            f_mwh.append(mwh)
    if unit is not None and unit not in INTENSITY_UNITS:
        errors.setdefault("intensity_unit", f"不支持的强度单位 {unit}")
    if errors:
        raise NetworkError(errors)
    fuel_arr = np.array(g_fuel, float)
    net = Network(
        node_ids=ids, sources=list(sources), gen_node=np.array(g_node, int),
        gen_source=np.array(g_src, int), gen_mwh=np.array(g_mwh, float),
        gen_intensity=np.array(g_int, float), flow_from=np.array(f_from, int),
        flow_to=np.array(f_to, int), flow_mwh=np.array(f_mwh, float),
        intensity_unit=unit or "tCO2/MWh",
        gen_fuel=None if np.isnan(fuel_arr).all() else fuel_arr)
    return net, stated


def _num(x: float, digits: int = 9) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), digits)


def check_stated(result: FlowResult, stated: dict[int, float]) -> None:
    """A node that states its consumption must agree with inflow − exports; a node with no
    inflow cannot consume."""
    errors: dict[str, str] = {}
    for i, given in stated.items():
        have = float(result.consumption_mwh[i])
        nid = result.node_ids[i]
        if given > 0 and result.inflow_mwh[i] <= 0:
            errors[f"nodes[{i}].consumption_mwh"] = (
                f"节点 {nid} 没有发电也没有受入电量，却申报用电 {given:,.3f} MWh")
        elif abs(given - have) > 1e-6 * max(given, have, 1.0):
            errors[f"nodes[{i}].consumption_mwh"] = (
                f"节点 {nid} 申报用电 {given:,.3f} MWh，与发电+受入−外送 {have:,.3f} MWh 不平衡")
    if errors:
        raise NetworkError(errors)


def to_payload(result: FlowResult) -> dict:
    srcs = result.sources
    nodes = []
    for i, nid in enumerate(result.node_ids):
        node = {
            "id": nid, "intensity": _num(result.intensity[i]),
            "by_source": {s: _num(result.by_source[i, k]) for k, s in enumerate(srcs)},
            "consumption_mwh": _num(result.consumption_mwh[i], 6),
            "emissions_t": _num(result.emissions_t[i], 6)
            if math.isfinite(result.intensity[i]) else None,
            "generation_mwh": _num(result.generation_mwh[i], 6),
            "imports_mwh": _num(result.imports_mwh[i], 6),
            "exports_mwh": _num(result.exports_mwh[i], 6),
            "generated_emissions_t": _num(result.generated_t[i], 6),
        }
        if result.fuel_per_mwh is not None:
            node["fuel_t_per_mwh"] = {s: _num(result.fuel_per_mwh[i, k])
                                      for k, s in enumerate(srcs)}
        nodes.append(node)
    branches = [{"from": result.node_ids[a], "to": result.node_ids[b], "mwh": _num(m, 6),
                 "carbon_t": _num(c, 6)}
                for a, b, m, c in zip(result.branch_from.tolist(), result.branch_to.tolist(),
                                      result.branch_mwh.tolist(),
                                      result.branch_carbon_t.tolist(), strict=True)]
    bal = {k: (_num(v, 6) if isinstance(v, float) else v)
           for k, v in result.balance.items()}
    return {"intensity_unit": result.intensity_unit, "nodes": nodes, "branches": branches,
            "balance": bal, "warnings": result.warnings, "method": CITATION}


def simulate(payload: Any) -> dict:
    """The whole API call: parse, solve, check stated consumption, answer."""
    net, stated = parse(payload)
    result = solve(net)
    check_stated(result, stated)
    return to_payload(result)
