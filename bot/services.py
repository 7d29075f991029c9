"""Build the process-wide services once: the composition root handlers reach through Context."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from bot.chat.base import Chat, RecordingChat
from bot.forge.base import Forge
from bot.forge.dryrun import DryRunForge
from bot.metrics import Metrics
from bot.queue import JobQueue
from bot.render import Renderer
from bot.repoconfig import ConfigLoader
from bot.routing import Router
from bot.settings import Settings
from bot.store import Database
from bot.writes import WriteLog


@dataclass
class Services:
    """Everything long-lived: settings, database, queue, router, adapters, templates, metrics."""

    settings: Settings
    db: Database
    queue: JobQueue
    router: Router
    forges: Mapping[str, Forge]
    chat: Chat
    render: Renderer = field(default_factory=Renderer)
    metrics: Metrics = field(default_factory=Metrics)
    writes: WriteLog = field(default_factory=WriteLog)
    configs: ConfigLoader = field(default_factory=ConfigLoader)


def default_router() -> Router:
    """All feature routers; imported here so the core never imports a feature directly."""
    from handlers import ROUTERS

    return Router(*ROUTERS)


def build_services(settings: Settings, db: Database, *, router: Router | None = None,
                   forges: Mapping[str, Forge] | None = None, chat: Chat | None = None,
                   writes: WriteLog | None = None) -> Services:
    """Wire the services; without real adapters every write is recorded (dry-run)."""
    writes = writes if writes is not None else WriteLog()
    if forges is None:
        forges = {name: DryRunForge(name, None, writes) for name in ("github", "gitlab")}
    if chat is None:
        chat = RecordingChat(writes)
    queue = JobQueue(db, max_attempts=settings.max_attempts, lease_seconds=settings.lease_seconds,
                     per_repo=settings.jobs_per_repo)
    return Services(settings=settings, db=db, queue=queue,
                    router=router or default_router(), forges=forges, chat=chat, writes=writes)
