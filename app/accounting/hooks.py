"""Change signal for readers of `carbon_account` (monitoring facts, caches).

    AFTER_ACCOUNTS_CHANGED: list[Callable[[set[int] | None, set[int] | None], None]]

Every callable is called as `fn(enterprise_ids, periods)` after accounts were (re)computed,
inside the transaction that wrote them and on the session that wrote them (`db.session`),
so whatever it writes (typically `app.jobs.outbox.enqueue("monitoring.refresh", ...)`)
commits or rolls back together with the accounts:

* `enterprise_ids`: the enterprises whose accounts changed, or None for "every enterprise
  with a record in `periods`" (a province-wide batch);
* `periods`: the months (yyyymm) that changed, or None for "all months" (never passed today;
  a callable should still accept it).

When it is called:

* `service.compute(record=...)` (one enterprise-month, per-row engine): once per record,
  or once per batch from `recompute.after_records_changed` (`notify=False` on the single
  computes);
* `bulk.compute_accounts(...)` (set-based, caller's transaction): once per call;
* `bulk.compute_accounts_parallel(...)` (province batch): once per chunk, on the worker's
  own session inside that chunk's transaction (each chunk commits on its own; the worker
  runs with its own application context, so `db.session` there is the chunk's session).
  Outbox rows enqueued by a chunk are dispatched by the caller's `app.uow.commit()`.

Why not `carbon_account.id > watermark`: ids come from a sequence taken at INSERT time while
transactions commit later and in any order, so a reader that moves its watermark to the
highest committed id can skip rows committed afterwards with lower ids (a concurrent per-row
compute during a batch, or two batch chunks). The parallel batch does allocate its ids in
chunk order and commits chunks in that order (so the batch alone never commits a lower id
after a higher one), but only this hook (same transaction) is a complete signal.

A callable must not commit, must be cheap (it runs inside the writer's transaction) and
raises only to veto the whole change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

AccountsChanged = Callable[[set[int] | None, set[int] | None], None]

AFTER_ACCOUNTS_CHANGED: list[AccountsChanged] = []


def accounts_changed(enterprise_ids: Iterable[int] | None,
                     periods: Iterable[int] | None) -> None:
    """Call every registered callable (in registration order) with fresh sets."""
    if not AFTER_ACCOUNTS_CHANGED:
        return
    ents = None if enterprise_ids is None else {int(e) for e in enterprise_ids}
    pers = None if periods is None else {int(p) for p in periods}
    if (ents is not None and not ents) or (pers is not None and not pers):
        return
    for fn in list(AFTER_ACCOUNTS_CHANGED):
        fn(None if ents is None else set(ents), None if pers is None else set(pers))


#: Providers of CO2 estimates that stand in for an account's CO2 in the published figures
#: (monitoring facts, carbon efficiency codes) where the enterprise's region includes them.
#: Each returns the SQL text of a `(enterprise_id, period, co2)` query, or None when no
#: region includes estimates; `app.factors` registers the electricity × factor estimates
#: (6.4.1 a). Providers read only their own tables; their SQL must be valid on PostgreSQL
#: and SQLite and bind no parameters.
ESTIMATED_CO2: list[Callable[[], str | None]] = []


def estimated_co2_sql() -> str | None:
    """One `(enterprise_id, period, co2)` query over every provider, or None."""
    parts = [sql for sql in (fn() for fn in list(ESTIMATED_CO2)) if sql]
    return " UNION ALL ".join(f"SELECT * FROM ({p}) est{i}" for i, p in enumerate(parts)) \
        if parts else None
