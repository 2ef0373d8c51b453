"""The services this node hosts (R-4a, R-5.5): name, label, and a health probe each.

Domain packages register here; the health endpoint and the governance page read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Service:
    name: str
    label: str
    probe: Callable[[], tuple[bool, str]] | None = None
    required: bool = True
    depends: tuple[str, ...] = field(default_factory=tuple)


SERVICES: dict[str, Service] = {}


def register(service: Service) -> Service:
    SERVICES[service.name] = service
    return service


for _name, _label, _deps in (
    ("identity", "统一身份认证", ("database",)),
    ("audit", "统一日志审计", ("database",)),
    ("accounting", "碳排放核算", ("database",)),
    ("workflow", "流程引擎", ("database", "redis")),
    ("monitoring", "监测分析", ("database",)),
    ("reporting", "报告生成", ("database", "redis")),
    ("exchange", "信息交换", ("database",)),
):
    register(Service(_name, _label, depends=_deps))
