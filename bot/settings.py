"""Read and validate the environment settings once, at start-up."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

DEFAULT_DATABASE_URL = "sqlite:///shipbot.db"
DEFAULT_GITHUB_API_URL = "https://api.github.com"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
# GitHub caps webhook payloads at 25 MB:
# https://docs.github.com/en/webhooks/webhook-events-and-payloads#payload-cap
DEFAULT_MAX_BODY_BYTES = 25 * 1024 * 1024

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


class SettingsError(ValueError):
    """A setting has a wrong value; the message is one line naming the variable."""


class Secret(str):
    """A string that never shows itself in reprs, logs or tracebacks."""

    def __repr__(self) -> str:
        return "Secret('**********')"


def _secrets(value: str | None) -> tuple[Secret, ...]:
    """Split a secret that holds two comma-separated values while it is rotated."""
    if not value:
        return ()
    parts = tuple(Secret(p.strip()) for p in value.split(",") if p.strip())
    if len(parts) > 2:
        raise SettingsError("a webhook secret holds at most two comma-separated values (old,new)")
    return parts


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    low = raw.strip().lower()
    if low in TRUE:
        return True
    if low in FALSE:
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean; use true or false")


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise SettingsError(f"{name}={raw!r} must be at least {minimum}")
    return value


def _url(env: Mapping[str, str], name: str, default: str | None) -> str | None:
    raw = env.get(name) or default
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{name}={raw!r} is not an http(s) URL")
    return raw.rstrip("/")


def async_database_url(url: str) -> str:
    """Map the plain sqlite/postgres URL forms to the async drivers SQLAlchemy needs."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise SettingsError(f"SHIPBOT_DATABASE_URL={url!r} is not a database URL")
    base = scheme.split("+", 1)[0]
    if base == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    if base in ("postgres", "postgresql"):
        return f"postgresql+asyncpg://{rest}"
    raise SettingsError(
        f"SHIPBOT_DATABASE_URL scheme {scheme!r} is not supported; use sqlite:/// or postgresql://"
    )


def ephemeral_disk_platform(env: Mapping[str, str]) -> str | None:
    """Name the platform when its local disk is wiped on restart, else None."""
    if env.get("DYNO"):
        return "Heroku"
    if env.get("GAE_APPLICATION") or env.get("GAE_ENV", "").startswith("standard"):
        return "Google App Engine"
    if env.get("K_SERVICE"):
        return "Cloud Run"
    return None


def _slack_channels(raw: str | None) -> dict[str, str]:
    """Parse SHIPBOT_SLACK_CHANNELS: `C123=github:o/r,C456=gitlab:g/p`."""
    links: dict[str, str] = {}
    for item in (raw or "").split(","):
        item = item.strip()
        if not item:
            continue
        channel, sep, repo = item.partition("=")
        if not sep or not channel.strip() or ":" not in repo:
            raise SettingsError(
                f"SHIPBOT_SLACK_CHANNELS item {item!r} should look like C0123=github:owner/name"
            )
        forge = repo.split(":", 1)[0].strip()
        if forge not in ("github", "gitlab"):
            raise SettingsError(f"SHIPBOT_SLACK_CHANNELS item {item!r}: forge must be github or gitlab")
        links.setdefault(channel.strip(), "")
        links[channel.strip()] = ",".join(filter(None, [links[channel.strip()], repo.strip()]))
    return links


@dataclass(frozen=True)
class GitHubSettings:
    webhook_secrets: tuple[Secret, ...] = ()
    app_id: int | None = None
    private_key: Secret | None = None
    token: Secret | None = None
    api_url: str = DEFAULT_GITHUB_API_URL

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_secrets)

    @property
    def can_write(self) -> bool:
        return bool(self.token or (self.app_id and self.private_key))


@dataclass(frozen=True)
class GitLabSettings:
    webhook_secrets: tuple[Secret, ...] = ()
    signing_keys: tuple[Secret, ...] = ()
    url: str | None = None
    token: Secret | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_secrets or self.signing_keys)

    @property
    def can_write(self) -> bool:
        return bool(self.url and self.token)


@dataclass(frozen=True)
class SlackSettings:
    signing_secrets: tuple[Secret, ...] = ()
    bot_token: Secret | None = None
    api_url: str = DEFAULT_SLACK_API_URL
    channels: Mapping[str, str] = field(default_factory=dict)
    admins: frozenset[str] = frozenset()

    @property
    def enabled(self) -> bool:
        return bool(self.signing_secrets)

    @property
    def can_write(self) -> bool:
        return bool(self.bot_token)


@dataclass(frozen=True)
class Settings:
    database_url: str = async_database_url(DEFAULT_DATABASE_URL)
    dry_run: bool = True
    dry_run_reason: str = ""
    retention_days: int = 30
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    worker_concurrency: int = 8  # 0: accept and store only; another process runs the jobs
    max_attempts: int = 8
    lease_seconds: int = 300
    jobs_per_repo: int = 4  # jobs of one repository running at once, so one noisy repository cannot starve the rest
    template_seconds: int = 10  # a repository's own changelog template: time to render it
    template_max_bytes: int = 1 << 20  # and the most output it may produce
    board_token: Secret | None = None
    github: GitHubSettings = GitHubSettings()
    gitlab: GitLabSettings = GitLabSettings()
    slack: SlackSettings = SlackSettings()

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sources(self) -> tuple[str, ...]:
        """The enabled sources, in a stable order."""
        flags = (("github", self.github), ("gitlab", self.gitlab), ("slack", self.slack))
        return tuple(name for name, s in flags if s.enabled)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        """Build settings from environment variables; raise SettingsError on a wrong value."""
        env = os.environ if env is None else env
        raw_db = env.get("SHIPBOT_DATABASE_URL") or env.get("DATABASE_URL") or DEFAULT_DATABASE_URL
        database_url = async_database_url(raw_db)
        platform = ephemeral_disk_platform(env)
        if database_url.startswith("sqlite") and platform:
            raise SettingsError(
                f"SQLite needs a persistent disk and {platform} wipes it on restart; "
                "set SHIPBOT_DATABASE_URL to a postgresql:// URL"
            )
        github = GitHubSettings(
            webhook_secrets=_secrets(env.get("GITHUB_WEBHOOK_SECRET")),
            app_id=_int(env, "GITHUB_APP_ID", 0, minimum=0) or None,
            private_key=_private_key(env),
            token=Secret(env["GITHUB_TOKEN"]) if env.get("GITHUB_TOKEN") else None,
            api_url=_url(env, "GITHUB_API_URL", DEFAULT_GITHUB_API_URL) or DEFAULT_GITHUB_API_URL,
        )
        if github.app_id and not github.private_key:
            raise SettingsError("GITHUB_APP_ID is set but neither GITHUB_PRIVATE_KEY nor GITHUB_PRIVATE_KEY_PATH is")
        gitlab = GitLabSettings(
            webhook_secrets=_secrets(env.get("GITLAB_WEBHOOK_SECRET")),
            signing_keys=_secrets(env.get("GITLAB_WEBHOOK_SIGNING_KEY")),
            url=_url(env, "GITLAB_URL", None),
            token=Secret(env["GITLAB_TOKEN"]) if env.get("GITLAB_TOKEN") else None,
        )
        if gitlab.token and not gitlab.url:
            raise SettingsError("GITLAB_TOKEN is set but GITLAB_URL is not (e.g. https://gitlab.com)")
        slack = SlackSettings(
            signing_secrets=_secrets(env.get("SLACK_SIGNING_SECRET")),
            bot_token=Secret(env["SLACK_BOT_TOKEN"]) if env.get("SLACK_BOT_TOKEN") else None,
            api_url=(_url(env, "SLACK_API_URL", DEFAULT_SLACK_API_URL) or DEFAULT_SLACK_API_URL) + "/",
            channels=_slack_channels(env.get("SHIPBOT_SLACK_CHANNELS")),
            admins=frozenset(a.strip() for a in env.get("SHIPBOT_SLACK_ADMINS", "").split(",") if a.strip()),
        )
        can_write = github.can_write or gitlab.can_write or slack.can_write
        asked_dry = _bool(env, "SHIPBOT_DRY_RUN", False)
        if asked_dry:
            reason = "SHIPBOT_DRY_RUN is set"
        elif not can_write:
            reason = "no forge or chat credentials are set (GITHUB_TOKEN, GITHUB_APP_ID, GITLAB_TOKEN, SLACK_BOT_TOKEN)"
        else:
            reason = ""
        return cls(
            database_url=database_url,
            dry_run=asked_dry or not can_write,
            dry_run_reason=reason,
            retention_days=_int(env, "SHIPBOT_RETENTION_DAYS", 30, minimum=1),
            max_body_bytes=_int(env, "SHIPBOT_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, minimum=1024),
            worker_concurrency=_int(env, "SHIPBOT_WORKERS", 8, minimum=0),
            max_attempts=_int(env, "SHIPBOT_MAX_ATTEMPTS", 8, minimum=1),
            lease_seconds=_int(env, "SHIPBOT_LEASE_SECONDS", 300, minimum=5),
            jobs_per_repo=_int(env, "SHIPBOT_JOBS_PER_REPO", 4, minimum=1),
            template_seconds=_int(env, "SHIPBOT_TEMPLATE_SECONDS", 10, minimum=1),
            template_max_bytes=_int(env, "SHIPBOT_TEMPLATE_MAX_BYTES", 1 << 20, minimum=1024),
            board_token=Secret(env["SHIPBOT_BOARD_TOKEN"]) if env.get("SHIPBOT_BOARD_TOKEN") else None,
            github=github,
            gitlab=gitlab,
            slack=slack,
        )


def _private_key(env: Mapping[str, str]) -> Secret | None:
    if env.get("GITHUB_PRIVATE_KEY"):
        # Platforms that cannot hold newlines in a variable get "\n" escapes.
        return Secret(env["GITHUB_PRIVATE_KEY"].replace("\\n", "\n"))
    path = env.get("GITHUB_PRIVATE_KEY_PATH")
    if not path:
        return None
    try:
        return Secret(Path(path).read_text())
    except OSError as exc:
        raise SettingsError(f"GITHUB_PRIVATE_KEY_PATH={path!r} cannot be read: {exc.strerror}") from None


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value in the settings, for the log redactor."""
    found: list[str] = []
    for group in (settings, settings.github, settings.gitlab, settings.slack):
        for value in vars(group).values():
            if isinstance(value, Secret):
                found.append(str(value))
            elif isinstance(value, tuple):
                found.extend(str(v) for v in value if isinstance(v, Secret))
    # A database URL may carry a password.
    if "@" in settings.database_url and ":" in settings.database_url.split("@", 1)[0].split("://", 1)[-1]:
        found.append(settings.database_url.split("@", 1)[0].split("://", 1)[-1].split(":", 1)[1])
    return found
