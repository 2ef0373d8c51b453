"""Outbox rows: a job exists only if the transaction that asked for it committed.

Status: pending (waiting for its time or for dispatch) -> dispatched (handed to rq, leased)
-> running (claimed by a runner, leased) -> done | pending again (retry after backoff) |
dead (out of attempts; an administrator retries or discards it) | discarded.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import utcnow
from app.extensions import db

#: rows a sweep may find stuck: their lease says until when a runner may still hold them
LEASED = ("dispatched", "running")
FINISHED = ("done", "dead", "discarded")


class OutboxJob(db.Model):
    __tablename__ = "outbox_job"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    queue: Mapped[str] = mapped_column(String(40), nullable=False, default="default")
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="pending",
                                        index=True)
    #: idempotency key: a second enqueue with the same key returns the first row
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    #: JSON list, one entry per attempt: {"n", "at", "error"} (the backoff spacing shows here)
    attempt_log: Mapped[str | None] = mapped_column(Text)
    run_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: a dispatched or running row whose lease passed is reclaimed by the sweep
    lease_until: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class JobSchedule(db.Model):
    """One row per periodic job: which process runs it next is decided by one guarded
    UPDATE of `next_at`, so a cluster runs each periodic job once per interval."""

    __tablename__ = "job_schedule"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    next_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_started_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
