"""Broken rows are rejected with the file, line and field named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.refdata import (
    RefDataError,
    load_energy_types,
    load_factors,
    load_grading_schemes,
    load_industries,
    load_regions,
    load_sectors,
    verify_manifest,
)


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(path: Path, startswith: str) -> int:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith(startswith):
            return n
    raise AssertionError(startswith)


def test_unknown_parent_code(data_copy: Path) -> None:
    _replace(
        data_copy / "regions.csv",
        "330502,吴兴区,Wuxing District,county,330500",
        "330502,吴兴区,Wuxing District,county,330599",
    )
    with pytest.raises(RefDataError) as err:
        load_regions(data_copy)
    line = _line_of(data_copy / "regions.csv", "330502,")
    assert (err.value.file, err.value.line, err.value.field) == ("regions.csv", line, "parent_code")
    assert f"regions.csv:{line}: parent_code" in str(err.value)


def test_duplicate_region_code(data_copy: Path) -> None:
    path = data_copy / "regions.csv"
    path.write_text(
        path.read_text(encoding="utf-8") + "330523,安吉,Anji,county,330500\n", encoding="utf-8"
    )
    with pytest.raises(RefDataError, match=r"regions\.csv:\d+: code: duplicate '330523'"):
        load_regions(data_copy)


def test_child_outside_parent(data_copy: Path) -> None:
    _replace(
        data_copy / "regions.csv",
        "330523,安吉县,Anji County,county,330500",
        "330523,安吉县,Anji County,county,330100",
    )
    with pytest.raises(RefDataError, match="not inside parent"):
        load_regions(data_copy)


def test_missing_factor_source(data_copy: Path) -> None:
    path = data_copy / "factors.csv"
    line = _line_of(path, "grid_2023_330000,")
    lines = path.read_text(encoding="utf-8").splitlines()
    cells = lines[line - 1].split(",")
    cells[7] = ""  # source
    lines[line - 1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(RefDataError) as err:
        load_factors(data_copy)
    assert (err.value.line, err.value.field) == (line, "source")


def test_unknown_factor_scope_and_bad_number(data_copy: Path) -> None:
    _replace(
        data_copy / "factors.csv",
        "grid_2023_330000,grid_electricity,330000,",
        "grid_2023_330000,grid_electricity,339900,",
    )
    with pytest.raises(RefDataError, match="scope"):
        load_factors(data_copy)


def test_float_like_garbage_is_rejected(data_copy: Path) -> None:
    _replace(data_copy / "energy_types.csv", "0.7143,", "0.71a3,")
    with pytest.raises(RefDataError, match=r"energy_types\.csv:2: tce_factor"):
        load_energy_types(data_copy)


def test_tce_factor_without_source(data_copy: Path) -> None:
    path = data_copy / "energy_types.csv"
    text = path.read_text(encoding="utf-8")
    start = text.index("raw_coal,")
    end = text.index("\n", start)
    path.write_text(
        text[:start] + "raw_coal,原煤,Raw coal,coal,t,0.7143,,,,,,," + text[end:], encoding="utf-8"
    )
    with pytest.raises(RefDataError, match="tce_source"):
        load_energy_types(data_copy)


def test_sector_code_must_exist(data_copy: Path) -> None:
    _replace(data_copy / "sectors.csv", "3211;3216", "3211;3299")
    with pytest.raises(RefDataError, match=r"sectors\.csv:\d+: codes: '3299'"):
        load_sectors(data_copy)


def test_sector_column_must_agree(data_copy: Path) -> None:
    _replace(
        data_copy / "industries.csv",
        "3012,石灰和石膏制造,Manufacture of lime and gypsum,class,301,",
        "3012,石灰和石膏制造,Manufacture of lime and gypsum,class,301,building_materials",
    )
    with pytest.raises(RefDataError, match=r"industries\.csv:\d+: sector"):
        load_industries(data_copy)


def test_industry_parent_must_exist(data_copy: Path) -> None:
    _replace(
        data_copy / "industries.csv",
        "3216,铝冶炼,Aluminium smelting,class,321,",
        "3216,铝冶炼,Aluminium smelting,class,329,",
    )
    with pytest.raises(RefDataError, match="parent_code"):
        load_industries(data_copy)


def test_wrong_header(data_copy: Path) -> None:
    _replace(
        data_copy / "regions.csv",
        "code,name,name_en,level,parent_code",
        "code,name,level,parent_code",
    )
    with pytest.raises(RefDataError, match=r"regions\.csv:1: header"):
        load_regions(data_copy)


def test_grading_thresholds_must_increase(data_copy: Path) -> None:
    path = data_copy / "grading_schemes.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["schemes"][0]["thresholds"][2]["upper"] = 0.7
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(RefDataError, match=r"schemes\[0\]: thresholds"):
        load_grading_schemes(data_copy)


def test_grading_last_threshold_open(data_copy: Path) -> None:
    path = data_copy / "grading_schemes.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["schemes"][1]["thresholds"][2]["upper"] = 5
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(RefDataError, match=r"schemes\[1\]\.thresholds\[2\]: upper"):
        load_grading_schemes(data_copy)


def test_manifest_detects_unversioned_edit(data_copy: Path) -> None:
    verify_manifest(data_copy)
    _replace(data_copy / "factors.csv", ",0.5703,", ",0.5704,")
    with pytest.raises(RefDataError, match="factors.csv"):
        verify_manifest(data_copy)


def test_duplicate_factor_slot(data_copy: Path) -> None:
    path = data_copy / "factors.csv"
    line = next(
        x
        for x in path.read_text(encoding="utf-8").splitlines()
        if x.startswith("grid_2023_330000,")
    )
    path.write_text(
        path.read_text(encoding="utf-8")
        + line.replace("grid_2023_330000,", "grid_2023_zj_copy,", 1)
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(RefDataError, match=r"factors\.csv:\d+: year: duplicate"):
        load_factors(data_copy)


def test_superseded_needs_successor(data_copy: Path) -> None:
    _replace(data_copy / "factors.csv", ",active,ets_grid_2021,", ",active,,")
    with pytest.raises(RefDataError, match=r"factors\.csv:\d+: status"):
        load_factors(data_copy)
