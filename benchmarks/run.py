"""Run every benchmarks/bench_*.py module and print one table with same-run ratios.

Each module exposes `run() -> list[dict]` with keys measure, value, unit, and optionally
baseline (label), baseline_value and note. `--only NAME` runs one module.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path


def _fmt(v: float | None) -> str:
    if v is None:
        return "—"
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="cecp benchmarks")
    parser.add_argument("--only", action="append", help="module name, e.g. foundation")
    args = parser.parse_args(argv)
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)])
                   if m.name.startswith("bench_"))
    if args.only:
        known = {n.removeprefix("bench_") for n in names}
        unknown = sorted(set(args.only) - known)
        if unknown:
            parser.error(f"unknown --only {', '.join(unknown)}; "
                         f"choose from {', '.join(sorted(known))}")
        names = [n for n in names if n.removeprefix("bench_") in args.only]
    rows: list[tuple[str, dict]] = []
    failed = False
    for name in names:
        t0 = time.perf_counter()
        print(f"… {name}", file=sys.stderr, flush=True)
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            for row in module.run():
                rows.append((name.removeprefix("bench_"), row))
        except Exception:
            failed = True
            traceback.print_exc()
        print(f"  {name} took {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    header = ("area", "measure", "value", "unit", "baseline (same run)", "baseline value",
              "ratio", "note")
    table = [header]
    for area, r in rows:
        base = r.get("baseline_value")
        ratio = (r["value"] / base) if base else None
        table.append((area, r["measure"], _fmt(r["value"]), r["unit"], r.get("baseline") or "—",
                      _fmt(base), f"{ratio:.3g}×" if ratio else "—", r.get("note", "")))
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
        if i == 0:
            print("-+-".join("-" * w for w in widths))
    if failed:
        sys.exit(1)
