"""Onboarding jobs: `research.export` builds an approved data request's de-identified export
and `research.model_run` evaluates a registered research model (both idempotent: each
replaces what it wrote before)."""

from __future__ import annotations

from app.jobs.registry import job
from app.onboarding import research, research_models


@job("research.export")
def export(request_id: int) -> int:
    built = research.build_export(request_id=request_id)
    return 0 if built is None else built.cells


@job("research.model_run")
def model_run(model_id: int) -> str | None:
    done = research_models.run(model_id=model_id)
    return None if done is None else done.status
