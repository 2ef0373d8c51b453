"""The energy domain's public face: what other domains (accounting, monitoring, demo) call.

* the factor library (`app.energy.factors`): energy types, factor versions, supersede;
* dated factor resolution (`app.energy.resolve`): which version prices an activity month;
* monthly records (`app.energy.records`): validate, create, update;
* change signals for the domains above (`app.energy.hooks`): records changed, factors added.

Energy never imports accounting: accounting subscribes to the hooks in its `register`.
"""

from __future__ import annotations

from app.energy import hooks
from app.energy.factors import (
    GENERIC_PROCESS,
    FactorError,
    factor_counts,
    get,
    get_all,
    get_current,
    get_energy_type,
    get_energy_types,
    history,
    load_reference,
    process_factors,
    supersede,
)
from app.energy.kinds import CATEGORIES, FLOWS, FUEL_CATEGORIES, Factor, item_of
from app.energy.records import (
    RecordError,
    catalogue,
    create_many,
    parse_decimal,
    parse_int,
    validate_line,
)
from app.energy.resolve import (
    ELECTRICITY_CHAINS,
    Resolved,
    activity_date,
    electricity_scopes,
    in_force,
    resolve,
    to_engine,
)

__all__ = [
    "CATEGORIES", "ELECTRICITY_CHAINS", "FLOWS", "FUEL_CATEGORIES", "GENERIC_PROCESS",
    "Factor", "FactorError", "RecordError", "Resolved", "activity_date", "catalogue",
    "create_many", "electricity_scopes", "factor_counts", "get", "get_all", "get_current",
    "get_energy_type", "get_energy_types", "history", "hooks", "in_force", "item_of",
    "load_reference", "parse_decimal", "parse_int", "process_factors", "resolve",
    "supersede", "to_engine", "validate_line",
]
