"""With PostgreSQL the platform never generates secrets (issue 11, point 5): it refuses to
start and names each variable or key file to set; the embedded default still generates."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import SECRETS, ConfigError, build_config

ROOT = Path(__file__).resolve().parents[2]
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/cecp_never_used"
VARS = [var for _key, var, _file, _n in SECRETS]


@pytest.fixture()
def no_secrets(monkeypatch):
    for var in VARS:
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(f"{var}_FILE", raising=False)
    monkeypatch.delenv("CECP_DATABASE_URL", raising=False)


def test_postgresql_without_secrets_is_refused_naming_each_variable(no_secrets, tmp_path):
    with pytest.raises(ConfigError) as caught:
        build_config(str(tmp_path), {"SQLALCHEMY_DATABASE_URI": PG})
    for var in VARS:
        assert f"{var} (或 {var}_FILE" in str(caught.value)
    assert list(tmp_path.iterdir()) == []  # nothing generated


def test_postgresql_names_only_what_is_missing(no_secrets, monkeypatch, tmp_path):
    key_file = tmp_path / "master.hex"
    key_file.write_text("00112233445566778899aabbccddeeff\n")
    monkeypatch.setenv("CECP_MASTER_KEY_FILE", str(key_file))
    monkeypatch.setenv("CECP_SECRET_KEY", "s" * 64)
    monkeypatch.setenv("CECP_DATABASE_URL", PG)
    with pytest.raises(ConfigError) as caught:
        build_config(str(tmp_path / "instance"))
    message = str(caught.value)
    assert "CECP_PASSWORD_SALT" in message and "CECP_TOTP_SECRET" in message
    assert "CECP_MASTER_KEY" not in message and "CECP_SECRET_KEY" not in message
    monkeypatch.setenv("CECP_PASSWORD_SALT", "salt" * 8)
    monkeypatch.setenv("CECP_TOTP_SECRET", "t" * 64)
    cfg = build_config(str(tmp_path / "instance"))
    assert cfg["CECP_MASTER_KEY"] == "00112233445566778899aabbccddeeff"  # from the key file
    assert cfg["SECURITY_TOTP_SECRETS"] == {"1": "t" * 64}
    assert not (tmp_path / "instance").exists()


def test_an_unreadable_key_file_is_named(no_secrets, monkeypatch, tmp_path):
    monkeypatch.setenv("CECP_MASTER_KEY_FILE", str(tmp_path / "missing.key"))
    with pytest.raises(ConfigError, match="CECP_MASTER_KEY_FILE=.*missing.key"):
        build_config(str(tmp_path), {"SQLALCHEMY_DATABASE_URI": PG})


def test_the_embedded_default_still_generates_and_keeps_its_secrets(no_secrets, tmp_path):
    first = build_config(str(tmp_path))
    assert first["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    assert len(bytes.fromhex(first["CECP_MASTER_KEY"])) == 16
    again = build_config(str(tmp_path))
    assert (again["SECRET_KEY"], again["CECP_MASTER_KEY"]) == (
        first["SECRET_KEY"], first["CECP_MASTER_KEY"])
    assert {"secret_key", "master.key", "password_salt", "totp_secret"} <= {
        p.name for p in tmp_path.iterdir()}


def test_the_cli_refuses_with_a_message_and_a_nonzero_status(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CECP_")}
    env.update(CECP_DATABASE_URL=PG, CECP_INSTANCE_PATH=str(tmp_path), PYTHONPATH=str(ROOT))
    result = subprocess.run([str(Path(sys.executable).parent / "cecp"), "audit", "verify"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 78
    assert "CECP_SECRET_KEY" in result.stderr and "CECP_MASTER_KEY" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []
