"""Domain hooks around the generic workflow actions (registered by app.cases and others).

- start hooks: ``fn(data, enterprise) -> dict`` normalise / check the start data of a process
  (raise `Invalid` with field errors); the returned dict is the instance's initial data.
- submit hooks: ``fn(data, task_data) -> (errors, extra)`` run before a user task completes:
  field errors beyond the JSON Schema (e.g. "warnings need an explanation") and extra data
  to store with the submission (e.g. a fresh self-check).
- title hooks: ``fn(data, enterprise) -> str``.
- context hooks: ``fn(inst, data) -> dict | None``: what a reviewer needs beside the task
  (the report's figures, a link to the account, previous returns and answers), rendered by
  the template the dict names (``template``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

StartHook = Callable[[dict[str, Any], Any], dict[str, Any]]
SubmitHook = Callable[[dict[str, Any], dict[str, Any]], tuple[dict[str, str], dict[str, Any]]]

START: dict[str, StartHook] = {}
SUBMIT: dict[tuple[str, str], SubmitHook] = {}
TITLE: dict[str, Callable[[dict[str, Any], Any], str]] = {}
CONTEXT: dict[str, Callable[[Any, dict[str, Any]], dict[str, Any] | None]] = {}
#: process key -> fn(data after the start hook) -> the verification body that is a party of
#: the case from its start (its tasks are offered only to that body's members)
CASE_BODY: dict[str, Callable[[dict[str, Any]], str | None]] = {}
#: process key -> fn(data after the start hook) -> the institution (code) that is a party of
#: the case (its members whose scope names it see the case and may work its lanes)
CASE_INSTITUTION: dict[str, Callable[[dict[str, Any]], str | None]] = {}
#: process key -> fn(start data, user) -> (region code, institution code), instead of the
#: enterprise / region of the start data: a case started by an institution that is about the
#: institution in its region (public institutions' disclosures: the region's government
#: reviewers work it). The hook checks the user belongs to it (raise `Forbidden` / `Invalid`).
CASE_PARTY: dict[str, Callable[[dict[str, Any], Any], tuple[str, str]]] = {}


def context(process_key: str) -> Callable[[Callable], Callable]:
    def register(fn: Callable) -> Callable:
        CONTEXT[process_key] = fn
        return fn
    return register


def on_start(process_key: str) -> Callable[[StartHook], StartHook]:
    def register(fn: StartHook) -> StartHook:
        START[process_key] = fn
        return fn
    return register


def on_submit(process_key: str, task_name: str) -> Callable[[SubmitHook], SubmitHook]:
    def register(fn: SubmitHook) -> SubmitHook:
        SUBMIT[(process_key, task_name)] = fn
        return fn
    return register


def title(process_key: str) -> Callable[[Callable], Callable]:
    def register(fn: Callable) -> Callable:
        TITLE[process_key] = fn
        return fn
    return register


def case_body(process_key: str) -> Callable[[Callable], Callable]:
    def register(fn: Callable) -> Callable:
        CASE_BODY[process_key] = fn
        return fn
    return register


def case_institution(process_key: str) -> Callable[[Callable], Callable]:
    def register(fn: Callable) -> Callable:
        CASE_INSTITUTION[process_key] = fn
        return fn
    return register


def case_party(process_key: str) -> Callable[[Callable], Callable]:
    def register(fn: Callable) -> Callable:
        CASE_PARTY[process_key] = fn
        return fn
    return register
