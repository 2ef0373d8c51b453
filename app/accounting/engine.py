"""GB/T 32150-2015 enterprise accounting, in Decimal, with the derivation of every figure.

    E = E_combustion + E_process + E_purchased electricity + E_purchased heat
        - E_exported electricity - E_exported heat          (biomass CO2 reported apart)
    E_combustion(line) = AD x NCV x CC x OF x 44/12

Rounding rule, the one rule everywhere (per-row engine, set-based SQL in `bulk.py` and
`codes.py`, published figures): half-up, i.e. a tie goes away from zero (Python's
ROUND_HALF_UP; PostgreSQL's `round(numeric, n)`). Each line's CO2 and tce are rounded to 6
decimals (1 g / 1 gce); totals are sums of rounded lines; intensities are rounded to 6
decimals, K to 4, each from the exact quotient (`ratio`, `k_value`; in SQL `half_up`, an
integer division, never `round(a / b)`, whose quotient PostgreSQL has already rounded to
~16 significant digits). Intermediate products are exact (60 digits).
This module knows nothing about the database; the factor figures (`Factor`) and the fuel
categories come from `app.energy.kinds` (energy owns them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

from app.energy.kinds import FUEL_CATEGORIES, Factor

Q6 = Decimal("0.000001")
Q4 = Decimal("0.0001")
C_TO_CO2 = (Decimal(44), Decimal(12))
EXACT = Context(prec=60, rounding=ROUND_HALF_UP)

BUCKETS = {
    "combustion": "化石燃料燃烧", "process": "工业生产过程", "electricity": "外购电力",
    "heat": "外购热力", "electricity_exported": "输出电力", "heat_exported": "输出热力",
    "biomass": "生物质燃烧（单列，不计入总量）", "renewable": "自发可再生电力（零排放）",
}


class EngineError(ValueError):
    """A line that cannot be computed; `field` names the offending input."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def q6(x: Decimal) -> Decimal:
    return x.quantize(Q6, rounding=ROUND_HALF_UP)


def q4(x: Decimal) -> Decimal:
    return x.quantize(Q4, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Line:
    flow: str          # consumed | purchased | exported | self_generated | process
    item: str          # energy type code, process factor code, or "generic"
    category: str      # energy category (coal/oil/gas/electricity/heat/biomass/other) or process
    amount: Decimal
    unit: str
    factor: Factor | None = None
    tce_factor: Decimal | None = None
    ncv: Decimal | None = None             # measured overrides (实测值)
    carbon_content: Decimal | None = None
    oxidation_rate: Decimal | None = None
    factor_value: Decimal | None = None    # explicit tCO2 per unit
    name: str | None = None


@dataclass
class LineResult:
    item: str
    name: str
    flow: str
    bucket: str
    sign: int
    amount: Decimal
    unit: str
    ef: Decimal
    co2: Decimal
    tce: Decimal
    ncv: Decimal | None = None
    carbon_content: Decimal | None = None
    oxidation_rate: Decimal | None = None
    factor_id: int | None = None
    factor_code: str | None = None
    factor_version: int | None = None
    factor_source: str | None = None
    parameter_origin: str = "library"
    formula: str = ""
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        out = {k: getattr(self, k) for k in (
            "item", "name", "flow", "bucket", "sign", "amount", "unit", "ef", "co2", "tce",
            "ncv", "carbon_content", "oxidation_rate", "factor_id", "factor_code",
            "factor_version", "factor_source", "parameter_origin", "formula", "warnings")}
        out["bucket_label"] = BUCKETS[self.bucket]
        return out


@dataclass
class Result:
    lines: list[LineResult]
    co2_combustion: Decimal
    co2_process: Decimal
    co2_electricity: Decimal
    co2_heat: Decimal
    co2_electricity_exported: Decimal
    co2_heat_exported: Decimal
    co2_biomass: Decimal
    co2_total: Decimal
    energy_tce: Decimal
    electricity_mwh: Decimal
    gross_output: Decimal | None = None
    value_added: Decimal | None = None
    intensity: Decimal | None = None
    energy_per_output: Decimal | None = None

    @property
    def by_source(self) -> dict[str, Decimal]:
        return {"combustion": self.co2_combustion, "process": self.co2_process,
                "electricity": self.co2_electricity, "heat": self.co2_heat,
                "electricity_exported": self.co2_electricity_exported,
                "heat_exported": self.co2_heat_exported, "biomass": self.co2_biomass}

    def as_dict(self) -> dict:
        return {"co2_total": self.co2_total, "energy_tce": self.energy_tce,
                "by_source": self.by_source, "electricity_mwh": self.electricity_mwh,
                "gross_output": self.gross_output, "value_added": self.value_added,
                "intensity": self.intensity, "energy_per_output": self.energy_per_output,
                "formula": "E = 燃烧 + 过程 + 外购电 + 外购热 − 输出电 − 输出热（生物质单列）",
                "lines": [r.as_dict() for r in self.lines]}


def bucket_of(flow: str, category: str) -> tuple[str, int]:
    """(bucket, sign) of a line, or EngineError when the flow does not fit the energy."""
    if flow == "process":
        return "process", 1
    if flow == "consumed" and category in FUEL_CATEGORIES:
        return "combustion", 1
    if flow == "consumed" and category == "biomass":
        return "biomass", 1
    if category == "electricity":
        return {"purchased": ("electricity", 1), "exported": ("electricity_exported", -1),
                "self_generated": ("renewable", 0)}.get(flow) or _bad_flow(flow, category)
    if category == "heat":
        return {"purchased": ("heat", 1), "exported": ("heat_exported", -1)}.get(flow) \
            or _bad_flow(flow, category)
    return _bad_flow(flow, category)


def _bad_flow(flow: str, category: str):
    raise EngineError("flow", f"流向“{flow}”不适用于该能源（类别 {category}）：燃料填“消耗”，"
                              "电力/热力填“外购/外供”，自发可再生电力填“自发”")


def compute_line(line: Line) -> LineResult:
    bucket, sign = bucket_of(line.flow, line.category)
    if line.amount < 0:
        raise EngineError("amount", "数量不能为负数")
    f = line.factor
    res = LineResult(item=line.item, name=line.name or line.item, flow=line.flow,
                     bucket=bucket, sign=sign, amount=line.amount, unit=line.unit,
                     ef=Decimal(0), co2=Decimal(0), tce=Decimal(0))
    if f is not None:
        res.factor_id, res.factor_code, res.factor_version = f.id, f.code, f.version
        res.factor_source = f.source
    with localcontext(EXACT):
        if bucket in ("combustion", "biomass"):
            ncv = line.ncv if line.ncv is not None else (f.ncv if f else None)
            cc = line.carbon_content if line.carbon_content is not None else \
                (f.carbon_content if f else None)
            of = line.oxidation_rate if line.oxidation_rate is not None else \
                (f.oxidation_rate if f else None)
            if any(v is not None for v in (line.ncv, line.carbon_content,
                                           line.oxidation_rate)):
                res.parameter_origin = "measured" if f is None else "measured+library"
            missing = [n for n, v in (("ncv", ncv), ("carbon_content", cc),
                                      ("oxidation_rate", of)) if v is None]
            if missing:
                raise EngineError(missing[0], f"“{res.name}”缺少排放参数（低位发热量、单位热值"
                                              "含碳量、碳氧化率），请填写实测值")
            res.ncv, res.carbon_content, res.oxidation_rate = ncv, cc, of
            res.ef = ncv * cc * of * C_TO_CO2[0] / C_TO_CO2[1]
            res.co2 = q6(line.amount * ncv * cc * of * C_TO_CO2[0] / C_TO_CO2[1])
            res.formula = (f"{line.amount} {line.unit} × {ncv} GJ/{line.unit} × {cc} tC/GJ × "
                           f"{of} × 44/12 = {res.co2} tCO2")
        elif bucket == "renewable":
            res.formula = f"{line.amount} {line.unit} 自发可再生电力，排放为 0"
        else:
            ef = line.factor_value if line.factor_value is not None else \
                (f.value if f else None)
            if line.factor_value is not None:
                res.parameter_origin = "given"
            if ef is None:
                raise EngineError("factor", f"“{res.name}”没有可用的排放因子")
            res.ef = ef
            res.co2 = sign * q6(line.amount * ef)
            op = "−" if sign < 0 else ""
            res.formula = f"{op}{line.amount} {line.unit} × {ef} tCO2/{line.unit} = {res.co2} tCO2"
        if line.tce_factor is not None and bucket not in ("renewable", "process"):
            res.tce = (sign or 1) * q6(line.amount * line.tce_factor)
        elif bucket not in ("renewable", "process", "biomass"):
            res.warnings.append("无折标准煤系数，能耗未计入")
    if bucket == "biomass":
        res.formula += "（单列，不计入总量）"
    return res


def calculate(lines: list[Line], *, gross_output: Decimal | None = None,
              value_added: Decimal | None = None) -> Result:
    """Compute one enterprise-period. Raises EngineError(field, message) on a bad line
    (`field` is prefixed with the line index, e.g. `lines.2.amount`)."""
    results = []
    for i, line in enumerate(lines):
        try:
            results.append(compute_line(line))
        except EngineError as exc:
            raise EngineError(f"lines.{i}.{exc.field}", exc.message) from None
    sums = {b: Decimal(0) for b in BUCKETS}
    tce = Decimal(0)
    mwh = Decimal(0)
    for r in results:
        sums[r.bucket] += abs(r.co2)
        tce += r.tce
        if r.bucket in ("electricity", "electricity_exported"):
            mwh += (r.sign or 1) * r.amount
    total = (sums["combustion"] + sums["process"] + sums["electricity"] + sums["heat"]
             - sums["electricity_exported"] - sums["heat_exported"])
    res = Result(lines=results, co2_combustion=sums["combustion"], co2_process=sums["process"],
                 co2_electricity=sums["electricity"], co2_heat=sums["heat"],
                 co2_electricity_exported=sums["electricity_exported"],
                 co2_heat_exported=sums["heat_exported"], co2_biomass=sums["biomass"],
                 co2_total=total, energy_tce=tce, electricity_mwh=mwh,
                 gross_output=gross_output, value_added=value_added)
    res.intensity = ratio(total, value_added)
    res.energy_per_output = ratio(tce, gross_output)
    return res


def ratio(num: Decimal | None, den: Decimal | None) -> Decimal | None:
    """num / den rounded half-up to 6 decimals; None when the denominator is missing or 0."""
    if num is None or den is None or den <= 0:
        return None
    with localcontext(EXACT):
        return q6(num / den)


def half_up(num: str, den: str, places: int) -> str:
    """SQL for `num / den` rounded half-up to `places` decimals from the exact quotient, for
    `den > 0` (the caller guards it): `div` is exact integer division, so no intermediate
    rounding of the quotient can turn a near-tie into a tie. Equals `q6` / `q4` of the
    exact quotient for either sign of `num`."""
    scale = 10 ** places
    unit = "0." + "0" * (places - 1) + "1"   # a multiplication is exact, a division is not
    return (f"(sign({num}) * div(abs({num}) * {2 * scale} + ({den}), 2 * ({den})) "
            f"* {unit})")


def k_value(co2: Decimal, value_added: Decimal, bench_co2: Decimal,
            bench_value_added: Decimal) -> Decimal | None:
    """碳效值 K = (co2 / VA) / (Σco2 / ΣVA), computed as one exact quotient, 4 decimals."""
    if value_added <= 0 or bench_co2 <= 0 or bench_value_added <= 0:
        return None
    with localcontext(EXACT):
        return q4(co2 * bench_value_added / (value_added * bench_co2))
