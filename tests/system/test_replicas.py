"""Two `shipbot serve` replicas on one PostgreSQL; one is killed mid-stream; every effect happens once."""
from __future__ import annotations

import asyncio
import re
import signal
import time

import aiohttp
import pytest

from tests.conftest import create_pg_database, drop_pg_database
from tests.forge import gitlab_payloads as api
from tests.peers import body_of, gitlab_headers, gitlab_payload
from tests.system.procs import clean_env, free_port, start, stop, wait_ready

P = "/api/v4/projects/5"
NOTES = rf"{P}/merge_requests/1/notes"
MARKER = re.compile(r"<!-- shipbot:reply (\S+) ")
DELIVERIES = 40


def fake_gitlab(recorder) -> list[dict]:
    """Just enough of GitLab for `/shipbot help` on MR !1: notes are kept, so retries can find theirs."""
    notes: list[dict] = []
    recorder.on("GET", rf"{P}/repository/files/.*/raw", status=404, json={"message": "404 File Not Found"})
    recorder.on("GET", "/api/v4/users", json=[api.user(1, "root")])
    recorder.on("GET", rf"{P}/members/all/1", json=api.member(1, 40))

    def create(req, _match):
        note = {"id": len(notes) + 1, "body": req.json["body"], "system": False, "author": api.user(9, "shipbot")}
        notes.append(note)
        return note

    def update(req, match):
        note = notes[int(match.group(1)) - 1]
        note["body"] = req.json["body"]
        return note

    # Slow answers keep jobs in flight, so the killed replica dies holding leases.
    recorder.on("POST", NOTES, status=201, respond=create, delay=0.3)
    recorder.on("GET", NOTES, respond=lambda req, m: list(notes))
    recorder.on("PUT", NOTES + r"/(\d+)", respond=update)
    return notes


def help_note(key: str) -> tuple[bytes, dict[str, str]]:
    payload = gitlab_payload("note_merge_request.json")
    payload["object_attributes"]["note"] = "/shipbot help"
    return body_of(payload), gitlab_headers("Note Hook", "t", uuid_=key)


@pytest.mark.system
@pytest.mark.postgres
class TestReplicas:
    async def test_kill_minus_nine_loses_and_doubles_nothing(self, recorder, tmp_path):
        """Deliveries spread over two replicas, one killed and restarted: each is answered exactly once."""
        notes = fake_gitlab(recorder)
        url = await create_pg_database()
        env = clean_env(SHIPBOT_DATABASE_URL=url, GITLAB_WEBHOOK_SECRET="t", GITLAB_URL=recorder.url,
                        GITLAB_TOKEN="glpat-system", SHIPBOT_LEASE_SECONDS="5", SHIPBOT_WORKERS="4",
                        # Every delivery is for one project: no per-repository cap, so both replicas hold leases.
                        SHIPBOT_JOBS_PER_REPO="100")
        ports = [free_port(), free_port()]
        procs = [start(port, env, tmp_path / f"replica{i}.log") for i, port in enumerate(ports)]
        accepted: dict[str, int] = {}
        try:
            await asyncio.gather(*(asyncio.to_thread(wait_ready, port, proc) for port, proc in zip(ports, procs)))
            async with aiohttp.ClientSession() as session:
                async def send(i: int, port: int) -> int:
                    body, headers = help_note(f"delivery-{i}")
                    try:
                        async with session.post(f"http://127.0.0.1:{port}/webhooks/gitlab", data=body,
                                                headers=headers) as resp:
                            return resp.status
                    except aiohttp.ClientError:
                        return 0
                for i in range(DELIVERIES):
                    if i == DELIVERIES // 2:
                        await asyncio.sleep(0.15)  # a quiet moment: replica 0 leases jobs and starts them
                        stop(procs[0], signal.SIGKILL)  # mid-stream, with jobs leased and running
                    port = ports[i % 2] if i < DELIVERIES // 2 else ports[1]
                    status = await send(i, port)
                    if status == 202:
                        accepted[f"delivery-{i}"] = status
                for i in range(0, DELIVERIES, 7):  # redeliveries of some, to the other replica
                    await send(i, ports[1])
                procs[0] = start(ports[0], env, tmp_path / "replica0-again.log")
                await asyncio.to_thread(wait_ready, ports[0], procs[0])
                import asyncpg
                conn = await asyncpg.connect(url)
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:  # until every job is done (leases expire after 5 s)
                    if await conn.fetchval("SELECT count(*) FROM jobs WHERE status = 'done'") >= len(accepted):
                        break
                    await asyncio.sleep(0.2)
                taken_over = await conn.fetchval("SELECT count(*) FROM jobs WHERE attempts > 1")
                await conn.close()
        finally:
            for proc in procs:
                stop(proc)
            await drop_pg_database(url)
        assert len(accepted) == DELIVERIES
        assert taken_over >= 1, "the killed replica held leases that the others took over"
        posted = [MARKER.search(r.json["body"]).group(1) for r in recorder.calls("POST", NOTES)]
        assert sorted(set(posted)) == sorted(accepted), "every accepted delivery was answered"
        assert len(posted) == len(set(posted)), f"no delivery was answered twice: {len(posted)} posts"
