"""`cecp factors …`: fit the enterprise factor library, estimate from electricity, import
and simulate regional networks, load the illustrative demo year."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.uow import commit

factors_cli = AppGroup("factors", help="电碳因子（企业因子库、估算、区域模拟）")


@factors_cli.command("compute")
@click.option("--region", default=None, help="GB/T 2260 行政区划代码（默认全部）")
@click.option("--from", "period_from", type=int, default=None, help="起始月 yyyymm")
@click.option("--to", "period_to", type=int, default=None, help="截止月 yyyymm")
@click.option("--min-months", type=click.IntRange(3, 120), default=12)
def compute_cmd(region, period_from, period_to, min_months) -> None:
    """拟合企业电碳因子（Theil–Sen 与 OLS 并列），未变化的不写新版本。"""
    from app.factors import library

    s = library.compute(region=region, period_from=period_from, period_to=period_to,
                        min_months=min_months)
    commit()
    click.echo(f"拟合 {s.fitted} 家，新版本 {s.written}，未变化 {s.unchanged}，"
               f"保留人工/实测/认证 {s.kept}")
    if s.skipped:
        from sqlalchemy import select

        from app.extensions import db
        from app.factors.models import FLAGS
        from app.orgs.models import Enterprise

        for reason, ids in s.skipped.items():
            names = db.session.execute(select(Enterprise.name, Enterprise.uscc).where(
                Enterprise.id.in_(ids[:20]))).all()
            shown = "、".join(f"{n}（{u}）" for n, u in names)
            more = f" 等 {len(ids)} 家" if len(ids) > 20 else ""
            click.echo(f"未拟合（{FLAGS.get(reason, '无数据' if reason == 'no_data' else reason)}"
                       f"，至少需要 {min_months} 个月）：{shown}{more}", err=True)


@factors_cli.command("demo")
def demo_cmd() -> None:
    """载入 31 省区市示例年（示例数据，非官方）并模拟。"""
    from app.factors import regional

    net = regional.load_demo()
    commit()
    cmp = regional.compare_official(net)
    click.echo(f"{net.title}：{len(net.result['nodes'])} 个节点；与官方省级因子对比 "
               f"MAPE {cmp['mape_pct']:.1f}%（{cmp['n']} 个省份）")


@factors_cli.command("import")
@click.argument("generation", type=click.Path(exists=True, dir_okay=False))
@click.argument("exchange", type=click.Path(exists=True, dir_okay=False), required=False)
@click.option("--code", required=True, help="数据集代码（同代码再次导入为新版本）")
@click.option("--title", required=True)
@click.option("--year", type=click.IntRange(2000, 2100), required=True)
@click.option("--source", default=None, help="数据来源（引用）")
def import_cmd(generation, exchange, code, title, year, source) -> None:
    """导入发电结构与送受电矩阵（CSV 两个文件，或一个含 generation/exchange 两表的 XLSX），
    逐行校验后模拟并保存。"""
    import sys
    from pathlib import Path

    from app.extensions import db
    from app.factors import regional
    from app.factors.flow import NetworkError

    try:
        payload, names = regional.read_files(generation=Path(generation),
                                             exchange=Path(exchange) if exchange else None)
        net = regional.create(code=code, title=title, year=year, payload=payload,
                              names=names, source=source)
    except NetworkError as exc:
        db.session.rollback()
        for where, msg in exc.fields.items():
            click.echo(f"{where}: {msg}", err=True)
        click.echo("导入失败，未写入任何数据", err=True)
        sys.exit(1)
    commit()
    click.echo(f"已导入 {net.title} v{net.version}：{len(net.result['nodes'])} 个节点，"
               f"{len(net.result['branches'])} 条支路")
