"""WSGI entry for production servers, one application per worker process:
``gunicorn --workers 4 'app.wsgi:app'`` (or any WSGI server)."""

import sys

from app import create_app
from app.config import ConfigError
from app.platform.serving import prepare_process

try:
    app = create_app()
except ConfigError as exc:  # say what to set, not a traceback
    print(f"配置错误 (configuration error): {exc}", file=sys.stderr)
    raise SystemExit(78) from exc
prepare_process(app)
