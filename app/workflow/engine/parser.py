"""Load BPMN + DMN files into a `ModelBundle`: the specs plus what the platform needs to know
about each task (lane, form, service).

Why one parser for both modelers: SpiffWorkflow's `CamundaParser` reads inline forms but
leaves ``bpmn:serviceTask`` as a no-op task that stays STARTED for ever (checked on 3.2), does
not understand ``${...}`` conditions, and needs its own serializer configuration, while
`SpiffBpmnParser` refuses Camunda business rule tasks (no ``calledDecisionId``) and service
tasks (no ``serviceTaskOperator``). cecp therefore subclasses `SpiffBpmnParser` and teaches its
service task and business rule task parsers the Camunda attributes too (`bpmn_xml.py`); both
flavours produce the same Spiff spec classes and share one serializer. Inline Camunda forms
are read from the XML and converted to JSON Schema here.

A new parser is built for every call: a SpiffWorkflow parser refuses a file added twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.task_parsers import GatewayParser
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.manual_task import ManualTask as ManualTaskMixin
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask as UserTaskMixin
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import SpiffTaskParser
from SpiffWorkflow.spiff.specs.defaults import BusinessRuleTask

from . import bpmn_xml
from .bpmn_xml import FormRef
from .collaboration import camunda_message_payloads
from .cron import cron_parsers
from .errors import ModelError
from .events import use_task_data_payloads
from .external import external_topic
from .form_formats import form_ref
from .forms import load_form, resolve_form
from .multi_instance import localize_items, normalize_multi_instance
from .specs import CecpServiceTask, MergingParallelGateway

MODEL_SUFFIXES = (".bpmn", ".dmn", ".xml")
MI_CHILD = " [child]"  # SpiffWorkflow's name of the spec each multi-instance runs


class CecpServiceTaskParser(SpiffTaskParser):
    """Service task from ``spiffworkflow:serviceTaskOperator`` or Camunda attributes."""

    def create_task(self) -> CecpServiceTask:
        name, params = bpmn_xml.service_operation(self.node)
        if not name:
            raise ValidationException("服务任务未指定服务名称", node=self.node,
                                      file_name=self.filename)
        extensions = self.parse_extensions()
        operator = extensions.get("serviceTaskOperator") or {}
        spec = self.spec_class(
            self.spec, self.bpmn_id, operation_name=name, operation_params=params,
            result_variable=operator.get("resultVariable"),
            prescript=extensions.get("preScript"), postscript=extensions.get("postScript"),
            **self.bpmn_attributes)
        spec.external_topic = external_topic(self.node)
        return spec


class CecpBusinessRuleTaskParser(SpiffTaskParser):
    """Business rule task from ``spiffworkflow:calledDecisionId`` or ``camunda:decisionRef``."""

    def create_task(self) -> BusinessRuleTask:
        ref = self.get_decision_ref(self.node)
        if not ref:
            raise ValidationException("业务规则任务未指定 DMN 决策", node=self.node,
                                      file_name=self.filename)
        extensions = self.parse_extensions()
        return BusinessRuleTask(
            self.spec, self.bpmn_id,
            dmnEngine=self.process_parser.parser.get_engine(ref, self.node),
            prescript=extensions.get("preScript"), postscript=extensions.get("postScript"),
            **self.bpmn_attributes)

    @staticmethod
    def get_decision_ref(node: etree._Element) -> str | None:
        return bpmn_xml.decision_ref(node)


class CecpBpmnParser(SpiffBpmnParser):
    """`SpiffBpmnParser` that also understands Camunda service and business rule tasks and
    merges data at parallel joins."""

    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (CecpServiceTaskParser, CecpServiceTask),
        full_tag("businessRuleTask"): (CecpBusinessRuleTaskParser, BusinessRuleTask),
        full_tag("parallelGateway"): (GatewayParser, MergingParallelGateway),
        **cron_parsers(),
    }


@dataclass(frozen=True)
class UserTaskInfo:
    """What the inbox needs about one user (or manual) task spec."""

    name: str          # BPMN id, unique in the model; the task spec name
    label: str         # BPMN name (Chinese), falls back to the id
    lane: str | None   # lane name = role name; None = the initiator does it
    form: FormRef


@dataclass(frozen=True, eq=False)
class ModelBundle:
    """A parsed, deployable model. Persist `files` once per `content_hash` and rebuild the
    bundle with `load_model(files)` (cache it per hash); instances keep the hash they began on.
    """

    process_id: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    content_hash: str
    files: dict[str, bytes]
    flavor: str                                   # "spiff" | "camunda" | "bpmn" | "mixed"
    user_tasks: dict[str, UserTaskInfo] = field(default_factory=dict)
    services: dict[str, str] = field(default_factory=dict)   # service task -> service name
    start_form: FormRef | None = None   # form of the (none) start event, shown at start

    @property
    def lanes(self) -> dict[str, str | None]:
        return {n: t.lane for n, t in self.user_tasks.items()}

    @property
    def forms(self) -> dict[str, str | None]:
        """User task -> form file name (None: inline Camunda form or the generic form)."""
        return {n: t.form.name for n, t in self.user_tasks.items()}

    def form_for(self, task_name: str, loader: Any = load_form) -> dict[str, Any]:
        """The form document of a user task (file, converted inline form or generic)."""
        return resolve_form(self.user_tasks[task_name].form, loader)


def content_hash(files: dict[str, bytes]) -> str:
    """SHA-256 over the sorted (name, content) pairs, length-prefixed so it is unambiguous."""
    digest = hashlib.sha256()
    for name in sorted(files):
        raw_name = name.encode("utf-8")
        digest.update(len(raw_name).to_bytes(4, "big") + raw_name)
        digest.update(len(files[name]).to_bytes(8, "big") + files[name])
    return digest.hexdigest()


def parse_files(files: dict[str, bytes | str]) -> dict[str, tuple[str, etree._Element]]:
    """Safely parse the model files: name -> (kind, root). Non-XML files are skipped."""
    parsed = {}
    for name, content in files.items():
        if not name.lower().endswith(MODEL_SUFFIXES):
            continue
        root = bpmn_xml.safe_parse(content, name)
        kind = bpmn_xml.file_kind(root)
        if kind == "other":
            if name.lower().endswith(".xml"):
                continue
            raise ModelError("既不是 BPMN 2.0 也不是 DMN 文件", file=name)
        parsed[name] = (kind, root)
    return parsed


def _form_ref(node: etree._Element) -> FormRef:
    return form_ref(node)


def start_form_ref(root: etree._Element, process_id: str) -> FormRef | None:
    """The form on the start event of `process_id` (Camunda ``formField``/``formKey``/
    ``formRef``, Spiff form properties), or None when it has none."""
    for process in root.iter(f"{{{bpmn_xml.BPMN_NS}}}process"):
        if process.get("id") != process_id:
            continue
        for event in process.findall(f"{{{bpmn_xml.BPMN_NS}}}startEvent"):
            if len(event) and event.find(f"{{{bpmn_xml.BPMN_NS}}}messageEventDefinition") is None \
                    and event.find(f"{{{bpmn_xml.BPMN_NS}}}timerEventDefinition") is None:
                ref = form_ref(event)
                if ref.kind != "generic":
                    return ref
    return None


def load_model(files: dict[str, bytes | str], process_id: str | None = None) -> ModelBundle:
    """Parse BPMN and DMN files (names ending .bpmn/.dmn/.xml; others ignored) into a bundle.

    `process_id` picks the process when several executable processes are not called by
    another; otherwise the only top-level one is used. Raises `ModelError` (Chinese message,
    file, element id) on any problem.
    """
    parsed = parse_files(files)
    raw = {n: (c.encode("utf-8") if isinstance(c, str) else c)
           for n, c in files.items() if n in parsed}
    if not any(kind == "bpmn" for kind, _ in parsed.values()):
        raise ModelError("没有 BPMN 文件")
    parser = CecpBpmnParser(validator=VALIDATOR)
    collections: dict[str, str] = {}
    try:
        for name, (kind, root) in sorted(parsed.items(), key=lambda i: i[1][0] != "dmn"):
            if kind == "dmn":
                parser.add_dmn_xml(root, filename=name)
            else:
                bpmn_xml.normalize_expressions(root)
                collections.update(normalize_multi_instance(root, name))
                camunda_message_payloads(root)
                parser.add_bpmn_xml(root, filename=name)
        executable = parser.get_process_ids()
        top = [p for p in executable if p not in parser.get_process_dependencies()]
        if process_id is None:
            if len(top) != 1:
                raise ModelError(f"需要恰好一个顶层可执行流程，实际为: {top or '无'}")
            process_id = top[0]
        elif process_id not in executable:
            raise ModelError(f"流程不存在或不可执行: {process_id}")
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
        localize_items([spec, *subprocess_specs.values()], collections)
        use_task_data_payloads([spec, *subprocess_specs.values()])
    except ValidationException as exc:
        line = f"（第 {exc.line_number} 行）" if getattr(exc, "line_number", None) else ""
        raise ModelError(f"模型解析失败{line}: {exc}", file=exc.file_name or None,
                         element_id=exc.id or None) from exc
    nodes = {}
    for kind, root in parsed.values():
        if kind == "bpmn":
            nodes.update((el.get("id"), el) for el in root.iter(
                f"{{{bpmn_xml.BPMN_NS}}}userTask", f"{{{bpmn_xml.BPMN_NS}}}manualTask"))
    user_tasks: dict[str, UserTaskInfo] = {}
    services: dict[str, str] = {}
    for process in [spec, *subprocess_specs.values()]:
        for ts in process.task_specs.values():
            node_id = ts.name.removesuffix(MI_CHILD)  # a multi-instance task's child spec
            if isinstance(ts, (UserTaskMixin, ManualTaskMixin)) and node_id in nodes:
                info = UserTaskInfo(ts.name, ts.bpmn_name or ts.name, ts.lane,
                                    _form_ref(nodes[node_id]))
                ts.cecp_task = info  # read by runtime.ready_human_tasks
                user_tasks[ts.name] = info
            elif isinstance(ts, CecpServiceTask):
                services[ts.name] = ts.operation_name
    start_form = next((ref for kind, root in parsed.values() if kind == "bpmn"
                       for ref in [start_form_ref(root, process_id)] if ref is not None), None)
    flavors = {bpmn_xml.flavor(root) for kind, root in parsed.values() if kind == "bpmn"}
    flavors.discard("bpmn")
    return ModelBundle(
        process_id=process_id, spec=spec, subprocess_specs=subprocess_specs,
        content_hash=content_hash(raw), files=raw,
        flavor=flavors.pop() if len(flavors) == 1 else ("mixed" if flavors else "bpmn"),
        user_tasks=user_tasks, services=services, start_form=start_form)


def top_processes(root: etree._Element) -> list[tuple[str, str]]:
    """(id, name) of the executable processes of a BPMN document that no call activity of
    it calls: the pools of a collaboration a deploy may start. The name is the pool's
    (participant's) name when it has one."""
    q = f"{{{bpmn_xml.BPMN_NS}}}"
    called = {c.get("calledElement") for c in root.iter(f"{q}callActivity")}
    pools = {p.get("processRef"): p.get("name") for p in root.iter(f"{q}participant")}
    return [(p.get("id"), pools.get(p.get("id")) or p.get("name") or p.get("id"))
            for p in root.iter(f"{q}process")
            if p.get("isExecutable", "false").lower() == "true" and p.get("id") not in called]


def message_flows(root: etree._Element) -> list[dict[str, str | None]]:
    """The message flows of a collaboration (kept in the stored files; listed at deploy)."""
    return [{"id": f.get("id"), "name": f.get("name"), "source": f.get("sourceRef"),
             "target": f.get("targetRef")}
            for f in root.iter(f"{{{bpmn_xml.BPMN_NS}}}messageFlow")]


def apply_lane_roles(bundle: ModelBundle, lane_roles: dict[str, str]) -> ModelBundle:
    """Map lane names to role names in a freshly loaded bundle, in place (the deploy keeps
    the mapping with the version): the inbox assigns a task to `spec.lane`'s role."""
    if not lane_roles:
        return bundle
    for process in [bundle.spec, *bundle.subprocess_specs.values()]:
        for ts in process.task_specs.values():
            if getattr(ts, "lane", None) in lane_roles:
                ts.lane = lane_roles[ts.lane]
    for name, info in list(bundle.user_tasks.items()):
        if info.lane in lane_roles:
            mapped = UserTaskInfo(info.name, info.label, lane_roles[info.lane], info.form)
            bundle.user_tasks[name] = mapped
            for process in [bundle.spec, *bundle.subprocess_specs.values()]:
                ts = process.task_specs.get(name)
                if ts is not None and getattr(ts, "cecp_task", None) is not None:
                    ts.cecp_task = mapped
    return bundle
