"""Demo data for the exchange: meters for a few demo enterprises, a demo power-system
database (SQLite, power-marketing schema) and a first sync from it."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from app.db import utcnow

SCHEMA = ('CREATE TABLE IF NOT EXISTS yx_cbsj ("户号" TEXT NOT NULL, "电能表" TEXT NOT NULL, '
          '"抄表时间" TIMESTAMP NOT NULL, "正向有功总" NUMERIC NOT NULL, "倍率" NUMERIC NOT NULL, '
          '"结算电量" NUMERIC NOT NULL, "电费" NUMERIC NOT NULL, '
          'PRIMARY KEY ("电能表", "抄表时间"))')
PRICE = 0.68  # 元/kWh, a demo tariff


def build_power_db(path: Path, meters: list[tuple[str, str, int]], *, days: int = 7,
                   end: datetime | None = None) -> int:
    """Hourly readings (Beijing time) for (户号, 电能表, base kW) triples; idempotent."""
    end = (end or (utcnow() + timedelta(hours=8))).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    conn = sqlite3.connect(path)
    try:
        conn.execute(SCHEMA)
        n = 0
        for account, meter, base in meters:
            register, ratio = 10_000.0, 100
            t = start
            while t < end:
                load = base * (1.2 if 8 <= t.hour < 20 else 0.6)
                kwh = round(load, 2)
                register += kwh / ratio
                conn.execute('INSERT OR IGNORE INTO yx_cbsj VALUES (?, ?, ?, ?, ?, ?, ?)',
                             (account, meter, t.isoformat(sep=" "), round(register, 4), ratio,
                              kwh, round(kwh * PRICE, 2)))
                n += 1
                t += timedelta(hours=1)
        conn.commit()
    finally:
        conn.close()
    return n


def load(enterprises: int, months: int) -> None:
    from app.exchange import meters as meter_service
    from app.exchange.models import Meter
    from app.extensions import db
    from app.identity.scope import DataScope
    from app.orgs.models import Enterprise
    from integrations import etl

    ents = list(db.session.scalars(select(Enterprise).order_by(Enterprise.id).limit(3)))
    triples = []
    for i, ent in enumerate(ents, start=1):
        ext = f"DB{ent.uscc[-8:]}"
        if db.session.scalar(select(Meter.id).where(Meter.external_id == ext)) is None:
            meter_service.create(data={
                "enterprise": ent.uscc, "external_id": ext, "name": "营销系统计量总表",
                "energy_type": "electricity", "unit": "kWh", "multiplier": "1",
                "source_system": "电力营销系统",
                "installed_at": "2020-01-01T00:00:00+08:00"}, scope=DataScope(all=True))
        triples.append((f"33{i:08d}", ext, 400 * i))
    if not triples:
        return
    db.session.flush()
    path = Path(current_app.instance_path) / "power-system.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    build_power_db(path, triples, days=7)
    from app.uow import commit

    commit()
    if not current_app.config.get("CECP_POWER_SYNC_URL"):
        etl.sync("power_marketing")
