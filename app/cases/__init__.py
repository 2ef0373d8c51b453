"""Cases: the domain side of the processes (self-check, publication, reminders)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from app.cases import services  # noqa: F401  (registers the BPMN services and hooks)
