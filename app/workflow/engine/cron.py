"""Cron timer cycles as Camunda writes them (``<bpmn:timeCycle>0 0 9 * * ?</bpmn:timeCycle>``).

SpiffWorkflow's cycle timers read only ISO 8601 repeating intervals (``R3/PT10M``). Camunda 7
also accepts Quartz cron expressions: ``sec min hour day-of-month month day-of-week [year]``
with ``?`` for "no specific value" and day-of-week 1-7 = SUN-SAT; the classic 5-field Unix
form (``min hour dom month dow``, 0/7 = SUN) is accepted too. The next occurrence is computed
by croniter (maintained, handles ``L``, ``nW`` and ``#``); this module only translates the
Quartz dialect into croniter's: day-of-week numbers 1-7 become 0-6, Quartz ``6L`` (last
Friday) becomes croniter's ``L5``, a lone ``L`` in day-of-week is Saturday. Supported:
``*``, ``?``, numbers, names (JAN-DEC, SUN-SAT), lists, ranges, steps, ``L`` (last day of
the month), ``15W`` (nearest weekday), ``6#3`` (third Friday), ``6L`` (last Friday), a year
field. Refused at deploy with a message naming the element: ``LW``, ``L-3`` (croniter has
no equivalent) and anything croniter refuses. Times are Beijing time (the platform's time
zone), as an operator writing "9 o'clock" means.

`CronTimerEventDefinition` fires for ever (until its activity ends), like Camunda.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter
from croniter.croniter import CroniterError
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition

from .bpmn_xml import BPMN_NS

TZ = ZoneInfo("Asia/Shanghai")
_CRON_CHARS = re.compile(r"^[0-9A-Za-z*?,/#\- ]+$")
_QUARTZ_DOW = re.compile(r"^(?P<a>\d+|[A-Z]{3})(?:-(?P<b>\d+|[A-Z]{3}))?"
                         r"(?:(?P<hash>#\d+)|(?P<last>L)|/(?P<step>\d+))?$")


class CronError(ValueError):
    pass


def looks_like_cron(text: str | None) -> bool:
    """A 5-7 field cron expression (not an ISO interval, not a Python expression)."""
    if not text:
        return False
    text = text.strip().strip("'\"")
    return (
        bool(_CRON_CHARS.match(text))
        and 5 <= len(text.split()) <= 7
        and not text.upper().startswith(("R", "P"))
    )


def _dow_number(text: str, spec: str) -> str:
    if not text.isdigit():
        return text  # a name: the same in both dialects
    n = int(text)
    if not 1 <= n <= 7:
        raise CronError(f"cron 星期字段超出范围 1-7（1 = 周日）: {spec}")
    return str(n - 1)


def _quartz_dow(spec: str) -> str:
    """Quartz day-of-week (1-7 = SUN-SAT, ``6L``, ``6#3``) in croniter's dialect."""
    out = []
    for part in spec.upper().split(","):
        if part in ("*", "?") or part.startswith("*/"):
            out.append(part)
            continue
        if part == "L":
            out.append("6")  # Quartz: a lone L in day-of-week is 7 = SAT
            continue
        m = _QUARTZ_DOW.match(part)
        if m is None:
            raise CronError(f"cron 星期字段无效: {spec}")
        a = _dow_number(m["a"], spec)
        if m["last"]:
            if m["b"]:
                raise CronError(f"cron 星期字段无效: {spec}")
            out.append(f"L{a}")
            continue
        text = a + (f"-{_dow_number(m['b'], spec)}" if m["b"] else "")
        out.append(text + (m["hash"] or "") + (f"/{m['step']}" if m["step"] else ""))
    return ",".join(out)


class Cron:
    """A parsed cron expression; `next_after` gives the next firing moment (aware, UTC)."""

    def __init__(self, expression: str):
        self.expression = expression.strip().strip("'\"")
        parts = self.expression.split()
        if len(parts) == 5:  # Unix: min hour dom month dow (0/7 = SUN); croniter's own
            fields = [*parts]
            self._seconds = False
        elif len(parts) in (6, 7):  # Quartz: sec first, 1-7 = SUN-SAT, optional year
            fields = [*parts]
            fields[5] = _quartz_dow(parts[5])
            self._seconds = True
        else:
            raise CronError(f"cron 表达式需要 5、6 或 7 个字段: {expression}")
        dom = fields[-4 if len(parts) == 5 else 3].upper()
        if "LW" in dom or re.search(r"L-\d", dom):
            raise CronError(f"cron 日字段不支持 LW、L-n: {expression}")
        self._croniter_text = " ".join(fields)
        try:
            self.next_after(datetime(2026, 1, 1, tzinfo=UTC))
        except CronError:
            raise
        except (CroniterError, ValueError, KeyError, IndexError) as exc:
            raise CronError(f"cron 表达式无效: {expression}（{exc}）") from exc

    def next_after(self, moment: datetime) -> datetime | None:
        """The first occurrence strictly after `moment`, in Beijing time (None: never)."""
        local = moment.astimezone(TZ).replace(microsecond=0)
        try:
            it = croniter(self._croniter_text, local, second_at_beginning=self._seconds,
                          max_years_between_matches=10)
            nxt = it.get_next(datetime)
        except CroniterError as exc:
            if "failed to find" in str(exc).lower():
                return None
            raise
        return nxt.astimezone(UTC)


class CronTimerEventDefinition(CycleTimerEventDefinition):
    """A cycle timer whose expression is a cron expression (see the module docstring)."""

    def cycle_complete(self, my_task: Any) -> bool:
        cron = Cron(self.expression)
        event_value = my_task._get_internal_data("event_value")
        now = datetime.now(UTC)
        if event_value is None:
            first = cron.next_after(now)
            event_value = {
                "cycles": -1 if first else 0,
                "next": first.isoformat() if first else None,
                "duration": 0,
            }
        ready = False
        if event_value["cycles"] != 0 and event_value["next"]:
            next_event = datetime.fromisoformat(event_value["next"])
            if next_event < now:
                following = cron.next_after(now)
                if event_value["cycles"] > 0:  # a bounded run (a start timer closed early)
                    event_value["cycles"] -= 1
                if following is None:
                    event_value["cycles"] = 0
                else:
                    event_value["next"] = following.isoformat()
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
            return False
        my_task._set_internal_data(event_value=event_value)
        return ready


class CronTimerParserMixin:
    """For Spiff's event parsers: a ``timeCycle`` holding a cron expression becomes a
    `CronTimerEventDefinition`; everything else is parsed as before."""

    def parse_timer_event(self, event: Any) -> Any:
        cycle = event.find(f"{{{BPMN_NS}}}timeCycle")
        if cycle is not None and looks_like_cron(cycle.text):
            try:
                Cron(cycle.text)
            except CronError as exc:
                raise ValidationException(
                    str(exc),
                    node=self.node,  # type: ignore[attr-defined]
                    file_name=self.filename,
                ) from exc  # type: ignore[attr-defined]
            name = self.node.get("name", self.node.get("id"))  # type: ignore[attr-defined]
            return CronTimerEventDefinition(
                name, cycle.text.strip().strip("'\""), description=self.get_event_description(event)
            )  # type: ignore[attr-defined]
        return super().parse_timer_event(event)  # type: ignore[misc]


def cron_parsers() -> dict[str, Any]:
    """Parser overrides for CecpBpmnParser.OVERRIDE_PARSER_CLASSES."""
    from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

    out = {}
    for tag in ("startEvent", "boundaryEvent", "intermediateCatchEvent"):
        parser_cls, spec_cls = SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[full_tag(tag)]
        out[full_tag(tag)] = (
            type(f"Cron{parser_cls.__name__}", (CronTimerParserMixin, parser_cls), {}),
            spec_cls,
        )
    return out
