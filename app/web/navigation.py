"""Navigation by role: an entry shows when its endpoint exists and the user may use it.

Entries are grouped into a few menus (MENUS, below): a domain registers its entry with
`register(NavItem(...))` and adds the endpoint to the right group of MENUS here, the one place
that decides where an entry goes (tests/web/test_navigation.py fails for an entry that is in
no group; until placed, it shows under 更多 / More). A group with one visible entry is shown
as a plain link; the header draws each larger group as an accessible dropdown
(static/js/nav.js)."""

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


@dataclass(frozen=True)
class Menu:
    key: str
    label: str
    label_en: str
    endpoints: tuple[str, ...]


#: the top-level menus, in order, each with its entries in order. A new page: put its
#: endpoint in the group a user would look in (工作台: one's own work; 监测: data of regions,
#: industries and institutions, the public disclosures too; 数据与核算: entering and
#: accounting data; 交易: reduction projects and assets; 分析: analysis across enterprises;
#: 管理: administration). Eight top-level entries at most: the header is one row at 1280 px.
MENUS: list[Menu] = [
    Menu("home", "首页", "Home", ("web.index",)),
    Menu("work", "工作台", "My work",
         ("workflow.inbox", "cases.notifications_page", "verification.workspace",
          "onboarding.workspace", "research.requests_page", "workflow.designer")),
    Menu("data", "数据与核算", "Data & accounts",
         ("accounting.account_index", "energy.records", "pubinst.index", "exchange.batches",
          "documents.index", "consent.consents")),
    Menu("monitor", "监测", "Monitoring",
         ("monitoring.region", "monitoring.industry", "monitoring.enterprises",
          "monitoring.institutions", "pubinst.dashboard_page", "trading.region_monitoring",
          "monitoring.public_institutions", "pubinst.public_list", "monitoring.countries")),
    Menu("factors", "因子", "Factors", ("factors.index",)),
    Menu("analysis", "分析", "Analysis",
         ("analytics.forecast", "analytics.flags", "analytics.potential")),
    Menu("trading", "交易", "Trading", ("trading.projects", "trading.serial_check")),
    Menu("admin", "管理", "Administration", ("admin.index", "onboarding.review_list")),
]
#: where an entry that is in no group shows (see the module docstring)
MORE = Menu("more", "更多", "More", ())


#: endpoint -> fn(user) -> int: a count shown as a badge beside that entry (0: none)
BADGES: dict[str, Callable[[Any], int]] = {}


def register(item: NavItem, badge: Callable[[Any], int] | None = None) -> None:
    if item not in NAV:
        NAV.append(item)
    if badge is not None:
        BADGES[item.endpoint] = badge


def _badge(endpoint: str, user: Any) -> int:
    fn = BADGES.get(endpoint)
    if fn is None or not user.is_authenticated:
        return 0
    try:
        return int(fn(user) or 0)
    except Exception:  # a badge must never break a page
        current_app.logger.exception("navigation badge %s failed", endpoint)
        return 0


def visible_items() -> list[dict]:
    from flask_babel import get_locale

    english = str(get_locale()) == "en"
    user = current_user._get_current_object()  # once, not through the proxy per entry
    signed_in = user.is_authenticated
    views = current_app.view_functions
    out = []
    for item in NAV:
        if item.endpoint not in views:
            continue
        if item.permission != "public":
            if not signed_in:
                continue
            if item.permission and not user.has_permission(item.permission):
                continue
        out.append({"url": url_for(item.endpoint), "endpoint": item.endpoint,
                    "label": item.label_en if english else item.label,
                    "badge": _badge(item.endpoint, user)})
    return out


def menus() -> list[dict]:
    """The visible entries grouped as MENUS says: [{"key", "label", "items", "badge",
    "active"}]; empty groups left out, entries in no group under MORE."""
    from flask import request
    from flask_babel import get_locale

    english = str(get_locale()) == "en"
    items = {i["endpoint"]: i for i in visible_items()}
    placed = {e for m in MENUS for e in m.endpoints}
    more = Menu(MORE.key, MORE.label, MORE.label_en,
                tuple(e for e in items if e not in placed))
    out = []
    for menu in [*MENUS, more]:
        entries = [items[e] for e in menu.endpoints if e in items]
        if not entries:
            continue
        for entry in entries:
            entry["active"] = request.endpoint == entry["endpoint"] or (
                entry["endpoint"] == "admin.index" and request.path.startswith("/admin"))
        out.append({"key": menu.key, "label": menu.label_en if english else menu.label,
                    "items": entries, "badge": sum(e["badge"] for e in entries),
                    "active": any(e["active"] for e in entries)})
    return out


def translate(text: str) -> str:
    """Data-driven text (labels, units, names with an English form) in the page's language,
    without %-formatting it (app.i18n.translate)."""
    from app.i18n import translate as _translate

    return _translate(text) if text else text


def context() -> dict:
    from flask_babel import get_locale

    return {"nav_items": visible_items, "nav_menus": menus,
            "current_locale": lambda: str(get_locale()),
            "t": translate}
