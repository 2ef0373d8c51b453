"""Document-store fixtures: a small real PDF, enterprises in two cities, OpenSSL."""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest


def tiny_pdf(text: str = "cecp document") -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1)
    c.drawString(72, 720, text)
    c.showPage()
    c.save()
    return buf.getvalue()


@pytest.fixture(scope="session")
def openssl():
    exe = shutil.which("openssl")
    if exe is None:
        pytest.skip("openssl CLI not installed")

    def run(*args: str, check: bool = False):
        return subprocess.run([exe, *args], capture_output=True, check=check, timeout=60)

    return run


@pytest.fixture()
def two_enterprises(reference):
    from app.orgs.models import Enterprise
    from app.refdata.uscc import make_uscc

    db = reference
    a = Enterprise(
        uscc=make_uscc("91330500MA3DC0001"),
        name="甲水泥有限公司",
        region_code="330500",
        industry_code="3011",
    )
    b = Enterprise(
        uscc=make_uscc("91330100MA3DC0002"),
        name="乙钢铁有限公司",
        region_code="330100",
        industry_code="3011",
    )
    db.session.add_all([a, b])
    db.session.commit()
    return a, b
