"""The platform's roles and the named permissions each one carries (R-5.3).

Roles are data in the `role` table; this is the set `cecp demo` and migrations seed, and
what the process designer's lanes may name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RoleDef:
    name: str
    label: str
    label_en: str
    user_class: str
    permissions: tuple[str, ...]


ROLES: tuple[RoleDef, ...] = (
    RoleDef("admin", "平台管理员", "Platform administrator", "internal", (
        "admin.access", "users.manage", "audit.read", "audit.export", "keys.manage",
        "services.manage", "case.admin", "monitor.read", "enterprise.read", "factors.manage",
        "institution.supervise",
    )),
    RoleDef("reviewer", "政府审核员（初审）", "Government reviewer (initial)", "government", (
        "case.review.initial", "monitor.read", "enterprise.read", "report.read",
        "factors.manage", "institution.supervise",
    )),
    RoleDef("approver", "政府审核员（终审）", "Government reviewer (final)", "government", (
        "case.review.final", "monitor.read", "enterprise.read", "report.read", "publish",
        "factors.manage", "institution.supervise",
    )),
    RoleDef("enterprise", "企业用户", "Enterprise user", "enterprise", (
        "energy.write", "report.submit", "enterprise.read", "report.read",
    )),
    RoleDef("verifier", "第三方核查机构", "Third-party verifier", "verifier", (
        "case.verify", "report.read", "enterprise.read",
    )),
    RoleDef("institution", "入驻机构", "Onboarded institution", "institution", (
        "monitor.read", "institution.workspace", "institution.energy",
    )),
    RoleDef("research", "科研机构成员", "Research institute member", "institution", (
        "institution.workspace", "research.request",
    )),
    RoleDef("exchange", "交易所成员", "Exchange member", "institution", (
        "institution.workspace",
    )),
    RoleDef("bank", "银行成员", "Bank member", "institution", (
        "institution.workspace",
    )),
    RoleDef("org_admin", "机构管理员", "Organisation administrator", "institution", (
        "institution.workspace", "org.manage",
    )),
    RoleDef("designer", "流程设计人员", "Process designer", "designer", (
        "designer.edit", "designer.deploy",
    )),
)

ROLE_NAMES = frozenset(r.name for r in ROLES)
USER_CLASSES = ("internal", "government", "enterprise", "verifier", "institution", "designer")
USER_CLASS_LABELS = {
    "internal": "内部用户", "government": "政府部门", "enterprise": "企业",
    "verifier": "核查机构", "institution": "入驻机构", "designer": "流程设计",
}


def role_def(name: str) -> RoleDef:
    for r in ROLES:
        if r.name == name:
            return r
    raise KeyError(name)
