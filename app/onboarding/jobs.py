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


@job("exchange.webhook_deliver")
def webhook_deliver(delivery_id: int, attempt: int) -> str | None:
    """One signed delivery attempt; the next one, if any, is enqueued by the attempt itself
    (idempotent: a replayed attempt number does nothing)."""
    from app.onboarding import webhooks

    return webhooks.deliver(delivery_id=delivery_id, attempt=attempt)
