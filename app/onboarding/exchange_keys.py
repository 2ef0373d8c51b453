"""Scoped API keys an exchange manages itself (R-6.5.2), and what they may read.

A key is an ordinary machine client (`app.exchange.clients`: hashed, shown once, audited)
whose data scope is the exchange's own institution code and whose permissions are scopes
chosen from `SCOPES`: it can never reach beyond its organisation, whatever it asks for.
Suspension revokes every key of the organisation (`revoke_all`); re-activation does not
bring them back. No commits here."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from app.exchange import clients
from app.exchange.models import MachineClient
from app.extensions import db
from app.identity.datascope import DataScope
from app.identity.models import UserScope
from app.onboarding.models import Application
from app.onboarding.service import ApplicationError
from app.trading import ledger
from app.trading.models import Account, Lot, Movement, Project

#: what an exchange's key may do (each is a permission of the key's own role)
SCOPES = {
    "lots.read": "读取核证减排量（批次、序列号、年份、项目）",
    "holdings.read": "读取本交易所账户持有",
    "transfers.confirm": "确认转入本交易所账户的转让",
    "grades.read": "读取已授权本交易所的企业碳效等级",
}
LABEL = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
MAX_KEYS = 20


def exchange_of(scope: DataScope) -> Application | None:
    """The caller's exchange: an active exchange whose code is in the caller's scope."""
    if scope.all or not scope.institution:
        return None
    return db.session.scalar(select(Application).where(
        Application.kind == "exchange", Application.status == "active",
        Application.uscc.in_(scope.institution)))


def _active_exchange(org: Application | None) -> Application:
    if org is None or org.kind != "exchange" or org.status != "active":
        raise ApplicationError({"organisation": "只有已开通交易所的机构管理员可以管理密钥"},
                               status=403)
    return org


def list_for(org: Application) -> list[MachineClient]:
    """Every key of the organisation: those it created and any the platform issued with
    its institution scope (all of them die with a suspension)."""
    return list(db.session.scalars(
        select(MachineClient).join(UserScope, UserScope.user_id == MachineClient.user_id)
        .where(UserScope.kind == "institution", UserScope.code == org.uscc)
        .order_by(MachineClient.id.desc())))


def create(org: Application | None, *, label: Any, scopes: Any,
           by: str | None) -> tuple[MachineClient, str]:
    """A new key of the organisation's own; returns it and the key (shown once)."""
    org = _active_exchange(org)
    errors = {}
    label = label.strip() if isinstance(label, str) else ""
    if not LABEL.match(label):
        errors["label"] = "名称须为 1–40 位字母、数字、- 或 _"
    if isinstance(scopes, str):
        scopes = [s for s in scopes.split(",") if s]
    if not isinstance(scopes, list) or not scopes or not all(
            isinstance(s, str) and s in SCOPES for s in scopes):
        errors["scopes"] = "权限范围须为 " + "、".join(SCOPES) + " 中的一项或多项"
    if errors:
        raise ApplicationError(errors)
    existing = list_for(org)
    if any(c.label == label for c in existing):
        raise ApplicationError({"label": f"本机构已有名为 {label} 的密钥"}, status=409)
    if sum(1 for c in existing if c.active) >= MAX_KEYS:
        raise ApplicationError({"label": f"每个机构最多 {MAX_KEYS} 个有效密钥"}, status=409)
    try:
        client, key = clients.create(name=f"{org.uscc}.{label}", institutions=[org.uscc],
                                     permissions=sorted(set(scopes)), created_by=by)
    except clients.ClientError as exc:
        raise ApplicationError({"label" if exc.field == "name" else exc.field:
                                exc.message}) from exc
    client.organisation_code, client.label = org.uscc, label
    db.session.flush()
    return client, key


def revoke(org: Application | None, *, client_id: int, by: str | None) -> MachineClient:
    org = _active_exchange(org)
    client = next((c for c in list_for(org) if c.id == client_id), None)
    if client is None:
        raise ApplicationError({"client": "密钥不存在或不属于本机构"}, status=404)
    return clients.revoke(name=client.name, by=by)


def revoke_all(org: Application, *, reason: str) -> int:
    """Suspension: every key of the organisation revoked (one audit record per key) and its
    webhooks switched off. Returns how many keys were live."""
    from app.onboarding import webhooks

    live = [c for c in list_for(org) if c.active]
    for c in live:
        clients.revoke(name=c.name, by=f"机构暂停：{reason[:200]}")
    webhooks.disable_all(org_code=org.uscc, reason="机构暂停")
    return len(live)


def as_json(c: MachineClient) -> dict[str, Any]:
    return {"id": c.id, "name": c.label or c.name, "client": c.name,
            "key_prefix": f"{clients.PREFIX}{c.key_prefix}",
            "scopes": sorted(c.user.roles[0].permissions or []) if c.user.roles else [],
            "active": c.active, "managed_by_organisation": c.organisation_code is not None,
            "created_at": c.created_at.isoformat() + "Z", "created_by": c.created_by,
            "revoked_at": c.revoked_at.isoformat() + "Z" if c.revoked_at else None}


# -- what a key reads ---------------------------------------------------------------------------

def _account(org: Application) -> Account | None:
    return db.session.scalar(select(Account).where(Account.kind == "exchange",
                                                   Account.institution_code == org.uscc))


def lot_json(lot: Lot) -> dict[str, Any]:
    p: Project = lot.project
    fmt = lambda n: ledger.format_serial(p.code, lot.vintage, n)  # noqa: E731
    return {"lot": lot.id, "vintage": lot.vintage, "serial_start": fmt(lot.serial_start),
            "serial_end": fmt(lot.serial_end),
            "quantity_t": lot.serial_end - lot.serial_start + 1,
            "issued_at": lot.issued_at.isoformat() + "Z", "reference": lot.reference,
            "project": {"code": p.code, "name": p.name, "type": p.type,
                        "methodology": p.methodology, "region": p.region_code}}


def lots(org: Application) -> list[dict[str, Any]]:
    """The certified lots that reached this exchange's account (issued to it or transferred
    in), with what the account holds of each now."""
    acc = _account(org)
    if acc is None:
        return []
    ids = select(Movement.lot_id).where(Movement.credit_account_id == acc.id)
    out = []
    for lot in db.session.scalars(select(Lot).where(Lot.id.in_(ids)).order_by(Lot.id)):
        out.append({**lot_json(lot), "held_t": ledger.balance(account_id=acc.id,
                                                              lot_id=lot.id)})
    return out


def holdings(org: Application) -> dict[str, Any]:
    acc = _account(org)
    if acc is None:
        return {"account": None, "balance_t": 0, "holdings": []}
    return {"account": acc.code, "balance_t": ledger.balance(account_id=acc.id),
            "holdings": ledger.holdings(account_id=acc.id)}
