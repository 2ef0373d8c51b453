"""Deploying process models: validate, store once per content hash, load bundles (cached).

A version's files are the BPMN/DMN files plus every form file it was uploaded with (JSON
Schema and UI schema, Camunda ``.form``, cecp forms) and the forms its tasks take from
`forms/` at deploy time, plus ``cecp.deploy.json``: the lane -> role mapping and the chosen
process of a collaboration. So a changed form or mapping is a new version and an instance
keeps the exact forms and assignment it started with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import defer

from app.audit import service as audit
from app.db import utcnow
from app.extensions import db
from app.identity.roles import ROLE_NAMES, ROLES
from app.workflow import engine
from app.workflow.engine.collaboration import partner_processes
from app.workflow.engine.form_formats import FormLibrary
from app.workflow.engine.parser import apply_lane_roles, message_flows, top_processes
from app.workflow.engine.validation import Report, check_model
from app.workflow.errors import DeployRejected, Invalid, NotFound
from app.workflow.models import ProcessModel, ProcessModelVersion

ROOT = Path(__file__).resolve().parents[2]
PROCESSES_DIR = ROOT / "processes"
FORM_SUFFIX = ".json"
FORM_SUFFIXES = (".json", ".form")
META_FILE = "cecp.deploy.json"       # {"process_id": ..., "lane_roles": {lane: role}}
SPIFF_META = "process_model.json"    # SpiffArena's model description (primary_process_id)


@dataclass(frozen=True)
class LoadedVersion:
    """A deployed version ready to run: the engine bundle and its form files."""

    version_id: int
    bundle: engine.ModelBundle
    forms: FormLibrary
    has_messages: bool = True

    def form_for(self, task_name: str) -> dict[str, Any]:
        resolved = self.forms.resolve(self.bundle.user_tasks[task_name].form)
        return resolved.form or engine.generic_review_form()

    def start_form(self) -> dict[str, Any] | None:
        """The start event's form (validated when an instance starts), or None."""
        ref = self.bundle.start_form
        return self.forms.resolve(ref).form if ref is not None else None


_CACHE: dict[str, LoadedVersion] = {}


def _text(content: bytes | str) -> str:
    return content.decode("utf-8") if isinstance(content, bytes) else content


def split_files(files: dict[str, bytes | str]) -> tuple[dict[str, bytes], dict[str, Any]]:
    """(model files, form files by file name -> parsed JSON or the parse error); the
    deploy metadata files and anything else are left out."""
    models: dict[str, bytes] = {}
    forms: dict[str, Any] = {}
    for name, content in files.items():
        base = Path(name).name
        raw = content.encode("utf-8") if isinstance(content, str) else content
        if base.lower().endswith(engine.parser.MODEL_SUFFIXES):
            models[base] = raw
        elif base.lower() in (META_FILE, SPIFF_META):
            continue
        elif base.lower().endswith(FORM_SUFFIXES):
            try:
                forms[base] = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                forms[base] = exc
    return models, forms


def read_meta(files: dict[str, bytes | str]) -> dict[str, Any]:
    """The stored deploy metadata, and SpiffArena's primary process when it is uploaded."""
    meta: dict[str, Any] = {}
    for name, content in files.items():
        base = Path(name).name.lower()
        if base not in (META_FILE, SPIFF_META):
            continue
        try:
            doc = json.loads(_text(content))
        except (UnicodeDecodeError, ValueError):
            continue
        if isinstance(doc, dict) and base == META_FILE:
            meta.update(doc)
        elif isinstance(doc, dict) and doc.get("primary_process_id"):
            meta.setdefault("process_id", doc["primary_process_id"])
            meta.setdefault("label", doc.get("display_name"))
    return meta


def _library(forms: dict[str, Any]) -> FormLibrary:
    return FormLibrary(forms, exists=engine.form_exists, loader=engine.load_form)


def _auto_roles(models: dict[str, bytes], lane_roles: dict[str, str]
                ) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Lanes named by a role's Chinese or English label (any case) map to that role."""
    labels = {r.label.lower(): r.name for r in ROLES} | {
        r.label_en.lower(): r.name for r in ROLES} | {r.name.lower(): r.name for r in ROLES}
    mapping, notes = dict(lane_roles), []
    for name, content in models.items():
        try:
            root = engine.bpmn_xml.safe_parse(content, name)
        except engine.ModelError:
            continue
        for lane in root.iter(f"{{{engine.bpmn_xml.BPMN_NS}}}lane"):
            label = (lane.get("name") or "").strip()
            role = labels.get(label.lower())
            if label and label not in ROLE_NAMES and label not in mapping and role:
                mapping[label] = role
                notes.append({"file": name, "element_id": lane.get("id"),
                              "message": f"泳道「{label}」按角色名称映射为 {role}"})
    return mapping, notes


def _problems(items: list[engine.Problem]) -> list[dict[str, Any]]:
    return [{"file": p.file, "element_id": p.element_id, "message": p.message} for p in items]


def check(files: dict[str, bytes | str], *, lane_roles: dict[str, str] | None = None,
          process_id: str | None = None) -> dict[str, Any]:
    """Errors (``problems``: every one, the model is refused) apart from ``warnings``, the
    ``unmapped_lanes`` and, for a collaboration of several pools, the ``processes`` to
    choose from; also the effective ``lane_roles`` and ``process_id``."""
    models, forms = split_files(files)
    meta = read_meta(files)
    lane_roles = {**(meta.get("lane_roles") or {}), **(lane_roles or {})}
    process_id = process_id or meta.get("process_id") or None
    problems = [{"file": n, "element_id": None, "message": f"表单不是合法的 JSON: {v}"}
                for n, v in forms.items() if isinstance(v, Exception)]
    for name, form in forms.items():
        if engine.form_formats.is_cecp_form(form):
            problems += [{"file": name, "element_id": None, "message": p}
                         for p in engine.validate_form_schema(form)]
    if not models:
        problems.append({"file": "", "element_id": None, "message": "没有 BPMN 文件"})
        return {"problems": problems, "warnings": [], "unmapped_lanes": [], "processes": [],
                "lane_roles": lane_roles, "process_id": process_id}
    lane_roles, notes = _auto_roles(models, lane_roles)
    report: Report = check_model(
        {**models}, known_roles=set(ROLE_NAMES), known_services=set(engine.registered_services()),
        forms=_library(forms), lane_roles=lane_roles, process_id=process_id)
    return {"problems": problems + _problems(report.errors),
            "warnings": notes + _problems(report.warnings),
            "unmapped_lanes": report.unmapped_lanes,
            "processes": [{"id": i, "name": n} for i, n in report.processes],
            "lane_roles": lane_roles, "process_id": process_id}


def validate(files: dict[str, bytes | str], **kwargs: Any) -> list[dict[str, Any]]:
    """Every error of an upload as {file, element_id, message} (empty = deployable)."""
    return check(files, **kwargs)["problems"]


def _stored_files(models: dict[str, bytes], forms: dict[str, Any], bundle: engine.ModelBundle,
                  meta: dict[str, Any], raw: dict[str, bytes | str]) -> dict[str, str]:
    stored = {n: _text(c) for n, c in models.items()}
    library = _library(forms)
    refs = [info.form for info in bundle.user_tasks.values()]
    if bundle.start_form is not None:
        refs.append(bundle.start_form)
    for ref in refs:
        builtin = library.resolve(ref).builtin
        if builtin:
            stored[f"{builtin}{FORM_SUFFIX}"] = json.dumps(engine.load_form(builtin),
                                                           ensure_ascii=False, sort_keys=True)
    uploaded = {Path(n).name: c for n, c in raw.items()}
    for name in forms:
        stored[name] = _text(uploaded[name])
    if meta:
        stored[META_FILE] = json.dumps(meta, ensure_ascii=False, sort_keys=True)
    return stored


@dataclass
class DeployResult:
    version: ProcessModelVersion
    created: bool
    warnings: list[dict[str, Any]] = field(default_factory=list)
    lane_roles: dict[str, str] = field(default_factory=dict)
    other_processes: list[dict[str, str]] = field(default_factory=list)
    message_flows: list[dict[str, Any]] = field(default_factory=list)
    partners: list[dict[str, Any]] = field(default_factory=list)  # pools deployed with it


def deploy(*, files: dict[str, bytes | str], user: Any = None,
           label: str | None = None, lane_roles: dict[str, str] | None = None,
           process_id: str | None = None) -> tuple[ProcessModelVersion, bool]:
    """Validate and store; returns (version, created). Identical content -> the existing
    version, created False. Raises `DeployRejected` with every problem."""
    result = deploy_model(files=files, user=user, label=label, lane_roles=lane_roles,
                          process_id=process_id)
    return result.version, result.created


def deploy_model(*, files: dict[str, bytes | str], user: Any = None,
                 label: str | None = None, lane_roles: dict[str, str] | None = None,
                 process_id: str | None = None) -> DeployResult:
    """`deploy` with what the designer shows after it: warnings, the lane mapping used,
    the other pools of a collaboration and its message flows. The executable pools joined
    to the chosen one by message flows are deployed too, each as its own model (key = its
    process id, same files and lane mapping): a message thrown in one pool starts or
    resumes the other at run time (`app.workflow.messaging.flows`)."""
    result = _deploy_one(files=files, user=user, label=label, lane_roles=lane_roles,
                         process_id=process_id)
    models, _forms = split_files(files)
    roots = _roots(models)
    executable = {i for r in roots for i, _ in top_processes(r)}
    for partner in partner_processes(roots, result.version.model.key, executable):
        other = _deploy_one(files=files, user=user, lane_roles=lane_roles,
                            process_id=partner)
        result.partners.append({"id": partner, "model": other.version.model.key,
                                "version": other.version.version, "created": other.created})
    return result


def _deploy_one(*, files: dict[str, bytes | str], user: Any = None,
                label: str | None = None, lane_roles: dict[str, str] | None = None,
                process_id: str | None = None) -> DeployResult:
    if lane_roles is not None and not (isinstance(lane_roles, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in lane_roles.items())):
        raise Invalid("lane_roles 必须是 {泳道名称: 角色名} 对象",
                      fields={"lane_roles": "格式错误"})
    report = check(files, lane_roles=lane_roles, process_id=process_id)
    if report["problems"]:  # the caller audits the refusal (after its rollback)
        raise DeployRejected(report["problems"], warnings=report["warnings"],
                             unmapped_lanes=report["unmapped_lanes"],
                             processes=report["processes"])
    models, forms = split_files(files)
    process_id = report["process_id"]
    bundle = engine.load_model(models, process_id=process_id)
    used_lanes = {info.lane for info in bundle.user_tasks.values() if info.lane}
    lanes = {k: v for k, v in report["lane_roles"].items() if k in used_lanes or k in {
        ln for r in _roots(models) for ln in _lane_names(r)}}
    tops = [p for r in _roots(models) for p in top_processes(r)]
    meta = {k: v for k, v in {"lane_roles": lanes or None,
                              "process_id": process_id if len(tops) > 1 else None}.items() if v}
    stored = _stored_files(models, forms, bundle, meta, files)
    digest = engine.content_hash({n: c.encode("utf-8") for n, c in stored.items()})
    model = db.session.scalar(select(ProcessModel).where(ProcessModel.key == bundle.process_id))
    name = label or read_meta(files).get("label") or bundle.spec.description or \
        bundle.process_id
    result = DeployResult(None, False, report["warnings"], lanes,  # type: ignore[arg-type]
                          [{"id": i, "name": n} for i, n in tops if i != bundle.process_id],
                          [f for r in _roots(models) for f in message_flows(r)])
    if model is None:
        model = ProcessModel(key=bundle.process_id, name=name[:200], latest_version=0)
        db.session.add(model)
        db.session.flush()
    existing = db.session.scalar(select(ProcessModelVersion).where(
        ProcessModelVersion.model_id == model.id, ProcessModelVersion.content_hash == digest))
    if existing is not None:
        result.version = existing
        return result
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
                                     "files": sorted(stored), "lane_roles": lanes,
                                     "warnings": len(report["warnings"])})
    result.version, result.created = row, True
    return result


def _roots(models: dict[str, bytes]) -> list[Any]:
    out = []
    for name, content in models.items():
        root = engine.bpmn_xml.safe_parse(content, name)
        if engine.bpmn_xml.file_kind(root) == "bpmn":
            out.append(root)
    return out


def _lane_names(root: Any) -> set[str]:
    return {ln.get("name") for ln in root.iter(f"{{{engine.bpmn_xml.BPMN_NS}}}lane")
            if ln.get("name")}


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
    meta = read_meta(files)
    bundle = apply_lane_roles(engine.load_model(models, process_id=meta.get("process_id")),
                              meta.get("lane_roles") or {})
    result = LoadedVersion(version.id, bundle, _library(forms), _has_messages(bundle))
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
