"""One entry for pages, API and export: `build(view, args, scope)` returns the filters,
the freshness line and the datasets of a view, so the three can never disagree."""

from __future__ import annotations

from typing import Any

from app.i18n import Msg
from app.identity.scope import DataScope
from app.jobs.outbox import enqueue
from app.monitoring import countries, facts, filters
from app.monitoring.datasets import Dataset

SCOPED_VIEWS = ("region", "industry", "enterprise")
PUBLIC_VIEWS = ("countries", "public_institution")
VIEWS = SCOPED_VIEWS + ("institution",) + PUBLIC_VIEWS


def build(view: str, args: Any, scope: DataScope) -> dict:
    """Raises filters.FilterError on a bad filter, KeyError on an unknown view."""
    if view not in VIEWS:
        raise KeyError(view)
    if view == "countries":
        codes = [c for c in (args.get("countries") or "").split(",") if c.strip()] or None
        first = _year(args.get("from"), "from")
        last = _year(args.get("to"), "to")
        out = countries.compare(codes=codes, first=first, last=last)
        out["freshness"] = {"label": Msg("数据截至 %(year)s 年（CDIAC-FF 2023 版）",
                                         year=out.get("to") or "—")}
        out["filters"] = {"countries": ",".join(c["iso3"] for c in out["countries"]),
                          "from": out.get("from"), "to": out.get("to")}
        return out
    if view in ("institution", "public_institution"):
        from app.monitoring.institutions import institution_view

        year = _year(args.get("year"), "year")
        out = institution_view(scope=None if view == "public_institution" else scope,
                               year=year, public=view == "public_institution")
        out["filters"] = {"year": out["year"]}
        out["freshness"] = {"label": Msg("数据截至 %(year)s 年", year=out["year"])
                            if out["year"] else Msg("数据截至 —")}
        return out
    facts.ensure_fresh()
    f = filters.with_defaults(filters.parse(args, scope), scope)
    if view == "region":
        from app.monitoring.region import region_view

        out = region_view(scope, f)
    elif view == "industry":
        from app.monitoring.industry import industry_view

        out = industry_view(scope, f)
    else:
        from app.monitoring.enterprises import enterprise_view

        out = enterprise_view(scope, f)
    out["filters"] = f
    out["freshness"] = {**facts.freshness(), "sources": facts.source_freshness(scope)}
    return out


def _year(raw: Any, field: str) -> int | None:
    if raw in (None, ""):
        return None
    try:
        y = int(raw)
    except (TypeError, ValueError):
        raise filters.FilterError(field, "年份应为整数") from None
    if not 1700 <= y <= 2100:
        raise filters.FilterError(field, "年份超出范围")
    return y


def dataset(out: dict, dataset_id: str) -> Dataset | None:
    return next((d for d in out["datasets"] if d.id == dataset_id), None)


def as_json(out: dict) -> dict:
    """The API body: datasets as dicts, filters as plain values."""
    body = {k: v for k, v in out.items() if k not in ("datasets", "filters")}
    f = out.get("filters")
    body["filters"] = f.args() | {"year": f.year, "month": f.month, "grain": f.grain,
                                  "measure": f.measure} if isinstance(f, filters.Filters) else f
    body["datasets"] = [d.to_dict() for d in out["datasets"]]
    if isinstance(body.get("summary"), dict):
        from app.monitoring.datasets import jsonable

        body["summary"] = {k: jsonable(v) for k, v in body["summary"].items()}
    return body


def request_refresh(*, enterprise_ids: set[int] | None, periods: set[int] | None) -> None:
    """Rebuild the facts of these enterprise-months (None: all) after the caller commits
    (a `monitoring.refresh` job in the caller's transaction)."""
    enqueue("monitoring.refresh",
            enterprise_ids=sorted(enterprise_ids) if enterprise_ids is not None else None,
            periods=sorted(periods) if periods is not None else None)
