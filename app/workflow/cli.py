"""`cecp processes ...`: deploy the built-in models, sweep due timers."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from app.uow import commit


@click.group("processes")
def processes_group() -> None:
    """流程模型与流程实例"""


@processes_group.command("deploy")
@click.argument("names", nargs=-1)
@with_appcontext
def deploy_cmd(names: tuple[str, ...]) -> None:
    """部署 processes/ 下的流程模型（默认全部）；内容未变的模型不产生新版本。"""
    from app.workflow import deploy
    from app.workflow.errors import DeployRejected

    try:
        for name in names or deploy.builtin_names():
            row, created = deploy.deploy(files=deploy.builtin_files(name))
            state = "新版本" if created else "未变化"
            click.echo(f"{row.model.key:<24} v{row.version:<4} {state}  {row.content_hash[:12]}")
    except DeployRejected as exc:
        for p in exc.problems:
            click.echo(f"  {p['file']} {p['element_id'] or ''}: {p['message']}", err=True)
        click.echo(exc.message, err=True)
        sys.exit(1)
    commit()


@processes_group.command("sweep")
@with_appcontext
def sweep_cmd() -> None:
    """触发所有已到期的定时器（可由 cron 调用，作为兜底）。"""
    from app.workflow import start_timers
    from app.workflow.jobs import sweep

    n = sweep()  # one instance per transaction
    click.echo(f"已推进 {n} 个流程实例")
    started = start_timers.run()  # timer start events due: one new instance each
    if started:
        click.echo(f"定时启动 {started} 个流程实例")
