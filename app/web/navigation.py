"""Navigation by role: an entry shows when its endpoint exists and the user may use it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app, url_for
from flask_security import current_user


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    label_en: str
    permission: str | None = None  # None: any logged-in user; "public": everyone


NAV: list[NavItem] = [
    NavItem("web.index", "首页", "Home", "public"),
    NavItem("accounting.account_index", "碳账户", "Carbon account", "enterprise.read"),
    NavItem("energy.records", "能耗填报", "Energy data", "energy.write"),
    NavItem("monitoring.region", "区域监测", "Regions", "monitor.read"),
    NavItem("monitoring.industry", "行业监测", "Industries", "monitor.read"),
    NavItem("monitoring.enterprises", "企业监测", "Enterprises", "monitor.read"),
    NavItem("workflow.inbox", "待办", "Inbox", None),
    NavItem("workflow.designer", "流程设计", "Designer", "designer.edit"),
    NavItem("cases.notifications_page", "消息", "Messages", None),
    NavItem("monitoring.countries", "国家对比", "Countries", "public"),
    NavItem("monitoring.public_institutions", "公共机构公示", "Public disclosure", "public"),
    NavItem("admin.index", "系统管理", "Administration", "admin.access"),
]


#: endpoint -> fn(user) -> int: a count shown as a badge beside that entry (0: none)
BADGES: dict[str, Callable[[Any], int]] = {}


def register(item: NavItem, badge: Callable[[Any], int] | None = None) -> None:
    if item not in NAV:
        NAV.append(item)
    if badge is not None:
        BADGES[item.endpoint] = badge


def _badge(endpoint: str) -> int:
    fn = BADGES.get(endpoint)
    if fn is None or not current_user.is_authenticated:
        return 0
    try:
        return int(fn(current_user) or 0)
    except Exception:  # a badge must never break a page
        current_app.logger.exception("navigation badge %s failed", endpoint)
        return 0


def visible_items() -> list[dict]:
    from flask_babel import get_locale

    english = str(get_locale()) == "en"
    out = []
    for item in NAV:
        if item.endpoint not in current_app.view_functions:
            continue
        if item.permission != "public":
            if not current_user.is_authenticated:
                continue
            if item.permission and not current_user.has_permission(item.permission):
                continue
        out.append({"url": url_for(item.endpoint), "endpoint": item.endpoint,
                    "label": item.label_en if english else item.label,
                    "badge": _badge(item.endpoint)})
    return out


def translate(text: str) -> str:
    """Translate data-driven text (labels, units) without %-formatting it."""
    from flask_babel import get_translations

    return get_translations().gettext(text) if text else text


def context() -> dict:
    from flask_babel import get_locale

    return {"nav_items": visible_items, "current_locale": lambda: str(get_locale()),
            "t": translate}
