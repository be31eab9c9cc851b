"""Settings read from the environment."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"


class ConfigurationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    demo: bool
    host: str
    port: int
    secure_cookies: bool = False
    """Served over HTTPS: the session cookie is sent on HTTPS only."""
    jobs_url: str = ""
    """Where background jobs (long imports) run: a Redis URL puts them on Celery workers,
    shared by every app server; empty keeps them on this machine (diskcache)."""
    jobs_dir: str = ""
    """The diskcache folder when ``jobs_url`` is empty (default: beside a SQLite database,
    else instance/jobs)."""
    sign_in_limit: str = "20 per minute; 200 per hour"
    """Sign-in attempts from one address (beside the lockout of each user name)."""
    webhook_worker: bool = False
    """Deliver webhooks from a thread of each app process (COUNTERSIGN_WEBHOOK_WORKER=0 to
    leave it to ``countersign deliver``)."""
    api_limit: str = "600 per minute"
    """JSON API calls per token (per address for calls without a valid one)."""
    smtp_url: str = ""
    """Where email goes out (smtp://user:pass@host:587?starttls=1, smtps://…); empty: no
    email, notifications stay in the app."""
    mail_from: str = "Countersign <countersign@localhost>"
    base_url: str = ""
    """The address people reach the app at, for the links in email (default:
    http://HOST:PORT)."""
    rate_limit_storage: str = "memory://"
    """Where those attempts are counted: memory:// counts per process; redis://… counts
    them once for every worker and server (the jobs' Redis when there is one)."""

    def mail(self):
        """How email goes out, or None when it does not (data/mail.py)."""
        if not self.smtp_url:
            return None
        from data.mail import mail_settings

        try:
            return mail_settings(self.smtp_url, self.mail_from,
                                 self.base_url or f"http://{self.host}:{self.port}",
                                 self.secret_key)  # fmt: skip
        except ValueError as error:
            raise ConfigurationError(str(error)) from None

    def jobs_folder(self) -> Path:
        if self.jobs_dir:
            return Path(self.jobs_dir)
        if self.database_url.startswith("sqlite:///") and self.database_url != "sqlite:///":
            return Path(self.database_url.removeprefix("sqlite:///")).parent / "jobs"
        return INSTANCE_DIR / "jobs"


def normalise_database_url(url: str) -> str:
    """Accept the usual PostgreSQL spellings and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def default_database_url() -> str:
    return f"sqlite:///{INSTANCE_DIR / 'countersign.db'}"


def _demo_secret_key() -> str:
    """A key kept under instance/ so demo sessions survive a restart."""
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key_file = INSTANCE_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    url = env.get("DATABASE_URL", "").strip()
    demo_default = "0" if url else "1"
    demo = env.get("COUNTERSIGN_DEMO", demo_default).strip().lower() in ("1", "true", "yes")
    secret_key = env.get("SECRET_KEY", "").strip()
    if not secret_key:
        if not demo:
            raise ConfigurationError(
                "SECRET_KEY must be set outside demo mode, for example: "
                "export SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))')"
            )
        secret_key = _demo_secret_key()
    jobs_url = env.get("COUNTERSIGN_JOBS_URL", "").strip()
    try:
        port = int(env.get("PORT", "8050"))
    except ValueError:
        raise ConfigurationError("PORT must be a number, such as 8050") from None
    return Settings(
        database_url=normalise_database_url(url) if url else default_database_url(),
        secret_key=secret_key,
        demo=demo,
        host=env.get("HOST", "127.0.0.1"),
        port=port,
        secure_cookies=env.get("COUNTERSIGN_HTTPS", "").strip() == "1",
        jobs_url=jobs_url,
        jobs_dir=env.get("COUNTERSIGN_JOBS_DIR", "").strip(),
        sign_in_limit=env.get("COUNTERSIGN_SIGN_IN_LIMIT", "").strip() or Settings.sign_in_limit,
        webhook_worker=env.get("COUNTERSIGN_WEBHOOK_WORKER", "1").strip() != "0",
        api_limit=env.get("COUNTERSIGN_API_LIMIT", "").strip() or Settings.api_limit,
        rate_limit_storage=jobs_url if jobs_url.startswith("redis") else "memory://",
        smtp_url=env.get("COUNTERSIGN_SMTP_URL", "").strip(),
        mail_from=env.get("COUNTERSIGN_MAIL_FROM", "").strip() or Settings.mail_from,
        base_url=env.get("COUNTERSIGN_BASE_URL", "").strip(),
    )
