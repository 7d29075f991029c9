"""Run the handlers on a recorded payload through the real queue and worker, and print the writes."""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs

import orjson

from bot.ingress.common import digest_id
from bot.queue import NewJob
from bot.sansio.events import normalize
from bot.settings import Settings


def load_payload(path: Path, source: str) -> dict:
    """A JSON file, or for Slack a form body (`command=/deploy&text=staging…`) as Slack sends it."""
    raw = path.read_bytes()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        if source != "slack":
            raise SystemExit(f"shipbot: {path} is not JSON")
        form = parse_qs(raw.decode())
        data = orjson.loads(form["payload"][0]) if "payload" in form else {k: v[0] for k, v in form.items()}
    if not isinstance(data, dict):
        raise SystemExit(f"shipbot: {path} does not hold a JSON object")
    return data


async def _replay(args: argparse.Namespace, settings: Settings) -> int:
    from bot import logs
    from bot.services import build_services
    from bot.settings import secrets_of

    logs.configure(secrets=secrets_of(settings), level="WARNING", stream=sys.stderr)
    from bot.store import open_database
    from bot.worker import Worker

    payload = load_payload(Path(args.file), args.source)
    header = args.event or ("slack" if args.source == "slack" else None)
    if header is None:
        raise SystemExit("shipbot: --event is required for github and gitlab (the X-GitHub-Event / X-Gitlab-Event value)")
    body = orjson.dumps(payload)
    event = normalize(args.source, header, payload, "replay-" + digest_id(args.source, header, body)[7:23])
    # A throwaway database: a replay never touches the service's queue, locks or history.
    from contextlib import AsyncExitStack

    from bot.adapters import open_adapters
    from bot.writes import WriteLog

    settings = replace(settings, dry_run=settings.dry_run or not args.send)
    with tempfile.TemporaryDirectory() as tmp:
        stack = AsyncExitStack()
        db = await open_database(f"sqlite+aiosqlite:///{tmp}/replay.db")
        writes = WriteLog()
        forges, chat = await open_adapters(settings, writes, stack)
        services = build_services(settings, db, forges=forges, chat=chat, writes=writes)
        routes = services.router.routes(event)
        print(f"event: {event.source} {event.name} repo={event.repo or '-'} actor={event.actor.login if event.actor else '-'}")
        if not routes:
            print(f"no handler takes {event.name}: shipbot would answer 200 and ignore it")
            await db.dispose()
            await stack.aclose()
            return 0
        print("handlers: " + ", ".join(r.key for r in routes))
        if any(getattr(f, "offline", False) for f in services.forges.values()):
            print("offline: no forge credentials, so reads are empty and permission checks assume write access")
        await services.queue.enqueue(NewJob(f"{event.source}:{event.delivery_id}", event.source, header,
                                            event.name, str(event.repo) if event.repo else None, body))
        worker = Worker(services, name="replay", concurrency=1)
        for job in await services.queue.claim("replay", 1):
            await worker.process(job)
        job_row = await services.queue.get(1)
        await services.queue.close()
        await db.dispose()
        await stack.aclose()
    writes = services.writes.writes
    print(f"{len(writes)} write(s) {'sent' if args.send else 'that would be sent'}:")
    for w in writes:
        print(json.dumps({"to": w.target, "action": w.action, **w.data}, indent=2, default=str, ensure_ascii=False))
    if job_row and job_row["status"] != "done":
        print(f"the job did not finish: {job_row['status']}\n{job_row['last_error']}", file=sys.stderr)
        return 1
    return 0


def replay_main(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_replay(args, settings))
