"""/api/v1 trading: methodologies and reduction calculation."""

from __future__ import annotations

from flask_security import auth_required
from flask_smorest import Blueprint

from app.api import api_error
from app.trading import methodologies
from app.trading.schemas import ReductionIn

blp = Blueprint("trading_api", __name__, url_prefix="/api/v1",
                description="减排项目与碳资产 Reduction projects and carbon assets")


@blp.route("/reductions/methodologies")
@auth_required("token", "session")
@blp.response(200)
def list_methodologies():
    """The methodologies (formula, parameters, monitoring plan, sources)."""
    return methodologies.list_all()


@blp.route("/reductions/calculate", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(ReductionIn)
@blp.response(200)
def calculate(body):
    """One monitoring period's reduction (nothing is stored): baseline, project, leakage and
    reduction in tCO2e as Decimal strings, with one derivation line per parameter and term."""
    try:
        return methodologies.calculate(body["methodology"], body["parameters"])
    except methodologies.MethodologyError as exc:
        return api_error(422, "数据校验失败：" + "、".join(sorted(exc.fields)),
                         fields=exc.fields)
