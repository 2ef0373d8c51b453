"""`cecp exchange sync [NAME]`: run intermediate-database mappings on demand."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext


@click.group("exchange")
def exchange_cli() -> None:
    """数据交换（中间库同步）"""


@exchange_cli.command("sync")
@click.argument("name", required=False)
@with_appcontext
def sync_cmd(name: str | None) -> None:
    """按映射从中间库同步（不指定名称时同步全部可用映射）。"""
    from integrations import etl

    names = [name] if name else [n for n, m in etl.mappings().items()
                                 if etl.source_available(m)]
    failed = False
    for n in names:
        out = etl.sync(n)
        failed |= bool(out.get("error"))
        click.echo(f"{n}: {out.get('rows', 0)} 行，{out.get('batches', 0)} 批"
                   + (f"，错误：{out['error']}" if out.get("error") else
                      f"，拒绝 {out.get('rejected', 0)} 行，水位 {out.get('watermark')}"))
    sys.exit(1 if failed else 0)


@exchange_cli.command("mappings")
@with_appcontext
def mappings_cmd() -> None:
    """列出同步映射。"""
    from integrations import etl

    for n, m in etl.mappings().items():
        click.echo(f"{n:<20} {m.label} {'可用' if etl.source_available(m) else '数据源不存在'}")
