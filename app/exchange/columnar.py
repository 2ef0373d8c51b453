"""Column-wise check of a reading batch that is clean throughout (issue 14 throughput).

Almost every bulk batch is plain text and valid, and then the per-row loop of
`readings.validate` spends its time in Python bytecode. Here each rule runs over a whole
column with C-level builtins (map, zip, set, min/max), and each distinct meter or time is
looked at once. This path never words an error: it answers the rows only when every rule
holds for every row, and None as soon as one might not, so that the per-row loop decides
and words each message (one source for the Chinese field errors, whatever the path).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from itertools import repeat
from operator import add, gt, lt, mul

from app.energy.records import MAX_AMOUNT
from app.exchange import meters as meter_service

_NO_CEILING = Decimal("Infinity")
#: types taken as they come; others (bool, lists, dict subclasses...) go row by row. Text
#: only for the meter: 1 and True are equal keys in a dict but name different meters.
_TS_TYPES = frozenset({str, datetime})
_VALUE_TYPES = frozenset({str, int, float, Decimal})
_UNIT_TYPES = frozenset({str, type(None)})


def meter_column(items: list) -> list[str] | None:
    """The raw meter ids when every item is a plain dict with a text meter, else None."""
    if not items or set(map(type, items)) != {dict}:
        return None
    metas = [it.get("meter") for it in items]
    return metas if set(map(type, metas)) == {str} else None


class Readings:
    """Validated readings as three columns (meter id, UTC time, value), row i across them.

    Columns rather than one tuple per row: a bulk batch then allocates no per-row container
    objects, so the cyclic garbage collector has nothing new to walk (at 200,000 rows its
    full passes cost about as much as the validation itself). Iterating gives the
    (meter_id, ts, value) tuples the rest of the code reads."""

    __slots__ = ("mids", "tss", "vals")

    def __init__(self, mids: list[int], tss: list[datetime], vals: list[Decimal]):
        self.mids, self.tss, self.vals = mids, tss, vals

    @classmethod
    def of(cls, rows) -> Readings:
        if isinstance(rows, cls):
            return rows
        rows = list(rows)
        if not rows:
            return cls([], [], [])
        mids, tss, vals = zip(*rows, strict=True)
        return cls(list(mids), list(tss), list(vals))

    def __len__(self) -> int:
        return len(self.mids)

    def __iter__(self) -> Iterator[tuple[int, datetime, Decimal]]:
        return zip(self.mids, self.tss, self.vals, strict=True)


def clean_rows(items: list, *, metas: list[str], facts: dict,
               latest: datetime) -> Readings | None:
    """(meter_id, ts, value) per item, in order, when no rule of `readings.validate` can
    fail for any item (no duplicate (meter, ts) either); None otherwise.

    `facts`: external id -> (meter, id, installed_at, unit, ceiling), as in validate."""
    by_raw = {raw: facts.get(raw.strip()) for raw in set(metas)}
    if None in by_raw.values():  # empty or unknown meter
        return None
    stamps = [it.get("ts") for it in items]
    if not set(map(type, stamps)) <= _TS_TYPES:
        return None
    when: dict = {}
    for raw in set(stamps):
        err: dict = {}
        ts = meter_service.parse_ts(raw, "ts", err)
        if ts is None or ts > latest:
            return None
        when[raw] = ts
    values = [it.get("value") for it in items]
    kinds = set(map(type, values))
    if not kinds <= _VALUE_TYPES:
        return None
    try:
        # what `readings._fast_decimal` takes (text) or `records.parse_decimal` makes of a
        # number (its text form); NaN makes min/max raise, infinities fail the range
        vals = list(map(Decimal, values if kinds == {str} else map(_text, values)))
        if not (min(vals) >= 0 and max(vals) <= MAX_AMOUNT):
            return None
    except ArithmeticError:
        return None
    units = [it.get("unit") for it in items]
    if any(units):
        if not set(map(type, units)) <= _UNIT_TYPES:
            return None
        for raw, unit in set(zip(metas, units, strict=True)):
            if unit and unit.strip() != by_raw[raw][3]:
                return None
    mids = list(map({raw: f[1] for raw, f in by_raw.items()}.__getitem__, metas))
    tss = list(map(when.__getitem__, stamps))
    if not _within_bounds(by_raw, metas=metas, tss=tss, vals=vals):
        return None
    # repeats of (meter, instant) leave the loop to keep one of equal ones and to name
    # differing ones; the pair as one int (meter id x distinct instants + instant's rank)
    order = {ts: rank for rank, ts in enumerate(set(when.values()))}
    keys = map(add, map(mul, mids, repeat(len(order))), map(order.__getitem__, tss))
    if len(set(keys)) != len(mids):
        return None
    return Readings(mids, tss, vals)


def _text(v) -> str:
    return v if type(v) is str else str(v)


def _within_bounds(by_raw: dict, *, metas: list, tss: list, vals: list) -> bool:
    """No reading before its meter's start of service nor above its per-reading ceiling:
    one comparison for the whole batch when it settles it, else one per row."""
    installed = {raw: f[2] for raw, f in by_raw.items() if f[2] is not None}
    if installed and max(installed.values()) > min(tss):
        if any(map(lt, tss, map(installed.get, metas, repeat(datetime.min)))):
            return False
    ceilings = {raw: _NO_CEILING if f[4] is None else f[4] for raw, f in by_raw.items()}
    if max(vals) > min(ceilings.values()):
        if any(map(gt, vals, map(ceilings.__getitem__, metas))):
            return False
    return True


def columns(rows) -> tuple[set[int], set[datetime]]:
    """The distinct meter ids and times of stored rows (far fewer than rows)."""
    cols = Readings.of(rows)
    return set(cols.mids), set(cols.tss)
