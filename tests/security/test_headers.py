"""Issue 16: security headers, CSP nonces, no-store, body limit on a live socket, no server
banner (gunicorn), downloads typed by the platform, exports without formulas."""

import io
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import login

ROOT = Path(__file__).resolve().parents[2]


def test_pages_and_api_carry_the_security_headers(client, make_user):
    user = make_user("enterprise")
    login(client, user)
    for path in ("/", "/profile", "/api/v1/health", "/auth/login"):
        r = client.get(path)
        csp = r.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "same-origin"
        assert r.headers["Cache-Control"] == "no-store", path
    static = client.get("/static/favicon.svg")
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")


def test_inline_scripts_carry_the_nonce_of_the_header(client, make_user):
    user = make_user("admin")
    from tests.conftest import enrol_totp

    enrol_totp(user)
    login(client, user)
    r = client.get("/admin/")
    nonce = re.search(r"'nonce-([^']+)'", r.headers["Content-Security-Policy"]).group(1)
    html = r.get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all(f'nonce="{nonce}"' in attrs for attrs in scripts)
    assert not re.search(r"\son[a-z]+=\"", html.replace("data-cecp-onclick", ""))
    # another request, another nonce
    assert nonce not in client.get("/admin/").headers["Content-Security-Policy"]


def test_templates_have_no_inline_script_without_nonce_nor_handlers():
    bad = []
    for path in (ROOT / "app" / "templates").rglob("*.html"):
        text = path.read_text()
        for m in re.finditer(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)([^>]*)>", text):
            if "nonce" not in m.group(1):
                bad.append(f"{path.name}: <script{m.group(1)}>")
        if re.search(r"\son(click|change|submit|load|input)=", text) or "javascript:" in text:
            bad.append(f"{path.name}: inline handler")
    assert bad == []


def _serve(app, port):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _raw(port, request: bytes, timeout=10) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except TimeoutError:
            pass
        return data


def test_body_limit_is_checked_before_the_body_is_read(app, db):
    """A huge Content-Length is refused at once, without sending (or reading) the body."""
    server = _serve(app, 16011)
    try:
        started = time.monotonic()
        head = _raw(
            16011,
            b"POST /api/v1/auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\n"
            b'Content-Length: 5000000000\r\n\r\n{"email":',
        )
        assert head.startswith(b"HTTP/1.1 413"), head[:200]
        assert time.monotonic() - started < 5  # answered, not waiting for 5 GB
        assert b"Server: cecp" in head or b"Server:" not in head
        assert b"Werkzeug" not in head and b"Python/" not in head
        small = _raw(
            16011, b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        assert small.startswith(b"HTTP/1.1 200") or small.startswith(b"HTTP/1.1 503")
    finally:
        server.shutdown()


def test_gunicorn_names_no_server_and_version(database_url, tmp_path):
    env = dict(
        os.environ,
        CECP_DATABASE_URL=database_url.replace("+psycopg", "+psycopg")
        if database_url.startswith("postgresql")
        else database_url,
        CECP_INSTANCE_PATH=str(tmp_path),
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "1",
            "--bind",
            "127.0.0.1:16012",
            "app.wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        head = b""
        for _ in range(120):
            try:
                head = _raw(
                    16012,
                    b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                )
                if head:
                    break
            except OSError:
                time.sleep(0.25)
        assert head.startswith(b"HTTP/1.1"), head
        assert b"gunicorn" not in head.lower()
        assert b"Content-Security-Policy" in head
    finally:
        proc.terminate()
        proc.wait(10)


def test_exports_neutralise_formula_cells():
    from openpyxl import load_workbook

    from app.monitoring import export
    from app.monitoring.datasets import Column, Dataset

    ds = Dataset(
        id="x",
        title="t",
        columns=[Column("n", "名称", kind="text"), Column("v", "数值", "t")],
        rows=[
            ['=HYPERLINK("http://evil","x")', -5],
            ["@SUM(A1)", 3],
            ["+1", 1],
            ["-cmd|' /C calc'!A0", 2],
            ["普通企业", 4],
        ],
    )
    text = export.to_csv(ds).decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'@SUM" in text and "'+1" in text and "'-cmd" in text
    assert "\r\n普通企业,4" in text and ",-5\r\n" in text  # numbers stay numbers
    ws = load_workbook(io.BytesIO(export.to_xlsx(ds))).active
    values = [row[0] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert all(not str(v).startswith(("=", "@", "+", "-")) for v in values)
    assert [row[1] for row in ws.iter_rows(min_row=2, values_only=True)][0] == -5


def test_audit_csv_export_neutralises_formulas(client, make_user, db):
    from app.audit import service as audit

    admin = make_user("admin")
    from tests.conftest import enrol_totp

    enrol_totp(admin)
    audit.record("test.formula", object_type="=cmd|'/C calc'!A0", object_id="@x")
    db.session.commit()
    login(client, admin)
    r = client.get("/admin/audit_search/?format=csv&action=test.formula")
    text = r.get_data(as_text=True)
    assert r.status_code == 200 and "'=cmd" in text and "'@x" in text
