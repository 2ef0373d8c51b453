"""Background jobs: recompute after a factor is superseded; re-issue codes of periods.

Both run in the outbox runner's transaction (they never commit) and are idempotent by
effect: a second `recompute` finds no current account on the old factor any more, a second
`issue_codes` re-derives the same codes from the same accounts."""

from __future__ import annotations

from app.jobs.registry import job


@job("accounting.recompute")
def recompute(*, old_factor_id: int, new_factor_id: int | None = None) -> int:
    """Recompute every current account that used the superseded factor version."""
    from app.accounting import recompute

    return recompute.recompute_for_factor(old_factor_id=old_factor_id,
                                          new_factor_id=new_factor_id)


@job("accounting.recompute_factors")
def recompute_factors(*, factor_ids: list[int]) -> int:
    """Recompute the open accounts the new factor versions apply to (frozen ones pending)."""
    from app.accounting import recompute

    return recompute.recompute_for_factors(factor_ids=[int(i) for i in factor_ids])


@job("accounting.issue_codes")
def issue_codes(*, periods: list[int]) -> int:
    """Re-issue benchmarks and carbon efficiency codes for the periods of these months."""
    from app.accounting import codes

    return codes.issue(periods=[int(p) for p in periods])
