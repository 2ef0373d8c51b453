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
    db.session.commit()
    if has_jobs:
        dispatch_pending()


def init_app(app: Flask) -> None:
    @app.after_request
    def _commit(response: Response) -> Response:
        if response.status_code < 400:
            commit()
        else:
            db.session.rollback()
        return response
