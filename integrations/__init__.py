"""Exchange adapters (R-9): REST client/server, SOAP, bulk files and intermediate databases.

Bulk file importers register through app.importers and run from `cecp import KIND FILE`.
"""

from flask import Flask


def register(app: Flask) -> None:
    """Mount the adapters that have a web face (SOAP, file upload pages)."""
    from integrations import files_views, soap

    soap.init_app(app)
    files_views.init_app(app)
    from app.demo import DEMO_LOADERS
    from integrations import demo, jobs  # noqa: F401  (jobs register themselves)

    if demo.load not in DEMO_LOADERS:
        DEMO_LOADERS.append(demo.load)
