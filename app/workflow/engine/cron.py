"""Cron timer cycles as Camunda writes them (``<bpmn:timeCycle>0 0 9 * * ?</bpmn:timeCycle>``).

SpiffWorkflow's cycle timers read only ISO 8601 repeating intervals (``R3/PT10M``). Camunda 7
also accepts Quartz cron expressions: ``sec min hour day-of-month month day-of-week [year]``
with ``?`` for "no specific value" and day-of-week 1-7 = SUN-SAT; the classic 5-field Unix
form (``min hour dom month dow``, 0/7 = SUN) is accepted too. Supported per field: ``*``,
``?``, numbers, names (JAN-DEC, SUN-SAT), lists ``,``, ranges ``-`` and steps ``/``; not
supported (refused at deploy with a message): ``L``, ``W``, ``#``. Times are Beijing time
(the platform's time zone), as an operator writing "9 o'clock" means.

`CronTimerEventDefinition` fires for ever (until its activity ends), like Camunda.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition

from .bpmn_xml import BPMN_NS

TZ = ZoneInfo("Asia/Shanghai")
_MONTHS = {
    m: i + 1 for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())
}
_DAYS = {d: i for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split())}  # 0 = SUN
_CRON_CHARS = re.compile(r"^[0-9A-Za-z*?,/\- ]+$")


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


def _field(
    spec: str, lo: int, hi: int, names: dict[str, int] | None = None, what: str = ""
) -> set[int]:
    out: set[int] = set()
    for part in spec.upper().split(","):
        if any(c in part for c in "LW#"):
            raise CronError(f"cron 字段 {what} 不支持 L、W、#: {spec}")
        step = 1
        if "/" in part:
            part, raw_step = part.split("/", 1)
            step = int(raw_step)
            if step <= 0:
                raise CronError(f"cron 步长必须为正: {spec}")
        if part in ("*", "?", ""):
            start, end = lo, hi
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _value(a, names), _value(b, names)
        else:
            start = _value(part, names)
            end = hi if step > 1 else start
        if not (lo <= start <= hi and lo <= end <= hi) or start > end:
            raise CronError(f"cron 字段 {what} 超出范围 {lo}-{hi}: {spec}")
        out.update(range(start, end + 1, step))
    return out


def _value(text: str, names: dict[str, int] | None) -> int:
    if names and text in names:
        return names[text]
    if not text.isdigit():
        raise CronError(f"cron 值无效: {text}")
    return int(text)


class Cron:
    """A parsed cron expression; `next_after` gives the next firing moment (aware, UTC)."""

    def __init__(self, expression: str):
        self.expression = expression.strip().strip("'\"")
        parts = self.expression.split()
        if len(parts) == 5:  # Unix: min hour dom month dow (0/7 = SUN)
            parts = ["0", *parts]
            dow = _field(parts[5], 0, 7, _DAYS, "星期")
            self.dow = {d % 7 for d in dow}
        elif len(parts) in (6, 7):  # Quartz: 1-7 = SUN-SAT
            quartz_names = {k: v + 1 for k, v in _DAYS.items()}
            self.dow = {d - 1 for d in _field(parts[5], 1, 7, quartz_names, "星期")}
        else:
            raise CronError(f"cron 表达式需要 5、6 或 7 个字段: {expression}")
        self.seconds = sorted(_field(parts[0], 0, 59, what="秒"))
        self.minutes = sorted(_field(parts[1], 0, 59, what="分"))
        self.hours = sorted(_field(parts[2], 0, 23, what="时"))
        self.dom = _field(parts[3], 1, 31, what="日")
        self.months = _field(parts[4], 1, 12, _MONTHS, "月")
        self.years = _field(parts[6], 1970, 2199, what="年") if len(parts) == 7 else None
        self.dom_any = parts[3] in ("*", "?")
        self.dow_any = parts[5] in ("*", "?")

    def _day_matches(self, day: datetime) -> bool:
        if day.month not in self.months or (self.years and day.year not in self.years):
            return False
        dom_ok, dow_ok = day.day in self.dom, (day.weekday() + 1) % 7 in self.dow
        if self.dom_any and self.dow_any:
            return True
        if self.dom_any:
            return dow_ok
        if self.dow_any:
            return dom_ok
        return dom_ok or dow_ok  # both given: either (Unix semantics)

    def next_after(self, moment: datetime) -> datetime | None:
        local = moment.astimezone(TZ).replace(microsecond=0)
        day = local.replace(hour=0, minute=0, second=0)
        for _ in range(366 * 5):
            if self._day_matches(day):
                for h in self.hours:
                    for m in self.minutes:
                        for s in self.seconds:
                            cand = day.replace(hour=h, minute=m, second=s)
                            if cand > local:
                                return cand.astimezone(UTC)
            day = (day + timedelta(days=1, hours=2)).replace(hour=0)
        return None


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
