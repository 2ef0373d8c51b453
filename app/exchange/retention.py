"""Retention of rollups per resolution (raw readings: whole partitions, `partitions`)."""

from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import delete

from app.exchange.models import MeterRollup
from app.exchange.partitions import add_months, month_start
from app.extensions import db

DEFAULT_MONTHS = {"hour": 24, "day": 120, "month": None}  # None: kept for ever


def trim_rollups(today: date | None = None) -> dict[str, int]:
    conf = {**DEFAULT_MONTHS, **(current_app.config.get("CECP_ROLLUP_RETENTION_MONTHS") or {})}
    out = {}
    first = month_start(today or date.today())
    for res, months in conf.items():
        if not months:
            continue
        cutoff = add_months(first, -int(months))
        out[res] = db.session.execute(delete(MeterRollup).where(
            MeterRollup.resolution == res, MeterRollup.bucket < cutoff)).rowcount or 0
    return out
