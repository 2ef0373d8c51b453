"""`cecp analytics forecast [--processes N]`, `flags` and `accuracy`."""

from __future__ import annotations

import click
from flask.cli import AppGroup

analytics_cli = AppGroup("analytics", help="分析与预测（预测、异常、潜力）")


@analytics_cli.command("forecast")
@click.option("--processes", default=1, show_default=True, type=click.IntRange(1, 16),
              help="并行进程数（按企业分块）")
def forecast_cmd(processes: int) -> None:
    """为每家企业预测未来 12 个月的排放与增加值，并做滚动回测。"""
    from app.analytics import batch
    from app.uow import commit

    n = batch.forecast_all(processes=processes)
    commit()
    click.echo(f"已预测 {n:,} 条序列（排放与增加值）")


@analytics_cli.command("flags")
def flags_cmd() -> None:
    """对全部企业重新识别异常月份。"""
    from app.analytics import service
    from app.uow import commit

    out = service.detect_flags()
    commit()
    click.echo(f"识别异常 {out['detected']:,} 条；新增或重开 {out['opened']:,} 条；"
               f"消除 {out['cleared']:,} 条")


@analytics_cli.command("accuracy")
def accuracy_cmd() -> None:
    """按行业输出回测精度表（Markdown：模型与季节朴素基线的 MAPE、MASE）。"""
    from app.analytics import service
    from app.identity.datascope import DataScope

    def cell(v) -> str:
        return "—" if v is None else f"{v:,}"

    click.echo("| 行业 | 序列 | 已回测 | 采用模型 | MAPE 模型 / 基线 (%) | MASE 模型 / 基线 |")
    click.echo("|---|---:|---:|---:|---:|---:|")
    for r in service.accuracy(scope=DataScope(all=True)):
        click.echo(f"| {r['industry_name']}（{r['industry_code']}） | {r['series']:,} | "
                   f"{r['backtested']:,} | {r['model_used']:,} | "
                   f"{cell(r['model_mape'])} / {cell(r['baseline_mape'])} | "
                   f"{cell(r['model_mase'])} / {cell(r['baseline_mase'])} |")
