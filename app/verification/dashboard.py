"""The verifier's home panel (home.PANELS): its body's open verifications, statements
issued and the way to the workspace."""

from __future__ import annotations

from typing import Any

from flask import url_for

from app.identity.datascope import DataScope
from app.verification import service


def panels(user: Any, scope: DataScope) -> list[dict]:
    if not scope.verification_body or "verifier" not in getattr(user, "role_names", set()):
        return []
    cases = service.list_for(user=user)
    open_cases = [v for v in cases if v.status != "completed"]
    waiting = [v for v in open_cases if v.status == "assigned"]
    return [
        {
            "id": "panel-verification",
            "title": "核查工作台",
            "figures": [
                ("待接受委托", len(waiting), "件"),
                ("进行中核查", len(open_cases), "件"),
                ("已出具核查声明", len(service.statements_for(user=user)), "份"),
            ],
            "link": ("进入核查工作台", url_for("verification.workspace")),
        }
    ]
