"""Background jobs: recompute the periods new factor versions apply to; re-issue codes."""

from __future__ import annotations

from app.jobs.registry import job
from app.uow import commit


@job("accounting.recompute")
def recompute(*, old_factor_id: int, new_factor_id: int | None = None) -> int:
    """Recompute every current account that used the superseded factor version."""
    from app.accounting import recompute

    n = recompute.recompute_for_factor(old_factor_id=old_factor_id, new_factor_id=new_factor_id)
    commit()
    return n


@job("accounting.recompute_factors")
def recompute_factors(*, factor_ids: list[int]) -> int:
    """Recompute the open accounts the new factor versions apply to (frozen ones pending)."""
    from app.accounting import recompute

    n = recompute.recompute_for_factors(factor_ids=[int(i) for i in factor_ids])
    commit()
    return n


@job("accounting.issue_codes")
def issue_codes(*, periods: list[int]) -> int:
    """Re-issue benchmarks and carbon efficiency codes for the periods of these months."""
    from app.accounting import codes

    n = codes.issue(periods=[int(p) for p in periods])
    commit()
    return n
