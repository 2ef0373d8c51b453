"""Bad input never gives a 500 (issue 11, point 9): schemathesis generates requests from the
OpenAPI document for every operation, as every role (real API tokens), and each response
must be a non-5xx that matches what the document says the operation returns. Bounded:
one round per operation by default (`CECP_FUZZ_EXAMPLES` rounds: in each, every role
sends one generated request, valid or deliberately invalid), no shrinking."""

from __future__ import annotations

import os
import re
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from app.refdata.uscc import make_uscc

EXAMPLES = int(os.environ.get("CECP_FUZZ_EXAMPLES", "1"))
ROLES = ("admin", "enterprise", "reviewer", "approver", "verifier", "bank", "designer")


@pytest.fixture()
def people(reference, make_user, auth):
    from app.orgs.models import Enterprise

    db = reference
    uscc = make_uscc("91330522MA2FUYY0Y")
    db.session.add(Enterprise(uscc=uscc, name="模糊测试水泥有限公司", region_code="330522",
                              industry_code="3011"))
    db.session.commit()
    scopes = {"enterprise": {"enterprise": uscc}, "reviewer": {"region": "330500"},
              "approver": {"region": "330000"}, "verifier": {"verification_body": "VB-1"},
              "bank": {"institution": "BANK-1"}}
    headers = {role: _token(auth, make_user(role, **scopes.get(role, {}))) for role in ROLES}
    headers["anonymous"] = {}
    return headers


def _token(auth, user) -> dict:
    for _ in range(3):  # a TOTP code read at a window's edge: the next one
        try:
            return auth(user)
        except AssertionError:
            time.sleep(1.5)
    return auth(user)


def test_every_operation_as_every_role(app, people):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    for result in schema.get_all_operations():
        _fuzz(result.ok(), people, failures)
    report = os.environ.get("CECP_FUZZ_REPORT")
    if report:
        with open(report, "w", encoding="utf-8") as fh:
            fh.write("\n".join(failures))
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:60])


def _titles(exc: BaseException) -> str:
    """The failure titles schemathesis lists ('- Server error', '- Response violates
    schema' ...) with the first detail line, or the exception's first line."""
    text = str(exc) + "".join(f"\n{e}" for e in getattr(exc, "exceptions", ()))
    found = re.findall(r"^- (.+)\n\n +(.+)$", text, flags=re.M)
    return "; ".join(sorted({f"{t} ({d[:160]})" for t, d in found})) or text[:300]


def _fuzz(op, people, failures) -> None:
    """`EXAMPLES` rounds; each generated request (valid or deliberately invalid) goes to the
    roles in turn, so every role sees every operation once per round."""
    roles = list(people.items())
    strategies = [op.as_strategy(GenerationMode.POSITIVE)]
    try:
        strategies.append(op.as_strategy(GenerationMode.NEGATIVE))
    except Exception:  # noqa: BLE001 - an operation without inputs has no invalid form
        pass
    turn = iter(range(10**6))

    @settings(max_examples=EXAMPLES * len(roles), deadline=None, database=None,
              derandomize=True, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=st.one_of(*strategies))
    def run(case):
        role, headers = roles[next(turn) % len(roles)]
        try:
            case.call_and_validate(headers={**(case.headers or {}), **headers},
                                   checks=[not_a_server_error, response_schema_conformance])
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected
            failures.append(f"{op.method.upper()} {op.path} as {role}: " + _titles(exc))

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - found at the end
        failures.append(f"{op.method.upper()} {op.path}: {_titles(exc)}")
