"""Production serving: static files under content-hashed names with a year's cache
lifetime (WhiteNoise in front of the application), plain names with a short one."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path


def test_hashed_static_urls_are_cached_for_a_year(client, app):
    page = client.get("/auth/login").get_data(as_text=True)
    css = re.search(r"/static/css/cecp\.([0-9a-f]{12})\.css", page)
    assert css, "the layout links the content-hashed stylesheet"
    source = Path(app.static_folder, "css", "cecp.css").read_bytes()
    assert css.group(1) == hashlib.sha256(source).hexdigest()[:12]
    r = client.get(css.group(0))
    assert r.status_code == 200 and r.data == source
    assert "max-age=31536000" in r.headers["Cache-Control"]
    assert "immutable" in r.headers["Cache-Control"]
    plain = client.get("/static/css/cecp.css")
    assert plain.status_code == 200 and plain.data == source
    assert "immutable" not in plain.headers["Cache-Control"]
    assert client.get("/static/css/cecp.000000000000.css").status_code == 404
