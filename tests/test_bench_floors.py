"""bench/floors.py: the reference receivers answer as a webhook receiver must, and the budget line's arithmetic."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import floors

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "node_modules/@octokit/webhooks-examples/api.github.com/index.json"
SECRET = "floor-secret"


def pull_request_opened() -> bytes:
    for entry in json.loads(EXAMPLES.read_text()):
        if entry["name"] == "pull_request":
            return json.dumps(next(e for e in entry["examples"] if e.get("action") == "opened")).encode()
    raise AssertionError("no pull_request example")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=sorted(floors.SOURCES))
def receiver(request):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", floors.SOURCES[request.param], str(port), SECRET],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, f"{request.param} did not start"
            time.sleep(0.05)
    yield port
    os.kill(proc.pid, signal.SIGTERM)
    proc.wait(10)


def post(port: int, body: bytes, signature: str, pieces: int = 1) -> list[int]:
    """POST twice on one keep-alive connection, the request cut into `pieces` writes; the statuses."""
    head = (f"POST /webhooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"X-GitHub-Event: pull_request\r\nX-Hub-Signature-256: {signature}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    request = head + body
    statuses = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        reader = conn.makefile("rb")
        for _ in range(2):
            step = -(-len(request) // pieces)
            for start in range(0, len(request), step):
                conn.sendall(request[start:start + step])
                time.sleep(0.01)
            statuses.append(int(reader.readline().split()[1]))
            while (line := reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            reader.read(length)
    return statuses


def test_floor_receivers_accept_signed_deliveries_and_refuse_others(receiver):
    body = pull_request_opened()
    good = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert post(receiver, body, good) == [202, 202]
    assert post(receiver, body, good, pieces=5) == [202, 202]  # a body that arrives in several reads
    assert post(receiver, body, "sha256=" + "0" * 64) == [401, 401]


def test_probot_budget_is_probots_cpu_per_request_over_the_target_ratio():
    def runs(cpu_us: float, rps: float) -> list[dict]:
        return [{"cpu_us": cpu_us, "rps": rps}] * 3

    results = {"probot": {8: runs(300, 3000)}, "aiohttp-hmac": {8: runs(220, 3600)},
               "shipbot": {8: runs(500, 1800)}, "bare-asyncio": {8: runs(90, 3500)}}
    budget, ceiling = floors.probot_budget(results, 8)
    assert "leaves 250 us" in budget and "spends 220" in budget and "shipbot 500" in budget
    assert "3500 req/s" in ceiling and "busy 32%" in ceiling
