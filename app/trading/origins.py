"""The texts a quantification writes into a monitoring report's derivation (where each
parameter came from, the fixed terms). The derivation is stored with the report in Chinese,
as computed; a page in English shows it translated by matching these msgids
(app.i18n.translate_known), so quantify and methodologies write those texts only through
them."""

from __future__ import annotations

from typing import Any

from app.i18n import known, translate_known

ONGRID = "计量表 %(meter)s 上网电量，%(start)s 至 %(end)s 共 %(n)s 个月月度汇总之和"
PROJECT_TYPE = "项目类型：%(type)s"
GIVEN = "申请人给出，来源：%(source)s"
GRID = "%(grid)s %(year)s 年，%(source)s"
WEIGHTS = "按技术类型 %(tech)s 的默认权重（TOOL07 / CM-001-V02）"
DEFAULT_ZERO = "未给出，按方法学取 0"
REQUESTED = "请求给出"
NO_LEAKAGE = "LE = 0（方法学规定不计泄漏）"
#: the demo's grid factors are labelled as what they are (app.trading.demo)
DEMO_SOURCE = "示范值（非生态环境部公布的区域电网基准线排放因子）"

#: GRID is too general to be recognised on every page (a factor source could read like it):
#: only the derivation's own cells use it (derivation_text)
PATTERNS = known(ONGRID, PROJECT_TYPE, GIVEN, WEIGHTS, DEFAULT_ZERO, REQUESTED, NO_LEAKAGE,
                 DEMO_SOURCE) + (GRID,)


def derivation_text(text: Any) -> Any:
    """A stored origin or formula in the reader's language."""
    return translate_known(text, PATTERNS)
