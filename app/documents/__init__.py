"""The document store (R-6.2.2): every generated document (accounting reports, verification
statements, certificates) with its PDF, SM3 / SHA-256 digests and SM2 signatures, verifiable
on a public page, through the API and with plain OpenSSL. See docs/documents.md."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from app.documents import api, jobs, views  # noqa: F401 - jobs register themselves
    from app.extensions import api as smorest
    from app.web.navigation import NavItem
    from app.web.navigation import register as nav

    app.register_blueprint(views.bp)
    smorest.register_blueprint(api.blp)
    nav(NavItem("documents.index", "签名文档", "Documents", "enterprise.read"))
