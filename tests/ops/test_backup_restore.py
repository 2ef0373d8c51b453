"""The documented backup and restore procedure, end to end once (docs/operations.md):
scripts/backup.sh dumps a database and its keys, scripts/restore.sh restores them into a
new database; the restored platform reads encrypted fields and its audit chain verifies."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.conftest import CI, PG_ADMIN_URL, _drop_pg_database, _pg_available

ROOT = Path(__file__).resolve().parents[2]
KEYS = {
    "CECP_SECRET_KEY": "restore-secret-" + "a" * 40,
    "CECP_MASTER_KEY": "ffeeddccbbaa99887766554433221100",
    "CECP_PASSWORD_SALT": "restore-salt-0123456789",
    "CECP_TOTP_SECRET": "restore-totp-" + "b" * 40,
}

WRITE = """
from app import create_app
from app.extensions import db
from app.orgs.models import Enterprise
from app.audit import service as audit
from app.refdata.uscc import make_uscc
app = create_app()
with app.app_context():
    db.create_all()
    from app.orgs.reference import load_reference
    load_reference()
    e = Enterprise(uscc=make_uscc("91330500MA2B00007"), name="备份测试企业", region_code="330500",
                   industry_code="3011", scale="规上")
    e.contact_phone = "13912345678"
    db.session.add(e)
    audit.record("backup.test", object_type="enterprise", object_id=e.uscc, email="ops@t.cecp")
    db.session.commit()
"""
READ = """
from app import create_app
from app.extensions import db
from app.orgs.models import Enterprise
from sqlalchemy import select
app = create_app()
with app.app_context():
    e = db.session.scalar(select(Enterprise).where(Enterprise.name == "备份测试企业"))
    print("PHONE", e.contact_phone)
"""


def _run(code: str, env: dict) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_backup_and_restore_end_to_end(tmp_path):
    if not _pg_available():
        if CI:
            pytest.fail("CI=true: PostgreSQL is required")
        pytest.skip("PostgreSQL not reachable")
    for tool in ("pg_dump", "pg_restore"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} missing (postgresql-client)") if CI else pytest.skip(tool)
    tag = uuid.uuid4().hex[:8]
    src, dst = f"cecp_test_ops_bk_{tag}", f"cecp_test_ops_rs_{tag}"
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{src}"')
        conn.execute(f'CREATE DATABASE "{dst}"')
    try:
        keydir = tmp_path / "node-keys"
        keydir.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CECP_")}
        for var, value in KEYS.items():  # the nodes hold their keys in files
            (keydir / var).write_text(value + "\n")
            env[f"{var}_FILE"] = str(keydir / var)
        env["CECP_INSTANCE_PATH"] = str(tmp_path / "instance")
        env["CECP_DATABASE_URL"] = f"{base}/{src}".replace(
            "postgresql://", "postgresql+psycopg://", 1
        )
        _run(WRITE, env)
        backup = tmp_path / "backup"
        out = subprocess.run(
            [str(ROOT / "scripts" / "backup.sh"), str(backup)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        assert (backup / "cecp.dump").stat().st_size > 0
        assert (backup / "keys" / "CECP_MASTER_KEY").stat().st_mode & 0o077 == 0
        shutil.rmtree(keydir)  # the node is gone: only the backup remains
        renv = {k: v for k, v in env.items() if not k.startswith("CECP_")}
        renv["CECP_INSTANCE_PATH"] = str(tmp_path / "instance2")
        renv["CECP_BIN"] = str(Path(sys.executable).parent / "cecp")
        out = subprocess.run(
            [str(ROOT / "scripts" / "restore.sh"), str(backup), f"{base}/{dst}"],
            cwd=ROOT,
            env=renv,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        assert "verifies" in out.stdout
        for var in KEYS:
            renv[f"{var}_FILE"] = str(backup / "keys" / var)
        renv["CECP_DATABASE_URL"] = f"{base}/{dst}".replace(
            "postgresql://", "postgresql+psycopg://", 1
        )
        assert "PHONE 13912345678" in _run(READ, renv)
        # a restore without the right master key cannot read the fields
        (backup / "keys" / "CECP_MASTER_KEY").write_text("0" * 32)
        bad = subprocess.run(
            [sys.executable, "-c", READ],
            cwd=ROOT,
            env=renv,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert "PHONE 13912345678" not in bad.stdout
    finally:
        _drop_pg_database(src)
        _drop_pg_database(dst)
