"""Onboarding jobs: `research.export` builds an approved data request's de-identified export
(idempotent: it replaces the export it wrote before)."""

from __future__ import annotations

from app.jobs.registry import job
from app.onboarding import research


@job("research.export")
def export(request_id: int) -> int:
    built = research.build_export(request_id=request_id)
    return 0 if built is None else built.cells
