"""WSGI entry for production servers, one application per worker process:
``gunicorn --workers 4 'app.wsgi:app'`` (or any WSGI server)."""

from app import create_app
from app.platform.serving import prepare_process

app = create_app()
prepare_process(app)
