"""Deployment settings read from the environment.

With nothing set, caseflow runs on a SQLite file under ``instance/`` and runs
background jobs in-process, so a newcomer needs nothing but Python.  Business
settings an administrator may change (deadline days, holidays) live in the
database, not here.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _instance_dir() -> Path:
    """Where local state lives: the SQLite file, dev keys and uploads."""
    path = Path(os.environ.get("CASEFLOW_INSTANCE_DIR", PROJECT_ROOT / "instance"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _persistent_secret(name: str, nbytes: int = 32) -> str:
    """A random development secret kept in the instance folder across restarts."""
    path = _instance_dir() / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(nbytes))
        path.chmod(0o600)
    return path.read_text().strip()


def _flag(value: str | None) -> bool | None:
    """An on/off environment setting: None when unset."""
    return None if value in (None, "") else value.strip().lower() in ("1", "true", "yes", "on")


def normalise_database_url(url: str) -> str:
    """Make plain ``postgresql://`` URLs use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load_config() -> dict:
    """Build the Flask config mapping from environment variables."""
    env = os.environ.get("CASEFLOW_ENV", "development")
    instance = _instance_dir()
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'caseflow.db'}"
    production = env == "production"
    secret_key = os.environ.get("SECRET_KEY")
    data_key = os.environ.get("CASEFLOW_DATA_KEY")
    if production and not (secret_key and data_key):
        raise RuntimeError("SECRET_KEY and CASEFLOW_DATA_KEY must be set when CASEFLOW_ENV=production")
    if production and os.environ.get("FLASK_DEBUG", "").lower() not in ("", "0", "false", "no"):
        # The debugger runs code from the browser and shows stack traces: development only.
        raise RuntimeError("FLASK_DEBUG must not be set when CASEFLOW_ENV=production")
    return {
        "ENV_NAME": env,
        "SECRET_KEY": secret_key or _persistent_secret("secret_key"),
        # Key for application-level encryption and keyed hashes of ID numbers and phones.
        "DATA_KEY": data_key or _persistent_secret("data_key"),
        # The algorithms: "aes" (AES-256-GCM, HMAC-SHA-256) or "sm4" (SM4-GCM, HMAC-SM3); security/crypto.py.
        "CRYPTO_SUITE": os.environ.get("CASEFLOW_CRYPTO_SUITE", "aes"),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "RQ_QUEUE": os.environ.get("CASEFLOW_RQ_QUEUE", "caseflow"),
        "UPLOAD_DIR": os.environ.get("CASEFLOW_UPLOAD_DIR", str(instance / "uploads")),
        "PDF_DIR": os.environ.get("CASEFLOW_PDF_DIR", str(instance / "pdf")),
        "MAX_CONTENT_LENGTH": int(os.environ.get("CASEFLOW_MAX_REQUEST_BYTES", 25 * 1024 * 1024)),
        "MAX_ATTACHMENT_BYTES": int(os.environ.get("CASEFLOW_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024)),
        "MAX_ATTACHMENTS": 5,
        # Finished cases are anonymised this many years after their last event (unless under legal hold).
        "RETENTION_YEARS": int(os.environ.get("CASEFLOW_RETENTION_YEARS", 3)),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": None,
        "TIMEZONE": "Asia/Shanghai",
        # Who runs the service, shown in every page's footer (README: "Deployment settings").
        "SITE_SPONSOR": os.environ.get("CASEFLOW_SITE_SPONSOR", "河南省教育厅"),
        "SITE_HOTLINE": os.environ.get("CASEFLOW_SITE_HOTLINE", "12345"),
        "SITE_ID_CODE": os.environ.get("CASEFLOW_SITE_ID_CODE", ""),  # 网站标识码
        "SITE_ICP": os.environ.get("CASEFLOW_SITE_ICP", ""),  # ICP filing number, e.g. 豫ICP备00000000号
        # Tracking-page protection: wrong access codes allowed per window before waiting.
        "TRACK_MAX_FAILURES": 5,
        "TRACK_WINDOW_SECONDS": 900,
        # How long a citizen's server-side session (track grants, the last receipt) outlives its last change.
        "CITIZEN_SESSION_SECONDS": int(os.environ.get("CASEFLOW_CITIZEN_SESSION_SECONDS", 7 * 24 * 3600)),
        "RECEIPT_CODE_SECONDS": 15 * 60,  # how long a resent submission still shows its access code
        # Requests per client address (Flask-Limiter notation); CASEFLOW_RATE_LIMITS=0 turns them off.
        "RATE_LIMIT_SUBMIT": os.environ.get("CASEFLOW_RATE_LIMIT_SUBMIT", "10 per minute; 60 per hour"),
        "RATE_LIMIT_TRACK": os.environ.get("CASEFLOW_RATE_LIMIT_TRACK", "60 per minute; 600 per hour"),
        **({"RATELIMIT_ENABLED": False} if os.environ.get("CASEFLOW_RATE_LIMITS") == "0" else {}),
        # Seconds a client is told to wait (Retry-After) when the database is unreachable.
        "RETRY_AFTER_SECONDS": int(os.environ.get("CASEFLOW_RETRY_AFTER_SECONDS", 10)),
        "SMS_BACKEND": os.environ.get("CASEFLOW_SMS_BACKEND", "log"),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", 25)),
        "MAIL_USE_TLS": os.environ.get("MAIL_USE_TLS", "0") == "1",
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_FROM": os.environ.get("MAIL_FROM", "caseflow@localhost"),
        # Seconds between overdue scans and outbox sweeps run by `flask worker`.
        "SCAN_INTERVAL": int(os.environ.get("CASEFLOW_SCAN_INTERVAL", 600)),
        "SWEEP_INTERVAL": int(os.environ.get("CASEFLOW_SWEEP_INTERVAL", 60)),
        # Without Redis the web process runs those periodic jobs itself (one process per machine, by a lock):
        # unset = on for SQLite, off otherwise; "1"/"0" forces it.
        "LOCAL_SCHEDULE": _flag(os.environ.get("CASEFLOW_LOCAL_SCHEDULE")),
        # Registry imports: worker processes for big CSV files (0: one per core, at most 2) and chunk size.
        "REGISTRY_IMPORT_WORKERS": int(os.environ.get("CASEFLOW_IMPORT_WORKERS", 0)),
        "REGISTRY_CHUNK_BYTES": int(os.environ.get("CASEFLOW_IMPORT_CHUNK_BYTES", 2 << 20)),
        # Days a registry import's reject report (children's names, masked numbers) is kept, then deleted.
        "REJECT_REPORT_DAYS": int(os.environ.get("CASEFLOW_REJECT_REPORT_DAYS", 30)),
        # Seconds between runs of the cleanup (expired reject reports, leftover uploads, citizens' sessions).
        "CLEANUP_INTERVAL": int(os.environ.get("CASEFLOW_CLEANUP_INTERVAL", 3600)),
    }
