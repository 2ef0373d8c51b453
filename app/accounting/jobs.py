"""Background jobs: recompute after a factor is superseded; re-issue codes of periods."""

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


@job("accounting.issue_codes")
def issue_codes(*, periods: list[int]) -> int:
    """Re-issue benchmarks and carbon efficiency codes for the periods of these months."""
    from app.accounting import codes

    n = codes.issue(periods=[int(p) for p in periods])
    commit()
    return n
