"""Configuration from the environment; the embedded default needs none."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path


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


def build_config(instance_path: str, overrides: dict | None = None) -> dict:
    instance = Path(instance_path)
    env = os.environ
    db_url = env.get("CECP_DATABASE_URL") or f"sqlite:///{instance / 'cecp.db'}"
    cfg: dict = {
        "SECRET_KEY": env.get("CECP_SECRET_KEY") or _instance_secret(instance, "secret_key", 32),
        "CECP_MASTER_KEY": env.get("CECP_MASTER_KEY")
        or _instance_secret(instance, "master.key", 16),
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "CECP_REDIS_URL": env.get("CECP_REDIS_URL") or None,
        "CECP_QUEUE_PREFIX": env.get("CECP_QUEUE_PREFIX", "cecp"),
        "CECP_HEALTH_REQUIRE_WORKER": _bool("CECP_HEALTH_REQUIRE_WORKER", False),
        # Serving processes: generation-0 GC threshold (app.platform.serving; 0 = default)
        "CECP_GC_THRESHOLD": int(env.get("CECP_GC_THRESHOLD", 20000)),
        "CECP_DEMO_PASSWORD": env.get("CECP_DEMO_PASSWORD", "Demo#2026pass"),
        # Identity policy; every rule is configuration.
        "CECP_LOCKOUT_ATTEMPTS": int(env.get("CECP_LOCKOUT_ATTEMPTS", 5)),
        "CECP_LOCKOUT_WINDOW_MINUTES": int(env.get("CECP_LOCKOUT_WINDOW_MINUTES", 15)),
        "CECP_IDLE_TIMEOUT_MINUTES": int(env.get("CECP_IDLE_TIMEOUT_MINUTES", 30)),
        "CECP_PASSWORD_MIN_CLASSES": int(env.get("CECP_PASSWORD_MIN_CLASSES", 3)),
        "CECP_PASSWORD_EXPIRY_DAYS": int(env.get("CECP_PASSWORD_EXPIRY_DAYS", 90)),
        "CECP_PASSWORD_HISTORY": int(env.get("CECP_PASSWORD_HISTORY", 5)),
        "CECP_TF_REQUIRED_ROLES": [
            r.strip()
            for r in env.get("CECP_TF_REQUIRED_ROLES", "admin,reviewer,approver").split(",")
            if r.strip()
        ],
        # Flask-Security-Too
        "SECURITY_PASSWORD_HASH": "argon2",
        "SECURITY_PASSWORD_SALT": env.get("CECP_PASSWORD_SALT")
        or _instance_secret(instance, "password_salt", 16),
        "SECURITY_PASSWORD_LENGTH_MIN": int(env.get("CECP_PASSWORD_LENGTH_MIN", 10)),
        "SECURITY_PASSWORD_COMPLEXITY_CHECKER": "zxcvbn",
        "SECURITY_ZXCVBN_MINIMUM_SCORE": int(env.get("CECP_PASSWORD_ZXCVBN_MIN", 3)),
        "SECURITY_PASSWORD_CHECK_BREACHED": False,
        "SECURITY_REGISTERABLE": False,
        "SECURITY_RECOVERABLE": False,
        "SECURITY_CHANGEABLE": True,
        "SECURITY_SEND_PASSWORD_CHANGE_EMAIL": False,
        "SECURITY_TRACKABLE": True,
        "SECURITY_TWO_FACTOR": True,
        "SECURITY_TWO_FACTOR_ENABLED_METHODS": ["authenticator"],
        "SECURITY_TWO_FACTOR_ALWAYS_VALIDATE": True,
        "SECURITY_TOTP_ISSUER": "cecp",
        "SECURITY_TOTP_SECRETS": {"1": env.get("CECP_TOTP_SECRET")
                                  or _instance_secret(instance, "totp_secret", 32)},
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
    }
    if overrides:
        cfg.update(overrides)
    return cfg
