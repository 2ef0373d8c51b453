"""`cecp monitoring refresh [--full]` and `cecp monitoring status`."""

from __future__ import annotations

import click
from flask.cli import AppGroup

monitoring_cli = AppGroup("monitoring", help="监测数据汇总")


@monitoring_cli.command("refresh")
@click.option("--full", is_flag=True, help="全部重建（否则只汇总新增核算结果）")
def refresh_cmd(full: bool) -> None:
    """汇总碳账户结果到监测事实表。"""
    from app.monitoring import facts
    from app.uow import commit

    n = facts.refresh_facts() if full else facts.catch_up()
    commit()
    click.echo(f"已汇总: {n}；{facts.freshness()['label']}")


@monitoring_cli.command("status")
def status_cmd() -> None:
    """显示监测数据的新鲜度与待汇总的核算结果数。"""
    from app.monitoring import facts

    click.echo(f"{facts.freshness()['label']}；待汇总核算结果 {facts.pending()} 条")
