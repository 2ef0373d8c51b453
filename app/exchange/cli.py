"""`cecp clients create|revoke|list`."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.uow import commit


@click.group("clients")
def clients_cli() -> None:
    """机器客户端（系统对接账户，API Key）"""


@clients_cli.command("create")
@click.argument("name")
@click.option("--enterprise", "enterprises", multiple=True, help="统一社会信用代码，可重复")
@click.option("--region", "regions", multiple=True, help="行政区划代码 (GB/T 2260)，可重复")
@click.option("--institution", "institutions", multiple=True,
              help="机构代码（如交易所，可查询其碳资产账户），可重复")
@click.option("--scope", "permissions", multiple=True,
              help="权限，可重复（默认 energy.write readings.write enterprise.read report.read）")
@with_appcontext
def create_cmd(name, enterprises, regions, institutions, permissions) -> None:
    """创建机器客户端并打印其 API Key（仅显示这一次）。"""
    from app.exchange import clients

    try:
        client, key = clients.create(name=name, enterprises=enterprises, regions=regions,
                                     permissions=permissions, created_by="cli",
                                     institutions=institutions)
    except clients.ClientError as exc:
        raise click.UsageError(f"{exc.field}: {exc.message}") from exc
    commit()
    click.echo(f"已创建机器客户端 {client.name}。API Key（仅显示这一次，请妥善保存）:")
    click.echo(key)


@clients_cli.command("revoke")
@click.argument("name")
@with_appcontext
def revoke_cmd(name) -> None:
    """吊销机器客户端（其 API Key 立即失效）。"""
    from app.exchange import clients

    try:
        clients.revoke(name=name, by="cli")
    except clients.ClientError as exc:
        raise click.UsageError(exc.message) from exc
    commit()
    click.echo(f"已吊销机器客户端 {name}")


@clients_cli.command("list")
@with_appcontext
def list_cmd() -> None:
    """列出机器客户端。"""
    from app.exchange import clients

    for c in clients.get_all():
        scopes = ", ".join(f"{s.kind}:{s.code}" for s in c.user.scopes)
        state = "已吊销" if c.revoked_at else "有效"
        click.echo(f"{c.name:<24} {state:<4} {scopes}")
