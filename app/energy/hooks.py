"""Change signals of energy data for the domains above it (accounting subscribes in its
`register`), as `app.accounting.hooks` is for monitoring: energy never imports accounting.

    AFTER_RECORDS_CHANGED: list[Callable[[list[EnergyRecord]], None]]
    AFTER_FACTORS_ADDED:   list[Callable[[list[int]], None]]

* `records_changed(records)`: monthly records were created or their figures replaced
  (form, API, import), after the flush, in the writing transaction and on `db.session`.
* `factors_added(factor_ids)`: new factor versions exist (a superseding version or rows
  loaded from the reference files); the ids are the new `emission_factor` rows.

A callable must not commit (what it writes commits or rolls back with the change) and
raises only to veto the whole change. With no subscriber nothing is recomputed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

RecordsChanged = Callable[[list[Any]], None]
FactorsAdded = Callable[[list[int]], None]

AFTER_RECORDS_CHANGED: list[RecordsChanged] = []
AFTER_FACTORS_ADDED: list[FactorsAdded] = []


def subscribe(hooks: list, fn: Callable) -> None:
    """Register `fn` once (idempotent: `register(app)` runs once per application)."""
    if fn not in hooks:
        hooks.append(fn)


def records_changed(records: list[Any]) -> None:
    if records:
        for fn in list(AFTER_RECORDS_CHANGED):
            fn(list(records))


def factors_added(factor_ids: list[int]) -> None:
    ids = sorted({int(i) for i in factor_ids})
    if ids:
        for fn in list(AFTER_FACTORS_ADDED):
            fn(list(ids))
