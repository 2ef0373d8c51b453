"""Static files with content hashes and long cache lifetimes (R-8.1b, production serving).

`url_for('static', filename='css/cecp.css')` yields `/static/css/cecp.<hash12>.css`, the
hash being the first 12 hex digits of the file's SHA-256. WhiteNoise serves those URLs from
the worker process (no Flask request, no session, no database) with
`Cache-Control: max-age=<CECP_STATIC_MAX_AGE>, public, immutable`: a browser fetches a file
once per content version and never revalidates it. The plain URL still works, with a short
lifetime (ten minutes), for files that reference each other by relative path (the vendored
Swagger UI, bpmn-js fonts). A new release changes the hashes, so nobody sees stale assets.

The manifest is built once per process at start-up (tens of milliseconds for app/static).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from flask import Flask
from whitenoise import WhiteNoise

HASHED = re.compile(r"\.[0-9a-f]{12}(\.[^./]+)?$")
SHORT_MAX_AGE = 600


def hashed_name(name: str, digest: str) -> str:
    stem, dot, ext = name.rpartition(".")
    if not dot or "/" in ext:
        return f"{name}.{digest}"
    return f"{stem}.{digest}.{ext}"


def build_manifest(root: Path) -> dict[str, str]:
    """{relative name: hashed relative name} for every file under `root`."""
    manifest: dict[str, str] = {}
    for dirpath, _dirs, files in os.walk(root):
        for fname in files:
            path = Path(dirpath) / fname
            rel = path.relative_to(root).as_posix()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            manifest[rel] = hashed_name(rel, digest)
    return manifest


def init_app(app: Flask) -> None:
    root = Path(app.static_folder or "")
    if not root.is_dir():
        return
    manifest = build_manifest(root)
    long_age = int(app.config.get("CECP_STATIC_MAX_AGE") or 0)
    prefix = (app.static_url_path or "/static").strip("/") + "/"
    hashed_urls = {f"/{prefix}{h}" for h in manifest.values()}

    class Served(WhiteNoise):
        FOREVER = long_age

    served = Served(
        app.wsgi_app,
        max_age=SHORT_MAX_AGE,
        immutable_file_test=lambda path, url: url in hashed_urls,
    )
    served.add_files(str(root), prefix=prefix)
    for rel, hashed in manifest.items():
        served.add_file_to_dictionary(f"/{prefix}{hashed}", str(root / rel))
    app.wsgi_app = served
    app.extensions["cecp_static_manifest"] = manifest

    @app.url_defaults
    def _hashed_static(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values:
            values["filename"] = manifest.get(values["filename"], values["filename"])
