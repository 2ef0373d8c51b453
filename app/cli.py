"""The `cecp` command (a Flask CLI group): run, db, demo, worker, audit, users, import, keys."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import FlaskGroup, with_appcontext

from app import create_app
from app.extensions import db
from app.importers import IMPORTERS
from app.uow import commit


def _create_app():
    """The application, or a clear message and exit status 78 (EX_CONFIG) when the
    configuration cannot run it (e.g. PostgreSQL without configured secrets)."""
    from app.config import ConfigError

    try:
        return create_app()
    except ConfigError as exc:
        click.echo(f"配置错误 (configuration error): {exc}", err=True)
        sys.exit(78)


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def cli() -> None:
    """工业碳效码平台 cecp"""


@cli.group("audit")
def audit_group() -> None:
    """审计日志"""


@audit_group.command("verify")
@with_appcontext
def audit_verify() -> None:
    """校验审计日志哈希链；发现篡改时退出码为 1 并指出第一条问题记录。"""
    from sqlalchemy import func, select

    from app.audit.models import AuditRecord
    from app.audit.service import verify_chain
    from app.extensions import db

    total = db.session.scalar(select(func.count()).select_from(AuditRecord))
    problem = verify_chain()
    if problem:
        click.echo(f"审计日志校验失败: {problem}", err=True)
        sys.exit(1)
    click.echo(f"审计日志完整: {total} 条记录，哈希链校验通过。")


@cli.group("users")
def users_group() -> None:
    """用户管理"""


@users_group.command("create")
@click.argument("email")
@click.option("--role", "roles", multiple=True, required=True, help="角色，可重复")
@click.option("--region", "regions", multiple=True, help="行政区划代码 (GB/T 2260)")
@click.option("--enterprise", "enterprises", multiple=True, help="统一社会信用代码")
@click.option("--institution", "institutions", multiple=True)
@click.option("--verification-body", "vbodies", multiple=True)
@click.option("--name", "display_name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def users_create(email, roles, regions, enterprises, institutions, vbodies, display_name,
                 password) -> None:
    """创建账户。"""
    from app.identity import service as accounts

    scopes = ([("region", c) for c in regions] + [("enterprise", c) for c in enterprises]
              + [("institution", c) for c in institutions]
              + [("verification_body", c) for c in vbodies])
    try:
        user = accounts.create(email=email, password=password, roles=roles, scopes=scopes,
                               display_name=display_name)
    except accounts.AccountError as exc:
        db.session.rollback()
        accounts.record_refusal(action="users.create", user=None, field=exc.field,
                                message=exc.message,
                                request={"email": email, "scopes": scopes})
        commit()
        raise click.UsageError(f"{exc.field}: {exc.message}") from exc
    commit()
    click.echo(f"已创建账户 {user.email} (id={user.id})，角色: {', '.join(roles)}")


def _import_kinds(ctx: click.Context | None = None) -> list[str]:
    """Kinds registered by the domain packages of this install (they register on app load)."""
    from flask.cli import ScriptInfo

    info = ctx.find_object(ScriptInfo) if ctx is not None else None
    if info is not None:
        info.load_app()
    return sorted(IMPORTERS)


class _ImportCommand(click.Command):
    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_paragraph()
        kinds = ", ".join(_import_kinds(ctx))
        formatter.write_text("批量导入，逐行校验，全部有效才写入。")
        # One unwrapped line, so scripts (and the newcomer test) can read the whole list.
        formatter.write(f"{' ' * formatter.current_indent}KIND: {kinds}\n")


@cli.command("import", cls=_ImportCommand)
@click.argument("kind")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_cmd(kind: str, file: Path) -> None:
    """批量导入，逐行报告。"""
    fn = IMPORTERS.get(kind)
    if fn is None:
        raise click.UsageError(
            f"未知导入类型 {kind!r}；可用: {', '.join(_import_kinds()) or '无'}")
    report = fn(file)
    for err in report.get("errors", [])[:200]:
        click.echo(f"第 {err.get('row')} 行 {err.get('field', '')}: {err.get('message')}",
                   err=True)
    if not report.get("ok"):
        from app.extensions import db

        db.session.rollback()
        click.echo(f"导入失败，未写入任何数据 ({len(report.get('errors', []))} 处错误)", err=True)
        sys.exit(1)
    commit()
    click.echo(f"导入成功: {report.get('rows', 0)} 行")


@cli.command("worker")
@click.option("--burst", is_flag=True, help="处理完队列后退出")
@with_appcontext
def worker_cmd(burst: bool) -> None:
    """运行后台任务进程 (rq worker，含调度器与发件箱分发)。"""
    from app.jobs.worker import run_worker

    run_worker(burst=burst)


@cli.command("demo")
@click.option("--enterprises", "n_enterprises", default=40, show_default=True)
@click.option("--months", default=12, show_default=True)
@with_appcontext
def demo_cmd(n_enterprises: int, months: int) -> None:
    """加载参考数据与演示数据 (可重复执行)，并打印演示账户。"""
    from app.demo import load_demo

    accounts = load_demo(enterprises=n_enterprises, months=months)
    commit()
    from flask import current_app

    password = current_app.config["CECP_DEMO_PASSWORD"]
    click.echo(f"演示账户 (密码均为 {password}，可用 CECP_DEMO_PASSWORD 修改):")
    for email, role, scope in accounts:
        click.echo(f"  {email:<24} {role:<28} {scope}")


def _add_optional_groups() -> None:
    import importlib

    for module, attr in (("app.crypto.cli", "keys_cli"),
                         ("app.workflow.cli", "processes_group"),
                         ("app.accounting.cli", "accounting_cli"),
                         ("app.exchange.cli", "clients_cli"),
                         ("integrations.cli", "exchange_cli")):
        try:
            cli.add_command(getattr(importlib.import_module(module), attr))
        except ModuleNotFoundError:
            pass


_add_optional_groups()
