"""Unit of work: one transaction per request, job or CLI command, committed at its edge.

Services flush, never commit; a change, its audit record and its outbox rows commit
together or not at all. Outbox rows are dispatched right after the commit.
"""

from __future__ import annotations

from flask import Flask, Response

from app.extensions import db


def commit() -> None:
    from app.jobs.outbox import dispatch_pending

    has_jobs = bool(db.session.info.pop("cecp_jobs", False))
    refusals = db.session.info.pop("cecp_refusals", None)
    if refusals:  # refused and then handled: still audited
        from app.audit import service as audit

        audit.record_many(refusals)
    db.session.commit()
    if has_jobs:
        dispatch_pending()


def refused(action: str, **kwargs) -> None:
    """An audit record of a refusal: kept aside so that it survives the rollback of the
    refused change (`rollback` writes it in a transaction of its own)."""
    db.session.info.setdefault("cecp_refusals", []).append({"action": action, **kwargs})


def rollback() -> None:
    """Roll the unit of work back, then write the refusals it recorded (`refused`)."""
    refusals = db.session.info.pop("cecp_refusals", None)
    db.session.info.pop("cecp_jobs", None)
    db.session.rollback()
    if refusals:
        from app.audit import service as audit

        audit.record_many(refusals)
        db.session.commit()


def init_app(app: Flask) -> None:
    @app.after_request
    def _commit(response: Response) -> Response:
        if response.status_code < 400:
            commit()
        else:
            rollback()
        return response
