"""GET /api/v1/enterprises and /api/v1/enterprises/{uscc}, within the caller's scope."""

from __future__ import annotations

from flask_security import auth_required
from flask_smorest import Blueprint

from app.api.pagination import SqlPage
from app.identity.scope import get_scoped_or_404
from app.orgs import service
from app.orgs.models import Enterprise
from app.orgs.schemas import EnterpriseQuerySchema, EnterpriseSchema

blp = Blueprint("orgs_api", __name__, url_prefix="/api/v1", description="企业 Enterprises")


@blp.route("/enterprises")
@auth_required("token", "session")
@blp.arguments(EnterpriseQuerySchema, location="query", as_kwargs=True)
@blp.response(200, EnterpriseSchema(many=True))
@blp.paginate(SqlPage)
def list_enterprises(q=None, region=None, industry=None):
    """Enterprises within the caller's data scope."""
    return service.enterprises_query(q=q, region=region, industry=industry)


@blp.route("/enterprises/<string:uscc>")
@auth_required("token", "session")
@blp.response(200, EnterpriseSchema)
def get_enterprise(uscc):
    """One enterprise; 404 when it is outside the caller's scope."""
    return get_scoped_or_404(Enterprise, uscc, by="uscc")
