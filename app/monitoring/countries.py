"""Country comparison (R-6.1.5) on the CDIAC national fossil-fuel CO2 data set.

The file's emission columns are THOUSAND TONNES OF CARBON (kt C) whatever its data package
says; we store both the raw kt C and Mt CO2 = kt C x 44/12 / 1000 (exact Decimal, rounded
once to 1 t). Per capita is t C per person, stored as t CO2 per person.
The world total of a year is the sum of every entity listed in the file for that year
(nations, historical entities, the 1991 Kuwaiti oil fires); international bunker fuels,
which CDIAC reports apart and not in any nation's total, are not included. Some early
values are negative (apparent consumption = production - net exports, e.g. Australia in the
1850s): they are kept as published.
"""

from __future__ import annotations

import csv
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import func, insert, select, update

from app.extensions import db
from app.i18n import Msg, Named
from app.monitoring.datasets import Column, Dataset, pct, rnd
from app.monitoring.models import Country, CountryEmission

MAPPING_FILE = Path(__file__).resolve().parent / "data" / "cdiac_countries.csv"
# The data set itself, shipped with cecp (public domain, PDDL; see data/README.md).
CDIAC_FILE = Path(__file__).resolve().parent / "data" / "cdiac-fossil-co2-by-nation-1751-2020.csv"
SOURCE = ("Hefner, M. & Marland, G. (2023) Global, Regional, and National Fossil-Fuel CO2 "
          "Emissions: 1751-2020, CDIAC-FF, Appalachian State University (PDDL)")
KT_C_TO_MT_CO2 = Decimal(44) / Decimal(12) / Decimal(1000)
Q6 = Decimal("0.000001")
COLUMNS = {"Solid Fuel": "solid_mt_co2", "Liquid Fuel": "liquid_mt_co2",
           "Gas Fuel": "gas_mt_co2", "Cement": "cement_mt_co2",
           "Gas Flaring": "flaring_mt_co2", "Bunker fuels (Not in Total)": "bunker_mt_co2"}
REQUIRED = ("Year", "Country", "Total")
DEFAULT_COUNTRIES = ("CHN", "USA", "IND", "RUS", "JPN", "DEU")
WORLD_NOTE = Msg("世界合计 = 数据集中该年所列全部国家和地区（含历史实体）排放之和，"
                 "不含国际舱位燃料；"
                 "单位换算：千吨碳 × 44/12 ÷ 1000 = 百万吨 CO2。数据来源：%(source)s",
                 source=SOURCE)


def kt_c_to_mt_co2(kt_c: Decimal) -> Decimal:
    """10,690.716667 Mt CO2 for China 2020 (2,915,650 kt C)."""
    return (Decimal(kt_c) * 44 / 12 / 1000).quantize(Q6, rounding=ROUND_HALF_UP)


def load_mapping(path: Path = MAPPING_FILE) -> dict[str, dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return {r["raw_name"]: r for r in csv.DictReader(fh)}


def _num(raw: str | None, field: str, row_no: int, errors: list, *, required: bool = False):
    text = (raw or "").strip().replace(",", "")
    if not text:
        if required:
            errors.append({"row": row_no, "field": field, "message": "必填"})
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        errors.append({"row": row_no, "field": field, "message": f"不是数字: {raw!r}"})
        return None
    return value  # negative values are genuine: CDIAC's apparent consumption of net exporters


def parse_file(path: Path, mapping: dict[str, dict]) -> tuple[list[dict], list[dict]]:
    """Validate every row; returns (rows to store, per-row errors)."""
    rows: list[dict] = []
    errors: list[dict] = []
    seen: dict[tuple[str, int], int] = {}
    with Path(path).open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            return [], [{"row": 1, "field": ",".join(missing), "message": "缺少必需的列"}]
        for n, raw in enumerate(reader, start=2):
            before = len(errors)
            name = (raw.get("Country") or "").strip()
            year = None
            try:
                year = int((raw.get("Year") or "").strip())
                if not 1700 <= year <= 2100:
                    raise ValueError
            except ValueError:
                errors.append({"row": n, "field": "Year", "message": "年份无效"})
            if name not in mapping:
                errors.append({"row": n, "field": "Country",
                               "message": f"未知国家名称 {name!r}，"
                                          f"请在 {MAPPING_FILE.name} 中补充"})
            total = _num(raw.get("Total"), "Total", n, errors, required=True)
            values = {col: _num(raw.get(src), src, n, errors) for src, col in COLUMNS.items()}
            per_capita = _num(raw.get("Per Capita"), "Per Capita", n, errors)
            if year is not None and name:
                if (name, year) in seen:
                    errors.append({"row": n, "field": "Country",
                                   "message": f"与第 {seen[(name, year)]} 行重复"})
                seen.setdefault((name, year), n)
            if len(errors) > before:
                continue
            row = {"year": year, "raw_name": name, "iso3": mapping[name]["iso3"],
                   "total_kt_c": total, "total_mt_co2": kt_c_to_mt_co2(total),
                   "per_capita_t_co2": None if per_capita is None else
                   (per_capita * 44 / 12).quantize(Q6, rounding=ROUND_HALF_UP),
                   "source": SOURCE}
            row.update({k: None if v is None else kt_c_to_mt_co2(v) for k, v in values.items()})
            rows.append(row)
    return rows, errors


def import_countries(path: Path) -> dict:
    """Validate the whole file, then upsert (raw name, year) rows; nothing is written when
    any row is invalid. Flushes; the caller commits."""
    mapping = load_mapping()
    rows, errors = parse_file(path, mapping)
    if errors:
        return {"ok": False, "rows": 0, "errors": errors}
    known = set(db.session.scalars(select(Country.iso3)))
    for m in mapping.values():
        if m["iso3"] not in known:
            db.session.add(Country(iso3=m["iso3"], name_zh=m["name_zh"], name_en=m["name_en"],
                                   kind=m["kind"]))
            known.add(m["iso3"])
    db.session.flush()
    existing = {(r, y): i for i, r, y in db.session.execute(
        select(CountryEmission.id, CountryEmission.raw_name, CountryEmission.year))}
    new = [r for r in rows if (r["raw_name"], r["year"]) not in existing]
    old = [{**r, "id": existing[(r["raw_name"], r["year"])]} for r in rows
           if (r["raw_name"], r["year"]) in existing]
    if new:
        db.session.execute(insert(CountryEmission), new)
    if old:
        db.session.execute(update(CountryEmission), old)
    db.session.flush()
    from app.audit.service import record as audit

    audit("monitoring.import_countries", object_type="country_emission",
          object_id=Path(path).name, summary={"rows": len(rows), "inserted": len(new),
                                               "updated": len(old)})
    return {"ok": True, "rows": len(rows), "inserted": len(new), "updated": len(old),
            "errors": []}


# ------------------------------------------------------------------ reading


def countries() -> list[Country]:
    """Countries that have data, for the picker."""
    have = select(CountryEmission.iso3).distinct()
    return list(db.session.scalars(select(Country).where(Country.iso3.in_(have))
                                   .order_by(Country.kind, Country.iso3)))


def year_bounds() -> tuple[int | None, int | None]:
    lo, hi = db.session.execute(select(func.min(CountryEmission.year),
                                       func.max(CountryEmission.year))).one()
    return lo, hi


def cagr(first: Decimal | None, last: Decimal | None, years: int) -> Decimal | None:
    """Average annual growth in %: (last / first)^(1/years) - 1."""
    if not first or last is None or years <= 0 or first <= 0 or last <= 0:
        return None
    return rnd(((float(last) / float(first)) ** (1 / years) - 1) * 100, 2)


def compare(*, codes: list[str] | None, first: int | None, last: int | None) -> dict:
    """Series, share of world and trend for the chosen countries over [first, last]."""
    lo, hi = year_bounds()
    if hi is None:
        return {"countries": [], "years": [], "datasets": [], "empty": True}
    last = min(last or hi, hi)
    first = max(first or max(lo, last - 30), lo)
    if first > last:
        first, last = last, first
    codes = [c.strip().upper() for c in (codes or DEFAULT_COUNTRIES) if c.strip()][:12]
    names = {c.iso3: c for c in db.session.scalars(select(Country).where(
        Country.iso3.in_(codes)))}
    codes = [c for c in codes if c in names]
    values = {(iso, y): v for iso, y, v in db.session.execute(
        select(CountryEmission.iso3, CountryEmission.year, func.sum(CountryEmission.total_mt_co2))
        .where(CountryEmission.iso3.in_(codes), CountryEmission.year.between(first, last))
        .group_by(CountryEmission.iso3, CountryEmission.year))}
    world = dict(db.session.execute(
        select(CountryEmission.year, func.sum(CountryEmission.total_mt_co2))
        .where(CountryEmission.year.between(first, last)).group_by(CountryEmission.year)).all())
    years = list(range(first, last + 1))
    label = {c: Named(names[c].name_zh, names[c].name_en) for c in codes}
    series = Dataset(
        "emissions", "各国年度 CO2 排放量",
        [Column("year", "年份", kind="text")] + [Column(c, label[c], "百万吨 CO2")
                                                   for c in codes]
        + [Column("world", "世界合计", "百万吨 CO2")],
        [[str(y)] + [rnd(values.get((c, y)), 1) for c in codes] + [rnd(world.get(y), 1)]
         for y in years],
        {"type": "line", "x": "year", "series": codes, "y_name": "排放量（百万吨 CO2）",
         "x_name": "年份"}, WORLD_NOTE)
    share = Dataset(
        "share", "占世界排放总量的比例",
        [Column("year", "年份", kind="text")] + [Column(c, label[c], "%") for c in codes],
        [[str(y)] + [pct(values.get((c, y)), world.get(y)) for c in codes] for y in years],
        {"type": "line", "x": "year", "series": codes, "y_name": "占比（%）", "x_name": "年份"},
        "占比 = 该国当年排放 ÷ 世界合计 × 100（世界合计口径见上）")
    trend_rows = []
    for c in codes:
        have = [(y, values[(c, y)]) for y in years if values.get((c, y))]
        if not have:
            trend_rows.append([c, label[c], None, None, None, None, None, None])
            continue
        (y0, v0), (y1, v1) = have[0], have[-1]
        peak_y, peak_v = max(have, key=lambda t: t[1])
        trend_rows.append([c, label[c], f"{y0}–{y1}", rnd(v0, 1), rnd(v1, 1),
                           cagr(v0, v1, y1 - y0), str(peak_y), rnd(peak_v, 1)])
    trend = Dataset(
        "trend", "各国排放趋势",
        [Column("iso3", "代码", kind="text"), Column("name", "国家/地区", kind="text"),
         Column("span", "区间", kind="text"), Column("first", "起始年排放", "百万吨 CO2"),
         Column("last", "末年排放", "百万吨 CO2"), Column("cagr", "年均增长率", "%"),
         Column("peak_year", "峰值年份", kind="text"), Column("peak", "峰值排放", "百万吨 CO2")],
        trend_rows, {"type": "bar", "x": "name", "series": ["cagr"],
                     "y_name": "年均增长率（%）", "x_name": "国家/地区"},
        "年均增长率 = (末年排放 ÷ 起始年排放)^(1/年数) − 1，按所选区间内首末有数据的年份计算")
    return {"countries": [{"iso3": c, "name_zh": names[c].name_zh,
                           "name_en": names[c].name_en} for c in codes],
            "from": first, "to": last, "years": years, "bounds": [lo, hi],
            "datasets": [series, share, trend], "source": SOURCE, "empty": False}
