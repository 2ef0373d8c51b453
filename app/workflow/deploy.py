"""Deploying process models: validate, store once per content hash, load bundles (cached).

A version's files are the BPMN/DMN files plus every form file its user tasks reference
(uploaded with it or taken from `forms/` at deploy time), so a changed form is a new version
and an instance keeps the exact forms it started with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import defer

from app.audit import service as audit
from app.db import utcnow
from app.extensions import db
from app.identity.roles import ROLE_NAMES
from app.workflow import engine
from app.workflow.errors import DeployRejected, NotFound
from app.workflow.models import ProcessModel, ProcessModelVersion

ROOT = Path(__file__).resolve().parents[2]
PROCESSES_DIR = ROOT / "processes"
FORM_SUFFIX = ".json"


@dataclass(frozen=True)
class LoadedVersion:
    """A deployed version ready to run: the engine bundle and its forms by name."""

    version_id: int
    bundle: engine.ModelBundle
    forms: dict[str, dict[str, Any]]
    has_messages: bool = True

    def form_for(self, task_name: str) -> dict[str, Any]:
        return self.bundle.form_for(task_name, loader=self.load_form)

    def load_form(self, name: str) -> dict[str, Any]:
        if name in self.forms:
            return self.forms[name]
        return engine.load_form(name)


_CACHE: dict[str, LoadedVersion] = {}


def _text(content: bytes | str) -> str:
    return content.decode("utf-8") if isinstance(content, bytes) else content


def split_files(files: dict[str, bytes | str]) -> tuple[dict[str, bytes], dict[str, Any]]:
    """(model files, forms by name); a form is ``<name>.json``; other files are ignored."""
    models: dict[str, bytes] = {}
    forms: dict[str, Any] = {}
    for name, content in files.items():
        base = Path(name).name
        raw = content.encode("utf-8") if isinstance(content, str) else content
        if base.lower().endswith(engine.parser.MODEL_SUFFIXES):
            models[base] = raw
        elif base.lower().endswith(FORM_SUFFIX):
            try:
                forms[base[: -len(FORM_SUFFIX)]] = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                forms[base[: -len(FORM_SUFFIX)]] = exc
    return models, forms


def validate(files: dict[str, bytes | str]) -> list[dict[str, Any]]:
    """Every problem of an upload as {file, element_id, message} (empty = deployable)."""
    models, forms = split_files(files)
    problems = [{"file": f"{n}.json", "element_id": None, "message": f"表单不是合法的 JSON: {v}"}
                for n, v in forms.items() if isinstance(v, Exception)]
    for name, form in forms.items():
        if not isinstance(form, Exception):
            problems += [{"file": f"{name}.json", "element_id": None, "message": p}
                         for p in engine.validate_form_schema(form)]
    if not models:
        return problems + [{"file": "", "element_id": None, "message": "没有 BPMN 文件"}]

    def exists(name: str) -> bool:
        return name in forms or engine.form_exists(name)

    def loader(name: str) -> Any:
        return forms[name] if name in forms else engine.load_form(name)

    found = engine.validate_model(models, known_roles=set(ROLE_NAMES),
                                  known_services=set(engine.registered_services()),
                                  form_exists=exists, form_loader=loader)
    return problems + [{"file": p.file, "element_id": p.element_id, "message": p.message}
                       for p in found]


def _with_forms(models: dict[str, bytes], forms: dict[str, Any]) -> dict[str, str]:
    bundle = engine.load_model(models)
    stored = {n: _text(c) for n, c in models.items()}
    for info in bundle.user_tasks.values():
        name = info.form.name
        if info.form.kind == "file" and name:
            form = forms[name] if name in forms else engine.load_form(name)
            stored[f"{name}{FORM_SUFFIX}"] = json.dumps(form, ensure_ascii=False, sort_keys=True)
    return stored


def deploy(*, files: dict[str, bytes | str], user: Any = None,
           label: str | None = None) -> tuple[ProcessModelVersion, bool]:
    """Validate and store; returns (version, created). Identical content -> the existing
    version, created False. Raises `DeployRejected` with the problem list."""
    problems = validate(files)
    if problems:
        raise DeployRejected(problems)
    models, forms = split_files(files)
    stored = _with_forms(models, forms)
    digest = engine.content_hash({n: c.encode("utf-8") for n, c in stored.items()})
    bundle = engine.load_model(models)
    model = db.session.scalar(select(ProcessModel).where(ProcessModel.key == bundle.process_id))
    name = label or bundle.spec.description or bundle.process_id
    if model is None:
        model = ProcessModel(key=bundle.process_id, name=name[:200], latest_version=0)
        db.session.add(model)
        db.session.flush()
    existing = db.session.scalar(select(ProcessModelVersion).where(
        ProcessModelVersion.model_id == model.id, ProcessModelVersion.content_hash == digest))
    if existing is not None:
        return existing, False
    model.latest_version += 1
    model.name = name[:200]
    model.updated_at = utcnow()
    row = ProcessModelVersion(
        model_id=model.id, version=model.latest_version, content_hash=digest,
        files=json.dumps(stored, ensure_ascii=False, sort_keys=True), flavor=bundle.flavor,
        deployed_by=getattr(user, "email", None) if user is not None else "system")
    db.session.add(row)
    db.session.flush()
    audit.record("workflow.model.deploy", object_type="workflow_model", object_id=model.key,
                 user=user, summary={"version": row.version, "content_hash": digest,
                                     "files": sorted(stored)})
    return row, True


def builtin_files(name: str) -> dict[str, bytes]:
    """The model files of processes/<name>/ (tests and other files are ignored later)."""
    folder = PROCESSES_DIR / name
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if p.is_file() and p.suffix.lower() in (".bpmn", ".dmn", ".json")}


def builtin_names() -> list[str]:
    return sorted(p.name for p in PROCESSES_DIR.iterdir()
                  if p.is_dir() and any(p.glob("*.bpmn")))


def deploy_builtins(*, user: Any = None) -> list[tuple[str, int, bool]]:
    """Deploy every processes/*/ model; returns (key, version, created)."""
    out = []
    for name in builtin_names():
        row, created = deploy(files=builtin_files(name), user=user)
        out.append((row.model.key, row.version, created))
    return out


def loaded(version: ProcessModelVersion) -> LoadedVersion:
    """The runnable bundle of a version (parsed once per content hash per process)."""
    hit = _CACHE.get(version.content_hash)
    if hit is not None and hit.version_id == version.id:
        return hit
    files = json.loads(version.files)
    models, forms = split_files(files)
    bundle = engine.load_model(models)
    result = LoadedVersion(version.id, bundle, forms, _has_messages(bundle))
    _CACHE[version.content_hash] = result
    return result


def _has_messages(bundle: engine.ModelBundle) -> bool:
    from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition

    specs = [bundle.spec, *bundle.subprocess_specs.values()]
    return any(isinstance(getattr(ts, "event_definition", None), MessageEventDefinition)
               for spec in specs for ts in spec.task_specs.values())


def loaded_by_id(version_id: int, content_hash: str | None = None) -> LoadedVersion:
    """The runnable version; with its content hash known, no database read is needed."""
    hit = _CACHE.get(content_hash) if content_hash else None
    if hit is not None and hit.version_id == version_id:
        return hit
    version = db.session.get(ProcessModelVersion, version_id)
    if version is None:
        raise NotFound("流程版本不存在")
    return loaded(version)


def get_model(*, key_or_id: str | int) -> ProcessModel:
    stmt = select(ProcessModel)
    if isinstance(key_or_id, int) or str(key_or_id).isdigit():
        stmt = stmt.where(ProcessModel.id == int(key_or_id))
    else:
        stmt = stmt.where(ProcessModel.key == str(key_or_id))
    model = db.session.scalar(stmt)
    if model is None:
        raise NotFound(f"流程模型不存在: {key_or_id}")
    return model


def latest_version(model: ProcessModel) -> ProcessModelVersion:
    version = db.session.scalar(select(ProcessModelVersion).where(
        ProcessModelVersion.model_id == model.id).order_by(
        ProcessModelVersion.version.desc()).limit(1))
    if version is None:
        raise NotFound(f"流程模型 {model.key} 尚未部署")
    return version


_LATEST = (select(ProcessModel, ProcessModelVersion)
           .outerjoin(ProcessModelVersion, ProcessModelVersion.model_id == ProcessModel.id)
           .options(defer(ProcessModelVersion.files))
           .order_by(ProcessModelVersion.version.desc()).limit(1))
_LATEST_BY_ID = _LATEST.where(ProcessModel.id == bindparam("b_model"))
_LATEST_BY_KEY = _LATEST.where(ProcessModel.key == bindparam("b_model"))


def get_latest(*, key_or_id: str | int) -> tuple[ProcessModel, ProcessModelVersion]:
    """A model and its latest version in one query; the version's files are loaded only
    when its bundle is not cached yet (`loaded`)."""
    if isinstance(key_or_id, int) or str(key_or_id).isdigit():
        row = db.session.execute(_LATEST_BY_ID, {"b_model": int(key_or_id)}).first()
    else:
        row = db.session.execute(_LATEST_BY_KEY, {"b_model": str(key_or_id)}).first()
    if row is None:
        raise NotFound(f"流程模型不存在: {key_or_id}")
    if row[1] is None:
        raise NotFound(f"流程模型 {row[0].key} 尚未部署")
    return row[0], row[1]


def get_all() -> list[ProcessModel]:
    return list(db.session.scalars(select(ProcessModel).order_by(ProcessModel.key)))
