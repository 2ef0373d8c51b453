"""Regional networks (6.4.2): import generation mix and exchange matrices from CSV / XLSX,
store and simulate them, compare simulated provincial factors with the official MEE/NBS
provincial grid factors of the reference data, and ship an illustrative demo year.

File format (docs/factors.md): generation rows `node,name,source,energy,energy_unit,
intensity,intensity_unit,fuel_t_per_mwh`; exchange rows `from,to,energy,energy_unit`
(energy flowing from → to in the period). XLSX: the same columns on sheets `generation`
and `exchange`.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from app.audit import service as audit
from app.extensions import db
from app.factors.flow import NetworkError
from app.factors.models import RegionalNetwork
from app.factors.network import simulate

DATA = Path(__file__).parent / "data"
DEMO_CODE = "demo-provinces"
DEMO_YEAR = 2021
DEMO_LABEL = "示例数据（仅作演示，非官方统计）"
GEN_COLUMNS = ("node", "name", "source", "energy", "energy_unit", "intensity",
               "intensity_unit", "fuel_t_per_mwh")
EX_COLUMNS = ("from", "to", "energy", "energy_unit")


def _rows_csv(data: bytes | str) -> list[dict[str, str]]:
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    return [{(k or "").strip(): (v or "").strip() for k, v in row.items()}
            for row in csv.DictReader(io.StringIO(text))]


def _rows_xlsx(data: bytes, sheet: str) -> list[dict[str, str]]:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    if sheet not in wb.sheetnames:
        raise NetworkError({sheet: f"工作簿缺少工作表 {sheet}"})
    rows = list(wb[sheet].iter_rows(values_only=True))
    if not rows:
        return []
    head = [str(h or "").strip() for h in rows[0]]
    return [{h: ("" if v is None else str(v)).strip() for h, v in zip(head, r, strict=False)}
            for r in rows[1:] if any(v is not None for v in r)]


def _require(rows: list[dict], columns: tuple[str, ...], kind: str, required: set[str]):
    if not rows:
        raise NetworkError({kind: "没有数据行"})
    missing = required - set(rows[0])
    if missing:
        raise NetworkError({kind: "缺少列：" + "、".join(sorted(missing))})


def payload_from_rows(gen_rows: list[dict], ex_rows: list[dict]) -> tuple[dict, dict]:
    """Rows → the simulate API shape; errors name the file kind, row (1 = header) and
    column. Returns (payload, node names)."""
    _require(gen_rows, GEN_COLUMNS, "generation", {"node", "source", "energy", "intensity"})
    if ex_rows:
        _require(ex_rows, EX_COLUMNS, "exchange", {"from", "to", "energy"})
    errors: dict[str, str] = {}
    nodes: dict[str, dict] = {}
    names: dict[str, str] = {}
    units = {r.get("intensity_unit") or "tCO2/MWh" for r in gen_rows}
    if len(units) > 1:
        bad = next(i for i, r in enumerate(gen_rows, 2)
                   if (r.get("intensity_unit") or "tCO2/MWh")
                   != (gen_rows[0].get("intensity_unit") or "tCO2/MWh"))
        errors[f"generation 第{bad}行.intensity_unit"] = "单位不一致：" + "、".join(sorted(units))
    for i, r in enumerate(gen_rows, 2):
        node = r.get("node", "")
        if not node:
            errors[f"generation 第{i}行.node"] = "缺少节点"
            continue
        names.setdefault(node, r.get("name") or node)
        entry: dict[str, Any] = {"source": r.get("source", ""), "mwh": r.get("energy", ""),
                                 "intensity": r.get("intensity", ""),
                                 "energy_unit": r.get("energy_unit") or "MWh"}
        if r.get("fuel_t_per_mwh"):
            entry["fuel_t_per_mwh"] = r["fuel_t_per_mwh"]
        nodes.setdefault(node, {"id": node, "generation": []})["generation"].append(entry)
        entry["_row"] = i
    flows = []
    for i, r in enumerate(ex_rows, 2):
        for key in ("from", "to"):
            if r.get(key) and r[key] not in nodes:
                nodes[r[key]] = {"id": r[key], "generation": []}
                names.setdefault(r[key], r[key])
        flows.append({"from": r.get("from", ""), "to": r.get("to", ""),
                      "mwh": r.get("energy", ""), "energy_unit": r.get("energy_unit") or "MWh",
                      "_row": i})
    if errors:
        raise NetworkError(errors)
    payload = {"intensity_unit": units.pop(), "nodes": list(nodes.values()), "flows": flows}
    return payload, names


def _strip_rows(payload: dict) -> dict:
    for n in payload["nodes"]:
        for g in n["generation"]:
            g.pop("_row", None)
    for f in payload["flows"]:
        f.pop("_row", None)
    return payload


def _row_errors(payload: dict, exc: NetworkError) -> NetworkError:
    """Translate `nodes[i].generation[k]` / `flows[r]` paths back to file rows."""
    import re

    out = {}
    for path, msg in exc.fields.items():
        m = re.match(r"nodes\[(\d+)\]\.generation\[(\d+)\](.*)", path)
        f = re.match(r"flows\[(\d+)\](.*)", path)
        if m:
            row = payload["nodes"][int(m[1])]["generation"][int(m[2])]["_row"]
            out[f"generation 第{row}行{m[3]}"] = msg
        elif f:
            out[f"exchange 第{payload['flows'][int(f[1])]['_row']}行{f[2]}"] = msg
        else:
            n = re.match(r"nodes\[(\d+)\](.*)", path)
            out[f"节点 {payload['nodes'][int(n[1])]['id']}{n[2]}" if n else path] = msg
    return NetworkError(out)


def read_files(*, generation: Path, exchange: Path | None = None) -> tuple[dict, dict]:
    """CSV pair, or one XLSX with sheets generation / exchange."""
    if generation.suffix.lower() in (".xlsx", ".xlsm"):
        data = generation.read_bytes()
        return payload_from_rows(_rows_xlsx(data, "generation"), _rows_xlsx(data, "exchange"))
    ex = _rows_csv(exchange.read_bytes()) if exchange else []
    return payload_from_rows(_rows_csv(generation.read_bytes()), ex)


def create(*, code: str, title: str, year: int, payload: dict, names: dict[str, str],
           is_demo: bool = False, source: str | None = None,
           actor: Any = None) -> RegionalNetwork:
    """Simulate and store a new version of the network `code` (errors name file rows)."""
    try:
        result = simulate(payload)
    except NetworkError as exc:
        raise _row_errors(payload, exc) from None
    for node in result["nodes"]:
        node["name"] = names.get(node["id"], node["id"])
    top = db.session.scalar(select(func.max(RegionalNetwork.version)).where(
        RegionalNetwork.code == code)) or 0
    net = RegionalNetwork(code=code, version=top + 1, title=title, year=year, is_demo=is_demo,
                          source=source, network=_strip_rows(payload), result=result,
                          created_by=getattr(actor, "email", None))
    db.session.add(net)
    db.session.flush()
    audit.record("factors.network", object_type="regional_network", object_id=net.id,
                 summary={"code": code, "version": net.version, "year": year,
                          "nodes": len(result["nodes"]), "demo": is_demo}, user=actor)
    return net


def load_demo(actor: Any = None) -> RegionalNetwork:
    """The illustrative demo year for the 31 provinces (idempotent)."""
    existing = latest(code=DEMO_CODE)
    if existing is not None:
        return existing
    payload, names = read_files(generation=DATA / "demo_2021_generation.csv",
                                exchange=DATA / "demo_2021_exchange.csv")
    return create(code=DEMO_CODE, title=f"31 省区市电力碳排放流（{DEMO_YEAR} 年，示例）",
                  year=DEMO_YEAR, payload=payload, names=names, is_demo=True,
                  source=DEMO_LABEL + "：发电结构与跨省送电量为示意性取值，仅用于演示方法",
                  actor=actor)


def latest(*, code: str) -> RegionalNetwork | None:
    return db.session.scalar(select(RegionalNetwork).where(RegionalNetwork.code == code)
                             .order_by(RegionalNetwork.version.desc()).limit(1))


def get_all() -> list[RegionalNetwork]:
    return list(db.session.scalars(select(RegionalNetwork).order_by(
        RegionalNetwork.year.desc(), RegionalNetwork.code, RegionalNetwork.version.desc())))


def compare_official(net: RegionalNetwork) -> dict:
    """Simulated vs official MEE/NBS provincial grid factors (same year) per province."""
    from app.refdata import find_factor

    rows = []
    for node in net.result["nodes"]:
        official = find_factor("grid_electricity", node["id"], net.year)
        sim = node["intensity"]
        row = {"id": node["id"], "name": node.get("name", node["id"]), "simulated": sim,
               "official": float(official.value) if official and official.value else None,
               "source": official.source if official else None}
        if row["official"] and sim is not None:
            row["error"] = sim - row["official"]
            row["error_pct"] = 100.0 * row["error"] / row["official"]
        rows.append(row)
    errs = [abs(r["error_pct"]) for r in rows if "error_pct" in r]
    return {"rows": rows, "n": len(errs),
            "mape_pct": sum(errs) / len(errs) if errs else None,
            "max_abs_pct": max(errs) if errs else None,
            "unit_note": "官方值为生态环境部、国家统计局发布的省级电力平均二氧化碳排放因子"}


def accounted_beside(net: RegionalNetwork, scope: Any) -> dict[str, dict]:
    """Per province (node = GB/T 2260 province code): the platform's enterprises' purchased
    electricity in the network's year and its CO2 as accounted (official grid factor),
    beside the same electricity × the simulated factor. Scoped to the caller."""
    from app.accounting.models import CarbonAccount
    from app.identity.scope import scoped

    prov = func.substr(CarbonAccount.region_code, 1, 2)
    stmt = scoped(select(prov, func.sum(CarbonAccount.electricity_mwh),
                         func.sum(CarbonAccount.co2_electricity)), CarbonAccount, scope).where(
        CarbonAccount.is_current.is_(True),
        CarbonAccount.period.between(net.year * 100 + 1, net.year * 100 + 12)).group_by(prov)
    intensity = {n["id"]: n["intensity"] for n in net.result["nodes"]}
    out = {}
    for p, mwh, co2 in db.session.execute(stmt).all():
        code = f"{p}0000"
        sim = intensity.get(code)
        out[code] = {"mwh": float(mwh or 0), "accounted_t": float(co2 or 0),
                     "simulated_t": float(mwh or 0) * sim if sim is not None else None}
    return out
