"""Template filters that make codes, numbers and times readable for people.

Names, not codes (roles, regions, industries, users, scopes, audit actions); numbers with
thousands separators and the decimals their unit deserves; times in Beijing time without
microseconds (the database stores naive UTC).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from markupsafe import Markup, escape
from sqlalchemy import select

from app.extensions import db
from app.identity.roles import ROLES, USER_CLASS_LABELS
from app.web import names_cache

BEIJING = ZoneInfo("Asia/Shanghai")

#: decimals shown for a unit (anything else: 2)
UNIT_DECIMALS = {
    "t": 2, "tCO2": 2, "tco2": 2, "tCO2e": 2, "万吨": 2, "万tCO2": 2, "tce": 2, "万tce": 2,
    "%": 1, "tCO2/万元": 3, "tCO2/万元增加值": 3, "tce/万元": 3, "tce/万元产值": 3,
    "kWh": 0, "MWh": 1, "万kWh": 2, "万元": 1, "家": 0, "个": 0, "条": 0, "件": 0,
    "Mt CO2": 1, "MtCO2": 1, "K": 3, "万吨CO2": 2, "万吨标准煤": 2, "％": 1,
}

USER_CLASS_EN = {"internal": "Internal", "government": "Government", "enterprise": "Enterprise",
                 "verifier": "Verifier", "institution": "Institution", "designer": "Designer"}

SCOPE_KINDS = {"region": "地区", "enterprise": "企业", "institution": "机构",
               "verification_body": "核查机构", "all": "全部", "process": "流程定义"}

AUDIT_ACTIONS = {
    "trading.settlement": "记录项目结算电量与电费", "trading.settlement.refused": "拒绝结算数据",
    "trading.report.create": "编制监测报告", "trading.report.recompute": "重新计算监测报告",
    "trading.report.refused": "拒绝编制监测报告",
    "login.success": "登录成功", "login.failure": "登录失败", "login.lockout": "账户锁定",
    "logout": "退出登录", "session.timeout": "会话超时", "password.change": "修改密码",
    "two_factor.change": "变更双因素认证", "permission.role_change": "变更角色",
    "permission.scope_change": "变更数据范围", "audit.export": "导出审计日志",
    "keys.rotate": "轮换数据密钥", "service.node_status": "变更节点状态",
    "notification.read": "消息标为已读", "admin.create": "管理后台新建",
    "admin.update": "管理后台修改", "admin.delete": "管理后台删除",
    "workflow.model.deploy": "发布流程模型", "workflow.instance.start": "发起流程",
    "workflow.task.complete": "办理任务", "workflow.attachment.add": "上传附件",
    "workflow.attachment.download": "下载附件", "monitoring.import_countries": "导入国家排放数据",
    "carbon_code.issue": "签发碳效码", "accounting.compute": "碳核算",
    "refdata.energy_load": "加载能源参考数据", "energy_record.create": "填报能耗数据",
}
_AUDIT_OBJECTS = {"user": "用户", "role": "角色", "energy_record": "能耗数据",
                  "workflow": "流程", "case": "案件", "report": "报告", "factor": "排放因子",
                  "enterprise": "企业", "account": "碳账户", "job": "后台任务"}
_AUDIT_VERBS = {"create": "新建", "update": "修改", "delete": "删除", "enable": "启用",
                "disable": "停用", "refused": "拒绝", "refuse": "拒绝", "read": "读取",
                "export": "导出", "import": "导入", "start": "发起", "complete": "完成",
                "withdraw": "撤回", "retry": "重试", "publish": "公示", "approve": "批准",
                "return": "退回"}
SUMMARY_KEYS = {"via": "方式", "method": "方法", "count": "数量", "changes": "变更",
                "label": "名称", "filters": "筛选条件", "rows": "行数", "args": "参数",
                "reason": "原因", "roles": "角色", "scopes": "数据范围", "email": "邮箱",
                "status": "状态", "node": "节点", "field": "字段", "period": "期间",
                "year": "年份", "month": "月份", "uscc": "统一社会信用代码", "class": "用户类别",
                "enterprise": "企业", "region": "地区", "model": "流程模型", "instance": "流程实例",
                "task": "任务", "decision": "决定", "inserted": "新增", "updated": "更新",
                "files": "文件", "version": "版本", "content_hash": "内容摘要", "source": "来源",
                "periods": "期间", "ids": "记录编号", "energy_types": "能源品种",
                "factors": "排放因子", "area_level": "对比区域级别", "industry_level": "行业级别",
                "records": "记录数", "schemes": "评价方案", "enterprise_months": "企业月数",
                "comment": "意见", "user": "用户", "kind": "类别", "to": "至", "from": "自"}
OBJECT_TYPES = {"user": "用户", "role": "角色", "enterprise": "企业", "region": "地区",
                "energy_record": "能耗数据", "emission_factor": "排放因子",
                "carbon_account": "碳账户", "carbon_code": "碳效码",
                "workflow_instance": "流程实例", "workflow_task": "流程任务",
                "workflow_model": "流程模型", "audit_record": "审计日志",
                "country_emission": "国家排放数据", "institution": "机构",
                "verification_body": "核查机构", "service_node": "服务节点"}
_LIST_SHOWN = 8
SUMMARY_VALUES = {"password": "密码", "authenticator": "身份验证器", "webauthn": "安全密钥",
                  "set": "批量", "row": "逐行", "demo": "演示数据", "approve": "通过",
                  "return": "退回", "province": "省级", "city": "地市级",
                  "division": "行业大类", "group": "行业中类"}


def role_label(name: str | None) -> str:
    english = _english()
    for r in ROLES:
        if r.name == name:
            return r.label_en if english else r.label
    return name or ""


def user_class_label(code: str | None) -> str:
    if not code:
        return ""
    return (USER_CLASS_EN if _english() else USER_CLASS_LABELS).get(code, code)


def _lookup(cache: str, stmt, table: str) -> dict:
    return names_cache.get(cache, lambda: dict(db.session.execute(stmt).all()), table=table)


def region_name(code: str | None) -> str:
    if not code:
        return ""
    from app.orgs.models import Region

    return _lookup("cecp_region_names", select(Region.code, Region.name), "region").get(code, code)


def industry_name(code: str | None) -> str:
    if not code:
        return ""
    from app.i18n import Named
    from app.orgs.models import Industry

    names = names_cache.get("cecp_industry_names", lambda: {
        c: Named(n, en) for c, n, en in db.session.execute(
            select(Industry.code, Industry.name, Industry.name_en))}, table="industry")
    return names.get(code, code)


def item_name(code: str | None) -> str:
    """An energy item or process factor by name: 原煤, 水泥熟料 cement clinker (Tier 1)."""
    if not code:
        return ""
    from app.energy.models import EmissionFactor, EnergyType
    from app.i18n import Named

    types = names_cache.get("cecp_energy_names", lambda: {
        c: Named(n, en) for c, n, en in db.session.execute(
            select(EnergyType.code, EnergyType.name, EnergyType.name_en))},
        table="energy_type")
    if code in types:
        return types[code]
    factors = _lookup("cecp_factor_names", select(EmissionFactor.code, EmissionFactor.name)
                      .where(EmissionFactor.name.is_not(None)), "emission_factor")
    return factors.get(code) or code


FACTOR_KINDS = {"combustion": "燃料燃烧", "grid_electricity": "电网平均排放因子",
                "grid_electricity_ets": "电网排放因子（碳市场）",
                "grid_electricity_fossil": "化石能源电力排放因子",
                "grid_electricity_residual": "剩余电力排放因子", "heat": "热力",
                "process": "工业过程"}


def factor_kind(code: str | None) -> str:
    return FACTOR_KINDS.get(code or "", code or "")


def bucket_label(code: str | None) -> str:
    from app.accounting.engine import BUCKETS

    return BUCKETS.get(code or "", code or "")


def user_name(user_or_id: Any) -> str:
    """A user's display name (or e-mail) from a user, an id or an e-mail."""
    if user_or_id is None or user_or_id == "":
        return ""
    if hasattr(user_or_id, "label"):
        return user_or_id.label()
    from app.identity.models import User

    names = _lookup("cecp_user_names", select(User.id, User.display_name), "user")
    emails = _lookup("cecp_user_emails", select(User.email, User.display_name), "user")
    if isinstance(user_or_id, int) or str(user_or_id).isdigit():
        return names.get(int(user_or_id)) or str(user_or_id)
    return emails.get(user_or_id) or str(user_or_id)


def _t(text: str, **values: Any) -> str:
    """A label in the page's language (no request: as written); %-fills keyword values."""
    from flask import has_request_context
    from flask_babel import get_translations

    if has_request_context() and text:
        text = get_translations().gettext(text)
    return text % values if values else text


def scope_label(scope: Any) -> str:
    """`region:330500` (or a UserScope) as 地区 湖州市."""
    kind, code = (scope.kind, scope.code) if hasattr(scope, "kind") else \
        (str(scope).split(":", 1) + [""])[:2]
    name = region_name(code) if kind == "region" else code
    return f"{_t(SCOPE_KINDS.get(kind, kind))} {name}".strip()


def audit_action(action: str | None) -> str:
    if not action:
        return ""
    if action in AUDIT_ACTIONS:
        return AUDIT_ACTIONS[action]
    parts = action.split(".")
    words = [_AUDIT_VERBS.get(p) or _AUDIT_OBJECTS.get(p) for p in parts]
    if all(words):
        verbs = [w for p, w in zip(parts, words, strict=True) if p in _AUDIT_VERBS]
        objects = [w for p, w in zip(parts, words, strict=True) if p not in _AUDIT_VERBS]
        return "".join(verbs + objects)
    return action


def _to_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def num(value: Any, decimals: int = 2, empty: str = "—") -> str:
    """12345.678 -> '12,345.68'; None -> '—' (unknown stays visibly empty)."""
    d = _to_decimal(value)
    if d is None:
        return empty if value in (None, "") else str(value)
    return f"{d:,.{decimals}f}"


def qty(value: Any, unit: str = "", decimals: int | None = None) -> str:
    """A number with its unit and the decimals that unit deserves: '1,234.50 tCO2'."""
    places = UNIT_DECIMALS.get(unit, 2) if decimals is None else decimals
    text = num(value, places)
    return f"{text} {unit}".rstrip() if text != "—" else text


def unum(value: Any, unit: str = "") -> str:
    """A figure's number alone, with the decimals its unit deserves (the unit shown apart)."""
    if not isinstance(value, int | float | Decimal):
        return "" if value is None else str(value)
    return num(value, UNIT_DECIMALS.get(unit, 0 if isinstance(value, int) else 2))


def pct(value: Any, decimals: int = 1, signed: bool = False) -> str:
    d = _to_decimal(value)
    if d is None:
        return "—"
    return f"{d:+,.{decimals}f}%" if signed else f"{d:,.{decimals}f}%"


def bjtime(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A naive-UTC (or aware) datetime in Beijing time, no microseconds."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(BEIJING).strftime(fmt)
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    return str(value)


def bjdate(value: Any) -> str:
    return bjtime(value, "%Y-%m-%d")


def summary_fields(raw: Any) -> Markup:
    """An audit summary (JSON text or dict) as `key: value` lines people read."""
    if raw in (None, "", "{}"):
        return Markup("")
    data = raw
    if isinstance(raw, str):
        try:
            data = json.loads(raw)
        except ValueError:
            return Markup(escape(raw))
    if not isinstance(data, dict):
        return Markup(escape(json.dumps(data, ensure_ascii=False)))
    parts = []
    for key, value in data.items():
        if isinstance(value, dict):
            value = "；".join(f"{_t(SUMMARY_KEYS.get(k, k))}={_short(v)}"
                             for k, v in value.items()) or "—"
        elif key in ("role", "roles"):
            value = "、".join(role_label(r) for r in (value if isinstance(value, list)
                                                      else [value])) or "—"
        elif key == "class":
            value = user_class_label(value)
        else:
            value = _short(_t(SUMMARY_VALUES.get(value, value)) if isinstance(value, str)
                           else value)
        parts.append(Markup('<span class="kv"><span class="k">{}</span> {}</span>').format(
            _t(SUMMARY_KEYS.get(key, key)), value))
    return Markup(" ").join(parts)


def _short(value: Any) -> str:
    """A value for a summary line: lists cut after a few items, None as a dash."""
    if value is None or value == "":
        return "—"
    if isinstance(value, list | tuple):
        shown = "、".join(_short(v) for v in value[:_LIST_SHOWN]) or "—"
        more = len(value) - _LIST_SHOWN
        return shown + (_t(" 等共 %(n)s 项", n=len(value)) if more > 0 else "")
    if isinstance(value, bool):
        return _t("是") if value else _t("否")
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "…"


def object_type_label(code: str | None) -> str:
    return OBJECT_TYPES.get(code or "", code or "")


def _english() -> bool:
    try:
        from flask_babel import get_locale

        return str(get_locale()) == "en"
    except (RuntimeError, AttributeError):
        return False


def anomaly_reason(reason: str | None) -> str:
    """An anomaly's stored reason in the reader's language."""
    from app.analytics.anomalies import reason_text

    return reason_text(reason) if reason else ""


def derivation_text(text: str | None) -> str:
    """A trading report's stored origin or formula in the reader's language."""
    from app.trading.origins import derivation_text as translated

    return translated(text) if text else ""


def init_app(app: Flask) -> None:
    for fn in (role_label, user_class_label, region_name, industry_name, user_name, item_name,
               bucket_label, factor_kind,
               scope_label, audit_action, object_type_label, num, unum, qty, pct, bjtime, bjdate,
               summary_fields, anomaly_reason, derivation_text):
        app.add_template_filter(fn)
