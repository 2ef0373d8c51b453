"""One platform node for the multi-node tests: `create_app()` from the environment, then
one JSON command per line on stdin, one JSON answer per line on stdout. Each command runs
in its own application context and unit of work, like a request; the process (and its key
caches) lives across commands, like a node."""

from __future__ import annotations

import json
import sys
from typing import Any


def _handle(cmd: dict[str, Any]) -> dict[str, Any]:
    from sqlalchemy import select

    from app.audit import service as audit
    from app.crypto.fields import token_version
    from app.extensions import db
    from app.identity import service as accounts
    from app.identity.models import User
    from app.uow import commit

    op = cmd["op"]
    if op == "put":
        user = accounts.create(email=cmd["email"], password="Strong#Pass2026x",
                               roles=["enterprise"], phone=cmd["phone"], check_policy=False)
        commit()
        return {"id": user.id}
    if op == "get":
        user = db.session.get(User, cmd["id"])
        return {"phone": user.phone, "version": token_version(user.phone_enc)}
    if op == "find":
        index = User.phone.index_value(User, cmd["phone"])
        return {"ids": list(db.session.scalars(select(User.id).where(
            User.phone_bidx == index)))}
    if op == "audit":
        for i in range(cmd["n"]):
            audit.record("node.event", object_type="node", object_id=cmd["node"],
                         summary={"i": i})
        commit()
        return {}
    if op == "rotate":
        from app.crypto.rotation import rotate_data_keys

        counts = rotate_data_keys()
        commit()
        return {"counts": counts}
    if op == "verify":
        problem = audit.verify_chain()
        return {"problem": None if problem is None else str(problem)}
    raise ValueError(f"unknown op {op}")


def main() -> None:
    from app import create_app
    from app.extensions import db

    app = create_app()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        with app.app_context():
            try:
                answer = _handle(json.loads(line))
            except Exception as exc:  # reported to the test, which fails on it
                db.session.rollback()
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            finally:
                db.session.remove()
        print(json.dumps(answer, default=str), flush=True)


if __name__ == "__main__":
    main()
