"""What the ledger tells exchanges (R-6.5.2), turned into webhook deliveries.

- `lot.certified`: a certified lot reaches an exchange's account for the first time — issued
  to it, or the first transfer of any of its serials into it (once per lot and endpoint).
- `transfer.requested`: each transfer into an exchange's account; it awaits the exchange's
  confirmation (`POST /api/v1/assets/movements/{id}/confirm`).
Called by `app.trading.ledger` inside the movement's transaction. No commits here."""

from __future__ import annotations

from collections.abc import Iterable

from app.onboarding import webhooks
from app.trading import ledger
from app.trading.models import Account, Lot, Movement


def _lot_data(lot: Lot, account: Account) -> dict:
    from app.onboarding.exchange_keys import lot_json

    return {**lot_json(lot), "account": account.code}


def lot_reached(*, lot: Lot, account: Account) -> None:
    if account.kind != "exchange" or not account.institution_code:
        return
    webhooks.emit(org_code=account.institution_code, event="lot.certified",
                  key=f"lot:{lot.id}", data=_lot_data(lot, account))


def transferred(*, lot: Lot, debit: Account, credit: Account,
                movements: Iterable[Movement]) -> None:
    if credit.kind != "exchange" or not credit.institution_code:
        return
    lot_reached(lot=lot, account=credit)
    code, vintage = lot.project.code, lot.vintage
    for mv in movements:
        webhooks.emit(
            org_code=credit.institution_code, event="transfer.requested",
            key=f"movement:{mv.id}",
            data={"movement": mv.id, "lot": lot.id, "project": code, "vintage": vintage,
                  "serial_start": ledger.format_serial(code, vintage, mv.serial_start),
                  "serial_end": ledger.format_serial(code, vintage, mv.serial_end),
                  "quantity_t": mv.quantity, "from_account": debit.code,
                  "to_account": credit.code,
                  "created_at": mv.created_at.isoformat() + "Z",
                  "confirm": f"/api/v1/assets/movements/{mv.id}/confirm"})
