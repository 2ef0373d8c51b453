"""统一社会信用代码 validation (GB 32100-2015) and carbon-efficiency grading."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.refdata import load_grading_schemes, make_uscc, validate_uscc
from app.refdata.uscc import check_character, is_valid_uscc, org_code_valid

# Published codes of large enterprises; their check characters (and the embedded GB 11714
# organisation codes) verify, so they are real-world positives, not made-up data.
REAL_CODES = [
    "914403001922038216",  # 华为技术有限公司
    "9144030071526726XG",  # 腾讯科技（深圳）有限公司
    "91330100799655058B",  # 阿里巴巴（中国）有限公司
    "91110000710926094P",  # 中国石油化工股份有限公司
    "91110108551385082Q",  # 小米科技有限责任公司
    "91350100M000100Y43",  # 福州 example code with an 'M…' body
]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_validate(code: str) -> None:
    assert validate_uscc(code) == code
    assert validate_uscc(code, check_org_code=True) == code
    assert org_code_valid(code[8:17])


def test_normalisation() -> None:
    assert validate_uscc(" 9144030071526726xg ") == "9144030071526726XG"
    assert (
        validate_uscc("９１４４０３００１９２２０３８２１６") == "914403001922038216"
    )  # full-width digits


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("914403001922038217", "统一社会信用代码校验位错误"),
        ("91440300192203821", "统一社会信用代码长度应为18位"),
        ("9144030019220382166", "统一社会信用代码长度应为18位"),
        ("91440300I92203821X", "非法字符"),
        ("91440300192203821O", "非法字符"),
        ("9144A3001922038216", "行政区划码"),
        ("", "不能为空"),
    ],
)
def test_bad_codes_rejected(code: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_uscc(code)
    assert not is_valid_uscc(code)


def test_every_single_character_error_is_caught() -> None:
    code = REAL_CODES[0]
    for pos in range(18):
        for ch in "0123456789ABCDEFGHJKLMNPQRTUWXY":
            if ch == code[pos] or (2 <= pos < 8 and not ch.isdigit()):
                continue
            assert not is_valid_uscc(code[:pos] + ch + code[pos + 1 :]), (pos, ch)


def test_make_uscc_roundtrip() -> None:
    assert make_uscc("91330500MA2B00000") == "91330500MA2B00000" + check_character(
        "91330500MA2B00000"
    )
    for code in REAL_CODES:
        assert make_uscc(code[:17]) == code
    with pytest.raises(ValueError, match="前17位长度应为17位"):
        make_uscc("9133")
    with pytest.raises(ValueError, match="check|校验|非法"):
        make_uscc("91330500MA2B0000Z")


def test_check_character_31_maps_to_zero() -> None:
    # Search a body whose weighted sum is a multiple of 31: its check character must be '0'.
    for n in range(100000):
        body = f"9133050{n:010d}"
        if check_character(body) == "0":
            assert validate_uscc(body + "0")
            break
    else:
        raise AssertionError("no body with check character 0 found")


@pytest.mark.parametrize(
    ("k", "label"),
    [
        ("0", "一级"),
        ("0.6", "一级"),
        ("0.6001", "二级"),
        ("0.8", "二级"),
        ("1.2", "三级"),
        ("1.21", "四级"),
        ("2.0", "四级"),
        ("2.01", "五级"),
        ("15", "五级"),
    ],
)
def test_k_grades(k: str, label: str) -> None:
    scheme = {s.id: s for s in load_grading_schemes()}["zj_carbon_efficiency_k"]
    assert scheme.grade(Decimal(k)).label == label


@pytest.mark.parametrize(
    ("intensity", "label"), [("0.6", "低碳"), ("0.61", "中碳"), ("2.0", "中碳"), ("2.5", "高碳")]
)
def test_intensity_tiers(intensity: str, label: str) -> None:
    scheme = {s.id: s for s in load_grading_schemes()}["zj_carbon_intensity_tiers"]
    assert scheme.grade(Decimal(intensity)).label == label


def test_grade_refuses_float_and_negative() -> None:
    scheme = load_grading_schemes()[0]
    with pytest.raises(TypeError):
        scheme.grade(0.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        scheme.grade(Decimal("-0.1"))
    assert scheme.grade(1).grade == 3
