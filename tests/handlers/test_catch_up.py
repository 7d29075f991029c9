"""GitHub App catch-up: failed deliveries shipbot never stored are redelivered, once."""
from __future__ import annotations

import structlog

from bot.forge.base import HookDelivery
from bot.queue import NewJob
from handlers.catch_up import redeliver_failed


def delivery(i: int, guid: str, status: int, *, redelivery: bool = False) -> HookDelivery:
    return HookDelivery(i, guid, "push", None, status, "2026-11-27T10:00:00Z", redelivery)


class TestCatchUp:
    async def test_only_failed_unknown_deliveries_are_redelivered(self, fake_services):
        """Failed while down: redelivered. Failed then succeeded, or stored after all: left alone."""
        services = fake_services(GITHUB_APP_ID="1", GITHUB_PRIVATE_KEY="key")
        forge = services.forges["github"]
        forge.deliveries = [delivery(1, "ok", 202), delivery(2, "missed", 0), delivery(3, "later-ok", 503),
                            delivery(4, "later-ok", 202, redelivery=True), delivery(5, "stored", 502)]
        await services.queue.enqueue(NewJob("github:stored", "github", "push", "push", None, b"{}"))
        assert await redeliver_failed(services, structlog.get_logger()) == 1
        assert forge.writes("redeliver") == [{"delivery_id": 2}]
        await services.queue.close()

    async def test_token_bots_have_no_deliveries_to_check(self, fake_services):
        """Without a GitHub App there is no deliveries API: nothing is asked."""
        services = fake_services(GITHUB_TOKEN="t")
        services.forges["github"].deliveries = [delivery(2, "missed", 0)]
        assert await redeliver_failed(services, structlog.get_logger()) == 0
        assert services.forges["github"].calls == []
