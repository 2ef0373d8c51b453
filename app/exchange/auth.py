"""`X-API-Key` as one more way to present Flask-Security's "token" mechanism.

The key is resolved inside Flask-Login's request loader, so `@auth_required("token", ...)`,
`permissions_accepted` and `current_scope()` treat a machine client like any token holder:
no endpoint needs to know that machines exist.
"""

from __future__ import annotations

from flask import Flask, g, request
from flask_security.utils import get_request_attr, set_request_attr

HEADER = "X-API-Key"


def init_app(app: Flask) -> None:
    lm = app.login_manager
    if getattr(lm, "_cecp_api_key", False):
        return
    original = lm._request_callback

    def loader(req):
        key = req.headers.get(HEADER)
        if key is None:
            return original(req) if original else None
        if get_request_attr("fs_authn_via") == "token":
            return g._login_user
        from app.exchange import clients

        user = clients.authenticate(key.strip())
        if user is None:
            _refused()
            return None
        set_request_attr("fs_authn_via", "token")
        g.cecp_token_auth = True
        g.cecp_machine = True
        return user

    lm.request_loader(loader)
    lm._cecp_api_key = True


def _refused() -> None:
    """A wrong or revoked key is audited (and committed: the 401 rolls back the request)."""
    if g.get("cecp_key_refused"):
        return
    g.cecp_key_refused = True
    from app.audit import service as audit
    from app.extensions import db

    audit.record("machine_client.auth_failure", object_type="machine_client",
                 summary={"path": request.path, "ip": request.remote_addr})
    db.session.commit()
