"""Ask GitHub to redeliver webhooks that failed while shipbot was down or unreachable (GitHub Apps)."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot.errors import BotError
from bot.forge.base import Unsupported
from bot.routing import Router
from bot.store.mutex import Busy, held
from bot.store.tables import jobs

if TYPE_CHECKING:
    from bot.services import Services

router = Router()
# GitHub keeps an App's deliveries for three days; a day back covers any outage worth catching up.
# https://docs.github.com/en/webhooks/testing-and-troubleshooting-webhooks/redelivering-webhooks
LOOK_BACK = 24 * 3600


@router.every(600)
async def redeliver_failed(services: "Services", log) -> int:
    """On start and every ten minutes: redeliver failed deliveries shipbot never stored."""
    if not services.settings.github.app_id:
        return 0  # the deliveries API is the App's own; a token-configured bot has none
    forge = services.forges["github"]
    since = datetime.fromtimestamp(time.time() - LOOK_BACK, timezone.utc).isoformat().replace("+00:00", "Z")
    try:
        async with held(services.db, "github:redeliver", f"catch-up-{id(services)}", wait=0.0, ttl=300):
            deliveries = await forge.list_deliveries(since=since)
            succeeded = {d.guid for d in deliveries if d.ok}
            failed = {d.guid: d for d in deliveries if not d.ok and d.guid not in succeeded}
            if not failed:
                return 0
            keys = [f"github:{guid}" for guid in failed]
            async with services.db.connect() as conn:
                stored = set((await conn.execute(select(jobs.c.delivery_key)
                                                 .where(jobs.c.delivery_key.in_(keys)))).scalars())
            asked = 0
            for guid, delivery in failed.items():
                if f"github:{guid}" in stored:
                    continue
                await forge.redeliver(delivery.id)
                asked += 1
            if asked:
                log.info("github_redeliveries_requested", count=asked)
            return asked
    except Busy:
        return 0  # another replica is catching up right now
    except (Unsupported, BotError) as exc:
        log.warning("github_redelivery_check_failed", error=exc.message if isinstance(exc, BotError) else str(exc))
        return 0
