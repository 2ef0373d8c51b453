"""Crypto test helpers; `app` and `db` come from tests/conftest.py."""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest


@pytest.fixture(scope="session")
def openssl():
    """run(*args, input=None) -> CompletedProcess of the `openssl` CLI (3.x, with SM2)."""
    exe = shutil.which("openssl")
    if exe is None:
        pytest.skip("openssl CLI not installed")

    def run(*args: str, input: bytes | None = None, check: bool = True):
        return subprocess.run([exe, *args], input=input, capture_output=True,
                              check=check, timeout=60)

    return run


@pytest.fixture()
def make_enterprise(db):
    """make_enterprise(**encrypted fields) -> a flushed Enterprise in a fresh region."""
    from app.orgs.models import Enterprise, Region

    if db.session.get(Region, "330500") is None:
        db.session.add(Region(code="330500", name="湖州市", level="city"))
        db.session.flush()

    def _make(**values: str) -> Enterprise:
        ent = Enterprise(uscc=uuid.uuid4().hex[:18].upper(), name="测试企业",
                         region_code="330500")
        for key, value in values.items():
            setattr(ent, key, value)
        db.session.add(ent)
        db.session.flush()
        return ent

    return _make


@pytest.fixture()
def make_plain_user(db):
    """make_plain_user(**encrypted fields) -> a flushed User row (no roles, no password)."""
    from app.identity.models import User

    def _make(**values: str) -> User:
        user = User(email=f"u-{uuid.uuid4().hex[:8]}@t.cecp",
                    fs_uniquifier=uuid.uuid4().hex, active=True)
        for key, value in values.items():
            setattr(user, key, value)
        db.session.add(user)
        db.session.flush()
        return user

    return _make
