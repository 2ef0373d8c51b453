"""`cecp accounting recompute` and `cecp accounting issue-codes` (group `accounting_cli`).

    cecp accounting recompute --year 2025 [--month 3] [--region 330500] [--workers 2]
    cecp accounting issue-codes --year 2025 [--month 3] [--workers 2]
    cecp accounting freeze --uscc X --period 2025 --status published|verified [--note N]
    cecp accounting restate --uscc X --period 2025-03 --reason "…"

`recompute` writes a new version of every selected enterprise-month (set-based; the old
versions stay as history), then re-issues the industry benchmarks and carbon efficiency
codes of the periods containing those months for the whole comparison area: one enterprise's
new figures move its industry's benchmark, hence every peer's K. With `--workers 1` (the
default) everything is one transaction, committed at the end by `app.uow.commit()`; with
more, the accounts are written by that many connections, each slice committing on its own
(see `bulk.compute_accounts_parallel`), and the codes likewise. Frozen months (published /
verified) are never rewritten by `recompute`; `restate` is the explicit, audited way.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

accounting_cli = AppGroup("accounting", help="碳核算与碳效码（批量重算、签发）")

_YEAR = click.option("--year", type=click.IntRange(2000, 2100), required=True,
                     help="年份，如 2025")
_MONTH = click.option("--month", type=click.IntRange(1, 12), default=None,
                      help="月份 1-12；省略则为全年 12 个月")
_WORKERS = click.option("--workers", type=click.IntRange(1, 8), default=1,
                        show_default=True,
                        help="并行数据库连接数（大于 1 时按批提交，仅 PostgreSQL）")


def _months(year: int, month: int | None) -> list[int]:
    return [year * 100 + month] if month else [year * 100 + m for m in range(1, 13)]


def _label(year: int, month: int | None) -> str:
    return f"{year}年{month}月" if month else f"{year}年全年"


def _parallel(workers: int) -> bool:
    from app.extensions import db

    return workers > 1 and db.session.get_bind().dialect.name == "postgresql"


def _region_enterprises(region: str) -> tuple[str, list[int]]:
    """(region name, ids of the active and inactive enterprises in it and below)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.identity.scope import region_prefix
    from app.orgs.models import Enterprise, Region

    code = region.strip()
    reg = db.session.get(Region, code) if len(code) == 6 and code.isdigit() else None
    if reg is None:
        raise click.BadParameter(f"行政区划代码“{code}”不存在（应为 6 位 GB/T 2260 代码）",
                                 param_hint="--region")
    ids = list(db.session.scalars(select(Enterprise.id).where(
        Enterprise.region_code.startswith(region_prefix(code), autoescape=True))))
    return f"{reg.name}（{code}）", ids


def _issue(months: list[int], workers: int) -> int:
    from app.accounting import codes

    if _parallel(workers):
        return codes.issue_parallel(periods=months, workers=workers)
    return codes.issue(periods=months)


@accounting_cli.command("recompute")
@_YEAR
@_MONTH
@click.option("--region", default=None,
              help="行政区划代码（GB/T 2260），含下级地区；省略则为全部企业")
@_WORKERS
def recompute_cmd(year: int, month: int | None, region: str | None, workers: int) -> None:
    """重算指定期间的碳账户（保留旧版本为历史），并重新签发该期间的行业基准与碳效码。"""
    from app.accounting import bulk
    from app.uow import commit

    months = _months(year, month)
    where_label, ents = "全部企业", None
    if region:
        where_label, ents = _region_enterprises(region)
        if not ents:
            click.echo(f"{where_label}没有登记企业，未重算。")
            return
    reason = f"命令行重算 {_label(year, month)}" + (f" {region}" if region else "")
    if _parallel(workers):
        n = bulk.compute_accounts_parallel(periods=months, workers=workers,
                                           enterprise_ids=ents, reason=reason)
    else:
        n = bulk.compute_accounts(periods=months, enterprise_ids=ents, reason=reason)
    if not n:
        commit()
        click.echo(f"{_label(year, month)}（{where_label}）没有能耗数据，未重算。")
        return
    m = _issue(months, workers)
    commit()
    click.echo(f"已重算碳账户：{n} 个企业月（{_label(year, month)}，{where_label}）。")
    click.echo(f"已重新签发碳效码：{m} 条（含行业基准，比较范围内全部企业）。")


@accounting_cli.command("issue-codes")
@_YEAR
@_MONTH
@_WORKERS
def issue_codes_cmd(year: int, month: int | None, workers: int) -> None:
    """按当前核算结果重新签发指定期间（及所属年度等）的行业基准与碳效码。"""
    from app.accounting import codes
    from app.uow import commit

    months = _months(year, month)
    keys = [p.key for p in codes.period_keys(months, codes.settings()["period_types"])]
    m = _issue(months, workers)
    commit()
    if not m:
        click.echo(f"{_label(year, month)}没有核算结果，未签发碳效码。")
        return
    click.echo(f"已签发碳效码：{m} 条（期间 {'、'.join(keys)}）。")


def _enterprise(uscc: str):
    from app.orgs.service import enterprise_by_uscc

    ent = enterprise_by_uscc(uscc.strip().upper())   # the operator's command: unscoped
    if ent is None:
        raise click.BadParameter(f"统一社会信用代码“{uscc}”的企业不存在", param_hint="--uscc")
    return ent


def _period_months(text: str) -> list[int]:
    from app.accounting import periods

    try:
        p = periods.parse(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from None
    return [p.year * 100 + m for m in range(p.months[0], p.months[1] + 1)]


@accounting_cli.command("freeze")
@click.option("--uscc", required=True, help="企业统一社会信用代码")
@click.option("--period", required=True, help="期间：2025-03、2025Q1、2025H1 或 2025")
@click.option("--status", type=click.Choice(["published", "verified"]), required=True,
              help="published（已发布）或 verified（已核查）")
@click.option("--by", "by", default="cli", show_default=True, help="操作人（记入审计）")
@click.option("--note", default=None, help="备注，如核查报告编号")
def freeze_cmd(uscc: str, period: str, status: str, by: str, note: str | None) -> None:
    """冻结企业某期间各月的当前核算版本（已发布/已核查）：此后新因子或数据修改不再改写。"""
    from app.accounting import service
    from app.uow import commit

    ent = _enterprise(uscc)
    months = _period_months(period)
    if len(months) > 1:   # a quarter / year: the months that have accounts
        have = {a.period for a in service.current_figures(enterprise_id=ent.id,
                                                          periods=months)}
        months = [m for m in months if m in have] or months
    try:
        accs = service.freeze(enterprise_id=ent.id, periods=months, status=status,
                              user_email=by, note=note)
    except service.AccountError as exc:
        raise click.ClickException(exc.message) from None
    commit()
    click.echo(f"{ent.name} {period}：{len(accs)} 个月的核算版本为“"
               f"{accs[0].status_label}”（" + "、".join(
                   f"{a.period_label} v{a.version}" for a in accs) + "）。")


@accounting_cli.command("restate")
@click.option("--uscc", required=True, help="企业统一社会信用代码")
@click.option("--period", required=True, help="月份：2025-03")
@click.option("--reason", required=True, help="重述原因（必填，记入新版本与审计）")
@click.option("--by", "by", default="cli", show_default=True, help="操作人（记入审计）")
def restate_cmd(uscc: str, period: str, reason: str, by: str) -> None:
    """重述已冻结的月份：按当前数据与因子生成新版本（保留旧版本），须填写原因。"""
    from app.accounting import codes, service
    from app.uow import commit

    ent = _enterprise(uscc)
    months = _period_months(period)
    if len(months) != 1:
        raise click.BadParameter("重述按月进行，请填写月份，如 2025-03", param_hint="--period")
    try:
        acc = service.restate(enterprise_id=ent.id, period=months[0], reason=reason,
                              user_email=by)
    except service.AccountError as exc:
        raise click.ClickException(exc.message) from None
    codes.issue(periods=months)
    commit()
    click.echo(f"{ent.name} {acc.period_label} 已重述为 v{acc.version}（{acc.status_label}），"
               f"排放 {acc.co2_total} tCO2；原版本 #{acc.restates_id} 保留为历史。")
