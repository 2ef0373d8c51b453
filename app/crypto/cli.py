"""`cecp keys ...`: export the platform's SM2 public key, rotate the SM4 data keys."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group("keys", help="平台密钥管理：SM2 平台公钥导出、SM4 数据密钥轮换。")
def keys_cli() -> None:
    pass


@keys_cli.command("export-public", help="输出平台 SM2 公钥 (PEM, SubjectPublicKeyInfo)。")
@with_appcontext
def export_public() -> None:
    from app.crypto.signing import public_pem
    from app.uow import commit

    pem = public_pem()  # creates the platform key pair on first use
    commit()
    click.echo(pem, nl=False)


@keys_cli.command("rotate", help="生成新的数据密钥并用它重新加密所有加密字段和平台私钥；"
                  "生成新的 HMAC 根密钥，审计链自此用它链接 (旧记录仍按其密钥版本校验)。")
@with_appcontext
def rotate() -> None:
    from app.crypto.keys import active_data_key, active_hmac_version
    from app.crypto.rotation import rotate_data_keys
    from app.uow import commit

    counts = rotate_data_keys()
    version, root = active_data_key()[0], active_hmac_version()
    commit()
    click.echo(f"已生成新数据密钥 v{version}，重新加密完成；审计链已切换到 HMAC 根密钥 v{root}：")
    for model, n in counts.items():
        click.echo(f"  {model}: {n} 项")
    click.echo(f"合计 {sum(counts.values())} 项。")
