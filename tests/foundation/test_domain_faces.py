"""Each domain has one face (issue 11, point 11): cases' BPMN service tasks live in modules
named for what they do behind `cases/service.py`; the lower layers never import a higher
one from inside a function (docs/architecture.md, "Layers")."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
#: package -> packages above it it must not import lazily (registration hooks in a
#: package's `register(app)` are how higher layers plug in, and are allowed)
HIGHER = {
    "refdata": {"identity", "audit", "orgs", "energy", "accounting", "monitoring", "workflow",
                "cases", "web", "admin", "api"},
    "identity": {"orgs", "energy", "accounting", "monitoring", "workflow", "cases", "web",
                 "admin", "api"},
    "audit": {"energy", "accounting", "monitoring", "workflow", "cases", "web", "admin"},
    "crypto": {"energy", "accounting", "monitoring", "workflow", "cases", "web", "admin"},
    "jobs": {"energy", "accounting", "monitoring", "workflow", "cases", "web", "admin"},
    "energy": {"accounting", "monitoring", "workflow", "cases", "web", "admin", "api"},
    "accounting": {"monitoring", "workflow", "cases"},
    "workflow": {"cases"},
}


def _lazy_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and fn.name != "register":
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("app."):
                    out.append((node.lineno, node.module))
    return out


def test_no_lazy_import_points_upward():
    found = []
    for package, higher in HIGHER.items():
        for path in (APP / package).rglob("*.py"):
            for line, module in _lazy_imports(path):
                if module.split(".")[1] in higher:
                    found.append(f"{path.relative_to(APP.parent)}:{line} imports {module}")
    assert not found, "\n".join(found)


def test_cases_has_one_face_and_named_service_tasks():
    import app.cases  # noqa: F401
    from app.cases import archive, publication, reminders, report_review, service
    from app.workflow.engine.script_engine import _SERVICES

    assert not (APP / "cases" / "services.py").exists()
    assert {"CHECKS", "notify", "list_current_publications"} <= set(service.__all__)
    where = {name: fn.__module__ for name, fn in _SERVICES.items()}
    assert where["report.self_check"] == report_review.__name__
    assert where["report.publish"] == publication.__name__
    assert where["case.remind"] == reminders.__name__
    assert where["sample.archive"] == archive.__name__
