"""cecp: the Carbon Efficiency Code Platform (T/CEPPC 14-2023)."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from app.config import build_config

# Model modules, imported so that metadata, Alembic and the mappers see every table.
MODEL_MODULES = (
    "app.crypto.models",
    "app.identity.models",
    "app.orgs.models",
    "app.audit.models",
    "app.jobs.models",
    "app.platform.models",
)
# Optional domain packages: each registers itself when present (`register(app)`).
DOMAIN_PACKAGES = (
    "app.jobs", "app.energy", "app.accounting", "app.monitoring", "app.workflow", "app.cases",
    "app.verification",
    "app.factors", "app.trading", "app.onboarding", "app.institutions", "app.analytics",
    "app.exchange",
    "app.documents", "reports",
    "integrations",  # the exchange adapters (SOAP, files, intermediate databases)
)


def import_models() -> None:
    import importlib

    for name in MODEL_MODULES:
        importlib.import_module(name)
    for name in DOMAIN_PACKAGES:
        try:
            importlib.import_module(name + ".models")
        except ModuleNotFoundError as exc:
            if exc.name not in (name, name + ".models"):
                raise


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    instance = os.environ.get("CECP_INSTANCE_PATH") or os.path.join(os.getcwd(), "instance")
    app = Flask(__name__, instance_path=instance, instance_relative_config=True)
    app.config.update(build_config(app.instance_path, overrides))

    from app.extensions import babel, csrf, db, migrate

    import_models()
    db.init_app(app)
    from app import write_batch

    with app.app_context():  # deferred writes on this application's engine only
        write_batch.install(db.engine)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path),
                                                     "migrations"),
                     render_as_batch=True, compare_type=True)
    csrf.init_app(app)

    from app.i18n import compile_catalogs, finalize, select_locale

    compile_catalogs(os.path.join(app.root_path, "translations"))
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.finalize = finalize

    from app.identity.security import init_security

    init_security(app)

    from app import uow
    from app.api.setup import init_api
    from app.platform import init_platform
    from app.web import init_web

    uow.init_app(app)
    init_api(app)
    init_web(app)
    init_platform(app)

    from app.admin import init_admin

    init_admin(app)
    _register_domains(app)
    app.json.ensure_ascii = False  # after the extensions, which may replace the provider
    return app


def _register_domains(app: Flask) -> None:
    import importlib

    for name in DOMAIN_PACKAGES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        register = getattr(module, "register", None)
        if register is not None:
            register(app)
