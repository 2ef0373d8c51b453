"""Configuration from the environment; the embedded default needs none.

Secrets (session key, master key, password salt, TOTP key) come from a variable, or from a
file a ``*_FILE`` variable names. Only the embedded default (SQLite) generates them into
``instance/``: with PostgreSQL, several nodes share one database, and a secret generated on
one node would not be the others' (sessions, tokens, TOTP codes and every encrypted field
would work on one node only). There the platform refuses to start and names what to set.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path


class ConfigError(RuntimeError):
    """The configuration cannot run the platform (the message says what to set)."""


#: config key (None: the TOTP key inside SECURITY_TOTP_SECRETS), variable, instance file, bytes
SECRETS = (
    ("SECRET_KEY", "CECP_SECRET_KEY", "secret_key", 32),
    ("CECP_MASTER_KEY", "CECP_MASTER_KEY", "master.key", 16),
    ("SECURITY_PASSWORD_SALT", "CECP_PASSWORD_SALT", "password_salt", 16),
    (None, "CECP_TOTP_SECRET", "totp_secret", 32),
)


def _configured_secret(var: str) -> str | None:
    """The value of `var`, or the content of the file `var`_FILE names."""
    value = os.environ.get(var, "").strip()
    if value:
        return value
    path = os.environ.get(f"{var}_FILE", "").strip()
    if not path:
        return None
    try:
        value = Path(path).read_text().strip()
    except OSError as exc:
        raise ConfigError(f"{var}_FILE={path} 无法读取: {exc.strerror}") from exc
    if not value:
        raise ConfigError(f"{var}_FILE={path} 是空文件")
    return value


def _secrets(instance: Path, generate: bool) -> dict[str, str | None]:
    """Each secret variable's value; generated into instance/ only when `generate`."""
    out: dict[str, str | None] = {}
    for _key, var, filename, nbytes in SECRETS:
        value = _configured_secret(var)
        if value is None and generate:
            value = _instance_secret(instance, filename, nbytes)
        out[var] = value
    return out


def _is_postgresql(url: str | None) -> bool:
    return bool(url) and str(url).startswith(("postgresql", "postgres:"))


def _refuse_missing(cfg: dict) -> None:
    missing = []
    for key, var, _filename, _nbytes in SECRETS:
        value = (any((cfg.get("SECURITY_TOTP_SECRETS") or {}).values()) if key is None
                 else cfg.get(key))
        if not value:
            missing.append(f"  {var} (或 {var}_FILE=密钥文件路径)")
    if missing:
        raise ConfigError(
            "使用 PostgreSQL 时，平台不会自动生成密钥 (多个节点共用一套配置，每个节点各自生成的"
            "密钥互不相同)。请为所有节点设置相同的:\n" + "\n".join(missing)
            + "\n(PostgreSQL in use: secrets are never generated; set the variables above, "
            "the same on every node. See docs/operations.md.)")


def _instance_secret(instance: Path, name: str, nbytes: int) -> str:
    """Keep a generated secret in instance/ so restarts keep sessions and keys valid."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / name
    if not path.exists():
        path.write_text(secrets.token_hex(nbytes))
        path.chmod(0o600)
    return path.read_text().strip()


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _cookie_secure(raw: str | None) -> bool | str:
    """CECP_COOKIE_SECURE: "auto" (default: Secure when the request came over HTTPS),
    or true / false."""
    value = (raw or "auto").strip().lower()
    if value == "auto":
        return "auto"
    return value in {"1", "true", "yes", "on"}


def build_config(instance_path: str, overrides: dict | None = None) -> dict:
    instance = Path(instance_path)
    env = os.environ
    overrides = overrides or {}
    db_url = env.get("CECP_DATABASE_URL") or f"sqlite:///{instance / 'cecp.db'}"
    shared = _is_postgresql(overrides.get("SQLALCHEMY_DATABASE_URI", db_url))
    secret = _secrets(instance, generate=not shared)
    cfg: dict = {
        "SECRET_KEY": secret["CECP_SECRET_KEY"],
        "CECP_MASTER_KEY": secret["CECP_MASTER_KEY"],
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "CECP_REDIS_URL": env.get("CECP_REDIS_URL") or None,
        "CECP_QUEUE_PREFIX": env.get("CECP_QUEUE_PREFIX", "cecp"),
        "CECP_HEALTH_REQUIRE_WORKER": _bool("CECP_HEALTH_REQUIRE_WORKER", False),
        # Serving processes: generation-0 GC threshold (app.platform.serving; 0 = default)
        "CECP_GC_THRESHOLD": int(env.get("CECP_GC_THRESHOLD", 20000)),
        # Overload protection per worker process (app.platform.overload; 0 turns it off)
        "CECP_MAX_INFLIGHT": int(env.get("CECP_MAX_INFLIGHT", 4)),
        "CECP_MAX_QUEUE": int(env.get("CECP_MAX_QUEUE", 32)),
        "CECP_MAX_QUEUE_WAIT": float(env.get("CECP_MAX_QUEUE_WAIT", 3)),
        "CECP_RETRY_AFTER": int(env.get("CECP_RETRY_AFTER", 5)),
        # Who may read /api/v1/metrics and the detailed health: a bearer token, or a client
        # address in these networks (app.platform.access); everyone else sees up/down only.
        "CECP_METRICS_TOKEN": _configured_secret("CECP_METRICS_TOKEN"),
        "CECP_METRICS_NETWORKS": [n.strip() for n in env.get(
            "CECP_METRICS_NETWORKS", "127.0.0.0/8,::1/128").split(",") if n.strip()],
        # Service registry: etcd endpoint (v3 JSON gateway) in production; unset keeps the
        # database table (app.platform.nodes), the embedded default.
        "CECP_ETCD_URL": env.get("CECP_ETCD_URL") or None,
        "CECP_ETCD_PREFIX": env.get("CECP_ETCD_PREFIX", "/cecp"),
        "CECP_ETCD_TTL": int(env.get("CECP_ETCD_TTL", 15)),
        # Static files: browsers keep content-hashed URLs this long (seconds)
        "CECP_STATIC_MAX_AGE": int(env.get("CECP_STATIC_MAX_AGE", 365 * 24 * 3600)),
        # Self-monitoring thresholds (app.platform.alerts)
        "CECP_ALERT_5XX_RATIO": float(env.get("CECP_ALERT_5XX_RATIO", 0.05)),
        "CECP_ALERT_QUEUE_DEPTH": int(env.get("CECP_ALERT_QUEUE_DEPTH", 500)),
        "CECP_ALERT_REFUSALS": int(env.get("CECP_ALERT_REFUSALS", 20)),
        "CECP_ALERT_DISK_FREE": float(env.get("CECP_ALERT_DISK_FREE", 0.10)),
        "CECP_DEMO_PASSWORD": env.get("CECP_DEMO_PASSWORD", "Demo#2026pass"),
        # Address printed in documents' QR codes (`/documents/<id>/verify`); default: the
        # request's host, or http://localhost:5000 in jobs (app/documents)
        "CECP_PUBLIC_URL": env.get("CECP_PUBLIC_URL") or None,
        # generate the carbon accounting report when a report case is submitted / published
        "CECP_REPORTS_ON_CASES": _bool("CECP_REPORTS_ON_CASES", True),
        # rebuild issued reports when their accounts change (a new version supersedes)
        "CECP_REPORTS_ON_ACCOUNT_CHANGE": _bool("CECP_REPORTS_ON_ACCOUNT_CHANGE", True),
        # Identity policy; every rule is configuration.
        "CECP_LOCKOUT_ATTEMPTS": int(env.get("CECP_LOCKOUT_ATTEMPTS", 5)),
        "CECP_LOCKOUT_WINDOW_MINUTES": int(env.get("CECP_LOCKOUT_WINDOW_MINUTES", 15)),
        "CECP_IDLE_TIMEOUT_MINUTES": int(env.get("CECP_IDLE_TIMEOUT_MINUTES", 30)),
        # Sessions (app.identity.sessions) and request limits (docs/security.md)
        "CECP_SESSION_MAX_HOURS": float(env.get("CECP_SESSION_MAX_HOURS", 12)),
        "CECP_COOKIE_SECURE": _cookie_secure(env.get("CECP_COOKIE_SECURE")),
        "CECP_PROXY_HOPS": int(env.get("CECP_PROXY_HOPS", 0)),
        "MAX_CONTENT_LENGTH": int(env.get("CECP_MAX_CONTENT_LENGTH", 64 * 1024 * 1024)),
        "CECP_RATELIMIT_ENABLED": _bool("CECP_RATELIMIT_ENABLED", True),
        "CECP_RATELIMIT_LOGIN_IP": env.get("CECP_RATELIMIT_LOGIN_IP", "30/minute;200/hour"),
        "CECP_RATELIMIT_LOGIN_ACCOUNT": env.get(
            "CECP_RATELIMIT_LOGIN_ACCOUNT", "5/minute;10/10 minutes;20/hour;50/day"),
        "CECP_RATELIMIT_RESET": env.get("CECP_RATELIMIT_RESET", "5/hour"),
        "CECP_RATELIMIT_PUBLIC": env.get("CECP_RATELIMIT_PUBLIC", "120/minute"),
        "CECP_RATELIMIT_API": env.get("CECP_RATELIMIT_API", "600/minute"),
        "CECP_PASSWORD_MIN_CLASSES": int(env.get("CECP_PASSWORD_MIN_CLASSES", 3)),
        "CECP_PASSWORD_EXPIRY_DAYS": int(env.get("CECP_PASSWORD_EXPIRY_DAYS", 90)),
        "CECP_PASSWORD_HISTORY": int(env.get("CECP_PASSWORD_HISTORY", 5)),
        "CECP_TF_REQUIRED_ROLES": [
            r.strip()
            for r in env.get("CECP_TF_REQUIRED_ROLES",
                             "admin,reviewer,approver,org_admin").split(",")
            if r.strip()
        ],
        # Flask-Security-Too
        "SECURITY_PASSWORD_HASH": "argon2",
        # argon2id sized for a login-heavy morning (docs/operations.md "Password hashing"):
        # OWASP's first choice m=19 MiB, t=2, p=1, ~21 ms of one core per sign-in here
        # (libpass' default m=64 MiB, t=3, p=4 took ~170 ms CPU on both cores). Hashes with
        # other parameters are rehashed at the next successful sign-in.
        "SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS": {
            "argon2__memory_cost": int(env.get("CECP_ARGON2_MEMORY_KIB", 19456)),
            "argon2__rounds": int(env.get("CECP_ARGON2_TIME_COST", 2)),
            "argon2__parallelism": int(env.get("CECP_ARGON2_PARALLELISM", 1)),
        },
        "SECURITY_PASSWORD_SALT": secret["CECP_PASSWORD_SALT"],
        "SECURITY_PASSWORD_LENGTH_MIN": int(env.get("CECP_PASSWORD_LENGTH_MIN", 10)),
        "SECURITY_PASSWORD_COMPLEXITY_CHECKER": "zxcvbn",
        "SECURITY_ZXCVBN_MINIMUM_SCORE": int(env.get("CECP_PASSWORD_ZXCVBN_MIN", 3)),
        "SECURITY_PASSWORD_CHECK_BREACHED": False,
        "SECURITY_REGISTERABLE": False,
        # password reset by e-mail (the owner's way out of a lockout) when SMTP is configured
        "SECURITY_RECOVERABLE": bool(env.get("CECP_SMTP_HOST")),
        "SECURITY_RESET_PASSWORD_WITHIN": timedelta(
            minutes=int(env.get("CECP_RESET_PASSWORD_MINUTES", 60))),
        "SECURITY_EMAIL_SENDER": env.get("CECP_SMTP_FROM", "cecp@localhost"),
        # intranets: no DNS look-up of the mail domain when an address is checked
        "SECURITY_EMAIL_VALIDATOR_ARGS": {"check_deliverability": False},
        "SECURITY_CHANGEABLE": True,
        "SECURITY_SEND_PASSWORD_CHANGE_EMAIL": False,
        "SECURITY_TRACKABLE": True,
        "SECURITY_TWO_FACTOR": True,
        "SECURITY_TWO_FACTOR_ENABLED_METHODS": ["authenticator"],
        "SECURITY_TWO_FACTOR_ALWAYS_VALIDATE": True,
        "SECURITY_TOTP_ISSUER": "cecp",
        "SECURITY_TOTP_SECRETS": {"1": secret["CECP_TOTP_SECRET"]},
        "CECP_SMTP_HOST": env.get("CECP_SMTP_HOST"),
        "CECP_SMTP_PORT": int(env.get("CECP_SMTP_PORT", 25)),
        "CECP_SMTP_FROM": env.get("CECP_SMTP_FROM", "cecp@localhost"),
        "CECP_SMTP_USER": env.get("CECP_SMTP_USER"),
        "CECP_SMTP_PASSWORD": env.get("CECP_SMTP_PASSWORD"),
        "CECP_SMTP_STARTTLS": env.get("CECP_SMTP_STARTTLS", "").lower() in ("1", "true", "yes"),
        "SECURITY_MULTI_FACTOR_RECOVERY_CODES": True,
        # after TOTP enrolment, offer the recovery codes at once
        "SECURITY_TWO_FACTOR_POST_SETUP_VIEW": "/auth/mf-recovery-codes",
        "SECURITY_MULTI_FACTOR_RECOVERY_CODES_KEYS": None,
        "SECURITY_WEBAUTHN": True,
        "SECURITY_WAN_ALLOW_AS_FIRST_FACTOR": False,
        "SECURITY_WAN_ALLOW_AS_MULTI_FACTOR": True,
        "SECURITY_TOKEN_AUTHENTICATION_HEADER": "Authentication-Token",
        "SECURITY_TOKEN_MAX_AGE": int(env.get("CECP_TOKEN_MAX_AGE", 3600)),
        # Third-party verification (app/verification, docs/verification.md): a yearly total
        # at or above this (t CO2) makes verification mandatory; 26,000 t CO2e is the
        # threshold of 重点排放单位 in 《碳排放权交易管理办法（试行）》
        # （生态环境部令第 19 号）第八条
        "CECP_VERIFICATION_KEY_EMITTER_TCO2": env.get("CECP_VERIFICATION_KEY_EMITTER_TCO2",
                                                      "26000"),
        # a body may verify the same enterprise at most this many consecutive years
        # (platform policy, no standard fixes it: flagged as such on the page)
        "CECP_VERIFICATION_MAX_CONSECUTIVE_YEARS": int(
            env.get("CECP_VERIFICATION_MAX_CONSECUTIVE_YEARS", 3)),
        "SECURITY_CSRF_PROTECT_MECHANISMS": ["session", "basic"],
        "SECURITY_CSRF_IGNORE_UNAUTH_ENDPOINTS": False,
        "SECURITY_URL_PREFIX": "/auth",
        "SECURITY_POST_LOGIN_VIEW": "/",
        "SECURITY_POST_LOGOUT_VIEW": "/auth/login",
        "SECURITY_USE_REGISTER_V2": True,
        "SECURITY_FRESHNESS": timedelta(hours=1),
        "SECURITY_I18N_DIRNAME": [
            "builtin", str(Path(__file__).resolve().parent / "translations")],
        "WTF_CSRF_CHECK_DEFAULT": False,
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "PERMANENT_SESSION_LIFETIME": timedelta(
            hours=float(env.get("CECP_SESSION_MAX_HOURS", 12))),
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_DURATION": timedelta(minutes=0),
        "SECURITY_DEFAULT_REMEMBER_ME": False,
        "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        # OpenAPI (flask-smorest); the UI is served from our own static files.
        "API_TITLE": "cecp",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "/static/vendor/swagger-ui/",
        "JSON_AS_ASCII": False,
        # self-check: declared vs power-system electricity (a platform setting, not from
        # T/CEPPC 14-2023) and the mappings whose synced readings are the power system's
        "CECP_SELF_CHECK_ELECTRICITY_PCT": float(env.get("CECP_SELF_CHECK_ELECTRICITY_PCT", 10)),
        "CECP_POWER_SYSTEM_SYNCS": [n.strip() for n in env.get(
            "CECP_POWER_SYSTEM_SYNCS", "power_marketing").split(",") if n.strip()],
    }
    cfg.update(overrides)
    if shared:
        _refuse_missing(cfg)
    return cfg
