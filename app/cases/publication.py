"""Publication of an enterprise report (BPMN service task `report.publish`, the final
approval): the current carbon accounts of the case's period become the published figures,
the earlier publication of that period is retired, and the accounts are frozen.

The write is deferred with `context.after_save`, so it happens after the instance's
version-guarded UPDATE and in the same transaction as the step.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from app.accounting import service as accounting
from app.cases.models import ReportPublication
from app.cases.report_review import case_enterprise, case_period
from app.db import utcnow
from app.extensions import db
from app.workflow import context
from app.workflow.engine import ServiceError, register_service

# Built once (bound parameters only): the final approval runs them for every case.
_PUBLICATION = ReportPublication.__table__
_RETIRE = (
    update(_PUBLICATION)
    .where(
        _PUBLICATION.c.enterprise_uscc == bindparam("b_uscc"),
        _PUBLICATION.c.period_key == bindparam("b_key"),
        _PUBLICATION.c.is_current.is_(True),
    )
    .values(is_current=False)
)
_PUBLISH = insert(_PUBLICATION).returning(_PUBLICATION.c.id)


def list_current(*, enterprise_uscc: str) -> list[ReportPublication]:
    """The enterprise's publications in force (one per period key)."""
    return list(
        db.session.scalars(
            select(ReportPublication)
            .where(
                ReportPublication.enterprise_uscc == enterprise_uscc,
                ReportPublication.is_current.is_(True),
            )
            .order_by(ReportPublication.period_key)
        )
    )


@register_service("report.publish", replace=True)
def report_publish(data: dict[str, Any]) -> dict[str, Any]:
    """Final approval: the current carbon accounts of the period become the published ones."""
    ent = case_enterprise()
    if ent is None:
        raise ServiceError("案件未关联企业，无法发布")
    year, month = case_period(data)
    periods = [year * 100 + month] if month else [year * 100 + m for m in range(1, 13)]
    rows = accounting.current_figures(enterprise_id=ent.id, periods=periods)
    if not rows:
        period = f"{year}年{month}月" if month else f"{year}年"
        raise ServiceError(f"{ent.name} {period}没有可发布的核算数据")
    co2 = sum((Decimal(r.co2_total) for r in rows), Decimal(0))
    tce = sum((Decimal(r.energy_tce) for r in rows), Decimal(0))
    va = sum((Decimal(r.value_added or 0) for r in rows), Decimal(0))
    intensity = accounting.ratio(co2, va)  # the engine's half-up rule
    key = f"{year}-{month:02d}" if month else str(year)
    figures = [
        {
            "period": r.period,
            "account_id": r.id,
            "version": r.version,
            "co2_total": str(r.co2_total),
            "energy_tce": str(r.energy_tce),
            "electricity_mwh": str(r.electricity_mwh),
            "value_added": None if r.value_added is None else str(r.value_added),
        }
        for r in rows
    ]
    ctx = context.current()
    actor = getattr(ctx.actor, "email", None) if ctx else None

    def write(instance_id: int) -> None:
        conn = db.session.connection()
        conn.execute(_RETIRE, {"b_uscc": ent.uscc, "b_key": key})
        pub_id = conn.execute(
            _PUBLISH,
            {
                "instance_id": instance_id,
                "enterprise_uscc": ent.uscc,
                "region_code": ent.region_code,
                "period_key": key,
                "year": year,
                "month": month,
                "co2_total": str(co2),
                "energy_tce": str(tce),
                "value_added": str(va),
                "intensity": None if intensity is None else str(intensity),
                "figures": json.dumps(figures, ensure_ascii=False),
                "published_by": actor,
                "is_current": True,
                "published_at": utcnow(),
            },
        ).scalar_one()
        # the published versions are frozen: later inputs never rewrite them silently (audited
        # in this action's record below: one audit append per workflow action)
        accounting.freeze(
            enterprise_id=ent.id,
            periods=[r.period for r in rows],
            status="published",
            user_email=actor,
            audited=False,
        )
        context.audit(
            "report.publish",
            object_type="report_publication",
            object_id=pub_id,
            user=ctx.actor if ctx else None,
            summary={
                "enterprise": ent.uscc,
                "period": key,
                "co2_total": str(co2),
                "instance": instance_id,
                "accounts": [r.id for r in rows],
                "frozen": "published",
            },
        )

    context.after_save(write)
    return {
        "published": {
            "period": key,
            "co2_total": str(co2),
            "months": len(rows),
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    }
