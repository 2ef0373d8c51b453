"""Reference organisations; everything else hangs off these and their scope rules."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.crypto.fields import EncryptedField
from app.db import TimestampMixin, UidMixin
from app.extensions import db
from app.identity.scope import ScopeRule


class Region(db.Model):
    """GB/T 2260 administrative division."""

    __tablename__ = "region"
    __scope__ = ScopeRule(region="code", target_key="code")
    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    name_en: Mapped[str | None] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(10), nullable=False)  # province|city|county
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Industry(db.Model):
    """GB/T 4754-2017 section / division / group / class."""

    __tablename__ = "industry"
    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    name_en: Mapped[str | None] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(10), nullable=False)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("industry.code"), index=True)
    sector: Mapped[str | None] = mapped_column(String(30), index=True)

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Enterprise(db.Model, UidMixin, TimestampMixin):
    __tablename__ = "enterprise"
    __scope__ = ScopeRule(region="region_code", enterprise="uscc")
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    industry_code: Mapped[str | None] = mapped_column(ForeignKey("industry.code"), index=True)
    scale: Mapped[str | None] = mapped_column(String(20))  # 规上 / 规下 ...
    key_emitter: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    address: Mapped[str | None] = mapped_column(String(300))
    contact_name_enc: Mapped[str | None] = mapped_column(Text)
    contact_phone_enc: Mapped[str | None] = mapped_column(Text)
    contact_phone_bidx: Mapped[str | None] = mapped_column(String(32), index=True)
    legal_id_number_enc: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)

    region: Mapped[Region] = relationship()
    industry: Mapped[Industry | None] = relationship()

    contact_name = EncryptedField("contact_name_enc")
    contact_phone = EncryptedField("contact_phone_enc", index="contact_phone_bidx")
    legal_id_number = EncryptedField("legal_id_number_enc")

    def __str__(self) -> str:
        return self.name


class Institution(db.Model, UidMixin, TimestampMixin):
    """Public institutions (事业单位) and onboarded research institutes / exchanges."""

    __tablename__ = "institution"
    __scope__ = ScopeRule(region="region_code", institution="code")
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(18), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # public|research|exchange
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    base_year: Mapped[int | None] = mapped_column(Integer)
    published: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    contact_phone_enc: Mapped[str | None] = mapped_column(Text)
    onboarded_on: Mapped[date | None] = mapped_column(Date)

    region: Mapped[Region] = relationship()
    contact_phone = EncryptedField("contact_phone_enc")

    def __str__(self) -> str:
        return self.name


class VerificationBody(db.Model, UidMixin, TimestampMixin):
    """Third-party verification institution (核查机构)."""

    __tablename__ = "verification_body"
    __scope__ = ScopeRule(region="region_code", verification_body="code")
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(18), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    accreditation: Mapped[str | None] = mapped_column(String(100))
    # 认可范围: GB/T 4754 industry code prefixes, comma separated ("" = none, "*" = all);
    # an assignment outside it, or after `accredited_until`, is refused
    accreditation_scope: Mapped[str | None] = mapped_column(String(300))
    accredited_until: Mapped[date | None] = mapped_column(Date)
    contact_phone_enc: Mapped[str | None] = mapped_column(Text)
    contact_phone = EncryptedField("contact_phone_enc")

    def __str__(self) -> str:
        return self.name
