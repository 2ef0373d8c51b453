"""Demo data: enterprises across the eight key sectors and other industries in Zhejiang
(330000), with plausible monthly energy mixes, output and value added; accounts and codes
computed. Deterministic and idempotent (existing enterprises and months are kept)."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from app.orgs.models import Enterprise

CITIES = [("330100", "杭州"), ("330200", "宁波"), ("330300", "温州"), ("330400", "嘉兴"),
          ("330500", "湖州"), ("330600", "绍兴"), ("330700", "金华"), ("330800", "衢州"),
          ("330900", "舟山"), ("331000", "台州"), ("331100", "丽水")]
HUZHOU_COUNTIES = ["330502", "330503", "330521", "330522", "330523"]
WORDS = ["恒信", "华瑞", "东方", "新达", "金鼎", "宏远", "瑞丰", "天成", "永盛", "嘉和",
         "盛泰", "中联", "明珠", "海螺", "江南", "长兴", "安泰", "德力", "汇丰", "星河"]
RAW_COAL = {"ncv": "21.5", "carbon_content": "0.0264", "oxidation_rate": "0.94"}

# (weight, industry code, name stem, scale, key emitter, value added 万元/month,
#  [(item, flow, base amount, unit, measured params)])
PROFILES = [
    (12, "3011", "水泥", "规上", True, 5200, [
        ("raw_coal", "consumed", 7800, "t", RAW_COAL),
        ("electricity", "purchased", 8800, "MWh", None),
        ("diesel", "consumed", 18, "t", None),
        ("process_clinker_ipcc", "process", 85000, "t", None)]),
    (5, "3012", "石灰", "规上", False, 900, [
        ("coke", "consumed", 1400, "t", None), ("electricity", "purchased", 600, "MWh", None),
        ("process_lime_high_calcium_ipcc", "process", 9000, "t", None)]),
    (6, "3041", "玻璃", "规上", True, 3800, [
        ("natural_gas", "consumed", 380, "10^4 Nm3", None),
        ("electricity", "purchased", 3100, "MWh", None),
        ("process_na2co3", "process", 1900, "t", None)]),
    (7, "3071", "陶瓷", "规上", False, 1500, [
        ("natural_gas", "consumed", 120, "10^4 Nm3", None),
        ("electricity", "purchased", 1200, "MWh", None), ("lpg", "consumed", 15, "t", None)]),
    (8, "2614", "化工", "规上", True, 4600, [
        ("natural_gas", "consumed", 290, "10^4 Nm3", None),
        ("electricity", "purchased", 5200, "MWh", None), ("heat", "purchased", 42000, "GJ", None),
        ("process_caco3", "process", 800, "t", None)]),
    (5, "2651", "新材料", "规上", False, 6100, [
        ("electricity", "purchased", 6800, "MWh", None), ("heat", "purchased", 30000, "GJ", None),
        ("fuel_oil", "consumed", 60, "t", None)]),
    (6, "2221", "纸业", "规上", True, 2700, [
        ("raw_coal", "consumed", 2600, "t", RAW_COAL),
        ("electricity", "purchased", 3900, "MWh", None),
        ("biomass", "consumed", 1800, "t", {"ncv": "12.0", "carbon_content": "0.0290",
                                             "oxidation_rate": "0.90"})]),
    (4, "3120", "特钢", "规上", True, 7600, [
        ("electricity", "purchased", 31000, "MWh", None),
        ("natural_gas", "consumed", 160, "10^4 Nm3", None), ("coke", "consumed", 520, "t", None),
        ("process_caco3", "process", 1200, "t", None)]),
    (3, "3216", "铝业", "规上", True, 9800, [
        ("electricity", "purchased", 98000, "MWh", None),
        ("natural_gas", "consumed", 60, "10^4 Nm3", None)]),
    (3, "4412", "热电", "规上", True, 6400, [
        ("raw_coal", "consumed", 52000, "t", RAW_COAL),
        ("electricity", "exported", 70000, "MWh", None), ("heat", "exported", 260000, "GJ", None),
        ("electricity", "self_generated", 900, "MWh", None)]),
    (2, "2511", "石化", "规上", True, 28000, [
        ("fuel_oil", "consumed", 3200, "t", None),
        ("natural_gas", "consumed", 520, "10^4 Nm3", None),
        ("electricity", "purchased", 21000, "MWh", None)]),
    (2, "5631", "机场", "规上", False, 1900, [
        ("electricity", "purchased", 5200, "MWh", None), ("diesel", "consumed", 45, "t", None),
        ("gasoline", "consumed", 12, "t", None)]),
    (6, "17", "纺织", "规上", False, 1400, [
        ("electricity", "purchased", 2100, "MWh", None), ("heat", "purchased", 19000, "GJ", None),
        ("natural_gas", "consumed", 28, "10^4 Nm3", None)]),
    (5, "39", "电子", "规上", False, 7800, [
        ("electricity", "purchased", 3000, "MWh", None),
        ("electricity", "self_generated", 320, "MWh", None)]),
    (5, "36", "汽车零部件", "规上", False, 2600, [
        ("electricity", "purchased", 1600, "MWh", None),
        ("natural_gas", "consumed", 22, "10^4 Nm3", None), ("lpg", "consumed", 4, "t", None)]),
]


def _months(n: int, today: date | None = None) -> list[tuple[int, int]]:
    today = today or date.today()
    y, m = today.year, today.month
    out = []
    for _ in range(n):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        out.append((y, m))
    return out[::-1]


def _profile(i: int) -> tuple:
    total = sum(p[0] for p in PROFILES)
    slot = (i * 7) % total
    for p in PROFILES:
        if slot < p[0]:
            return p
        slot -= p[0]
    return PROFILES[0]


def ensure_enterprises(n: int) -> list[tuple[Enterprise, tuple]]:
    from app.demo import demo_enterprise_uscc
    from app.refdata.uscc import make_uscc

    existing = {e.uscc: e for e in db.session.scalars(select(Enterprise))}
    out = []
    demo = existing.get(demo_enterprise_uscc())
    if demo is not None:
        out.append((demo, PROFILES[0]))
    for i in range(n):
        rng = random.Random(i)
        city, cname = CITIES[i % len(CITIES)] if i % 3 else CITIES[4]
        region = rng.choice(HUZHOU_COUNTIES) if city == "330500" else city
        prof = _profile(i)
        uscc = make_uscc(f"91{city}MA2{i:06d}")
        ent = existing.get(uscc)
        if ent is None:
            ent = Enterprise(uscc=uscc, region_code=region, industry_code=prof[1],
                             name=f"{cname}{WORDS[i % len(WORDS)]}{prof[2]}有限公司（{i + 1}）",
                             scale=prof[3], key_emitter=prof[4],
                             address=f"浙江省{cname}市示范工业园 {i + 1} 号")
            db.session.add(ent)
        out.append((ent, prof))
    db.session.flush()
    return out


def record_for(ent: Enterprise, prof: tuple, year: int, month: int) -> dict:
    rng = random.Random(f"{ent.uscc}-{year}-{month}")
    size = random.Random(ent.uscc).lognormvariate(0, 0.45)
    efficiency = random.Random(ent.uscc + "e").uniform(0.7, 1.5)
    season = Decimal(str(round(1 + 0.08 * ((month in (1, 2)) * -1 + (month in (7, 8))), 3)))
    va = Decimal(prof[5]) * Decimal(str(round(size * rng.uniform(0.9, 1.1), 4))) * season
    lines = []
    for item, flow, base, unit, params in prof[6]:
        amount = Decimal(str(base)) * Decimal(str(round(size * efficiency
                                                        * rng.uniform(0.92, 1.08), 4)))
        if flow in ("exported", "self_generated"):
            amount = Decimal(str(base)) * Decimal(str(round(size * rng.uniform(0.92, 1.08), 4)))
        line = {"item": item, "flow": flow, "amount": str(amount.quantize(Decimal("0.01"))),
                "unit": unit}
        line.update(params or {})
        lines.append(line)
    return {"uscc": ent.uscc, "year": year, "month": month,
            "gross_output": str((va * Decimal("3.6")).quantize(Decimal("0.01"))),
            "value_added": str(va.quantize(Decimal("0.01"))), "lines": lines}


def load(enterprises: int, months: int) -> None:
    """DEMO_LOADERS entry: reference data, enterprises, records, accounts and codes."""
    from app.accounting import bulk, codes
    from app.energy import service as energy
    from app.energy.models import EnergyRecord
    from app.identity.scope import DataScope

    energy.load_reference()
    pairs = ensure_enterprises(enterprises)
    have = set(db.session.execute(select(EnergyRecord.enterprise_id, EnergyRecord.period)))
    items = [record_for(ent, prof, y, m) for ent, prof in pairs for y, m in _months(months)
             if (ent.id, y * 100 + m) not in have]
    if not items:
        return
    created = energy.create_many(items=items, scope=DataScope(all=True), source="demo",
                                  user_email="demo", compute=False)
    bulk.compute_accounts(record_ids=[r.id for r in created], reason="演示数据")
    codes.issue(periods=sorted({r.period for r in created}))
