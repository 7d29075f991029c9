"""Helpers for ingress tests: wait for the worker, count stored jobs."""
from __future__ import annotations

import asyncio
import time

from bot.services import Services


async def wait_until_processed(services: Services, expected_done: int, timeout: float = 30.0) -> dict:
    """Poll the queue (never sleep blindly) until `expected_done` jobs are done."""
    deadline = time.monotonic() + timeout
    while True:
        counts = await services.queue.counts()
        if counts["done"] >= expected_done or time.monotonic() > deadline:
            return counts
        await asyncio.sleep(0.05)
