"""flask-smorest pagination over a SQLAlchemy select (count + offset/limit in SQL)."""

from __future__ import annotations

from flask_smorest import Page
from sqlalchemy import func, select

from app.extensions import db


class SqlPage(Page):
    @property
    def items(self):
        first = self.page_params.first_item
        size = self.page_params.page_size
        return db.session.scalars(self.collection.offset(first).limit(size)).all()

    @property
    def item_count(self) -> int:
        inner = self.collection.order_by(None).subquery()
        return db.session.scalar(select(func.count()).select_from(inner)) or 0
