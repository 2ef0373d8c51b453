"""Reference data for the platform: regions (GB/T 2260), industries (GB/T 4754-2017),
key sectors, energy types (GB/T 2589 / GB/T 32150), emission factors and grading schemes.

The data are versioned, cited files in this package (see README.md and manifest.json);
the loaders validate them and return frozen dataclasses with Decimal values.
"""

from app.refdata._rows import DATA_DIR, RefDataError
from app.refdata.grading import GradingScheme, Threshold, load_grading_schemes
from app.refdata.industries import Industry, Sector, load_industries, load_sectors
from app.refdata.loader import (
    EmissionFactor,
    EnergyType,
    find_factor,
    get_factor,
    load_energy_types,
    load_factors,
)
from app.refdata.manifest import load_manifest, verify_manifest
from app.refdata.regions import (
    GridRegion,
    Region,
    grid_region_of,
    load_grid_regions,
    load_regions,
    province_code,
    region_prefix,
)
from app.refdata.uscc import is_valid_uscc, make_uscc, validate_uscc

__all__ = [
    "DATA_DIR",
    "EmissionFactor",
    "EnergyType",
    "GradingScheme",
    "GridRegion",
    "Industry",
    "RefDataError",
    "Region",
    "Sector",
    "Threshold",
    "find_factor",
    "get_factor",
    "grid_region_of",
    "is_valid_uscc",
    "load_energy_types",
    "load_factors",
    "load_grading_schemes",
    "load_grid_regions",
    "load_industries",
    "load_manifest",
    "load_regions",
    "load_sectors",
    "make_uscc",
    "province_code",
    "region_prefix",
    "validate_uscc",
    "verify_manifest",
]
