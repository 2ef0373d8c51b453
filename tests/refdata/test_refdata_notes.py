"""Reference data agrees with itself and cites the standard in force (issue 11, point 12).

Every note is read for claims that a value is (left) empty; each claim must hold for its
row, and every value a fossil-fuel row leaves empty must be explained by such a claim.
Historical remarks ("NCV was empty before", "were empty") are not claims about the row."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.refdata import load_energy_types, load_factors, load_grading_schemes
from app.refdata.loader import EnergyType

FIELDS = {  # words a note uses -> the row's field
    "tce factor": "tce_factor", "tce coefficient": "tce_factor", "折标准煤系数": "tce_factor",
    "ncv": "ncv", "heat value": "ncv", "低位发热量": "ncv",
    "carbon content": "carbon_content", "含碳量": "carbon_content",
    "oxidation": "oxidation_rate", "碳氧化率": "oxidation_rate",
    "value": "value", "factor": "value",
}
CLAIM = re.compile(r"\b(?:left|is|are|stays?|kept|remains?)\s+empty\b|留空|暂缺", re.I)
PAST = re.compile(r"\b(?:was|were)\s+empty\b", re.I)
SENTENCE = re.compile(r"(?<=[.;。；])\s+|(?<=[。；])")


def claims(note: str, fields: set[str]) -> set[str]:
    """The fields a note says are empty now."""
    out: set[str] = set()
    for sentence in SENTENCE.split(note):
        if not CLAIM.search(sentence) or PAST.search(sentence) and not CLAIM.search(
                PAST.sub("", sentence)):
            continue
        head = CLAIM.split(sentence)[0].lower()   # the words before "left empty"
        named = {f for word, f in FIELDS.items() if word in head and f in fields}
        if "tce_factor" in named and "factor" in head.replace("tce factor", ""):
            named.discard("value")
        out |= named
    return out


def test_claims_reader_understands_the_phrasings():
    fields = {"tce_factor", "ncv", "carbon_content", "oxidation_rate"}
    assert claims("Carbon content and oxidation rate left empty: no row.", fields) == {
        "carbon_content", "oxidation_rate"}
    assert claims("Changed in v1.2: NCV and carbon content were empty. tce factor left "
                  "empty: recalled.", fields) == {"tce_factor"}
    assert claims("NCV was empty before (2013 editions give 24.5 GJ/t).", fields) == set()
    assert claims("tce factor (v1.3) is computed, not looked up: 1.7572.", fields) == set()


@pytest.mark.parametrize("row", load_energy_types(), ids=lambda e: e.code)
def test_energy_type_notes_agree_with_their_row(row: EnergyType):
    fields = {"tce_factor", "ncv", "carbon_content", "oxidation_rate"}
    said_empty = claims(row.note, fields)
    filled = {f for f in said_empty if getattr(row, f) is not None}
    assert not filled, f"{row.code}: the note says {sorted(filled)} empty, the row has values"
    if row.category in ("coal", "oil", "gas", "other"):
        empty = {f for f in fields if getattr(row, f) is None}
        assert empty <= said_empty, (f"{row.code}: {sorted(empty - said_empty)} empty "
                                     "without a note saying why")


def test_factor_notes_agree_with_their_row():
    for f in load_factors():
        if "value" in claims(f.note, {"value"}):
            assert f.value is None, f"{f.id}: the note says the value is empty"


def test_lng_and_coke_oven_gas_tce_factors_are_explained_as_computed():
    rows = {e.code: e for e in load_energy_types()}
    for code in ("lng", "coke_oven_gas"):
        e = rows[code]
        assert e.tce_factor is not None and e.tce_source.startswith("计算值")
        assert "computed" in e.note and "left empty" not in e.note


def test_grading_schemes_cite_the_local_standard_in_force_without_claiming_its_values():
    for scheme in load_grading_schemes():
        if not scheme.id.startswith("zj_"):
            continue
        assert "DB33/T 1347—2023" in scheme.source and "2024-01-15" in scheme.source
        assert "未核实" in scheme.source     # the thresholds' agreement is not confirmed
        note = next(n for n in scheme.notes if "DB33/T 1347" in n)
        assert "to verify" in note and "NOT read" in note


def test_the_readme_describes_the_same_decisions():
    text = (Path(__file__).resolve().parents[2] / "app" / "refdata" /
            "README.md").read_text(encoding="utf-8")
    assert "DB33/T 1347—2023" in text and "v1.4" in text
