"""数据截至 per source for the monitoring pages (issue 14: a reading posted is visible
within a minute, with the time it is up to): the newest reading of the caller's meters per
source system, and the last run of each intermediate-database sync. Registered in
`app.monitoring.facts.FRESHNESS_SOURCES` by `app.exchange.register`."""

from __future__ import annotations

from sqlalchemy import func, select

from app.exchange.models import Meter, MeterRollup, SyncState
from app.extensions import db
from app.i18n import Msg
from app.identity.scope import DataScope, scoped

UNNAMED = Msg("企业自报计量")


def sources(scope: DataScope) -> list[dict]:
    """[{"source", "kind", "at"}] with `at` naive UTC; scoped to the caller's meters."""
    stmt = scoped(
        select(Meter.source_system, func.max(MeterRollup.last_ts))
        .join(MeterRollup, MeterRollup.meter_id == Meter.id)
        .where(MeterRollup.resolution == "month"),
        Meter,
        scope,
    ).group_by(Meter.source_system)
    out = [
        {"source": name or UNNAMED, "kind": Msg("读数"), "at": at}
        for name, at in db.session.execute(stmt)
        if at is not None
    ]
    out.sort(key=lambda r: r["source"])
    for st in db.session.scalars(select(SyncState).order_by(SyncState.name)):
        if st.last_run_at is not None and st.last_error is None:
            out.append({"source": Msg("中间库同步（%(name)s）", name=st.name), "kind": "",
                        "at": st.last_run_at})
    return out


def register() -> None:
    from app.monitoring import facts

    if sources not in facts.FRESHNESS_SOURCES:
        facts.FRESHNESS_SOURCES.append(sources)
