"""Two reference receivers for bench/ingest.py --floors: what the stack and the load generator allow.

Neither parses nor stores anything; both only check X-Hub-Signature-256 and answer 202.

- aiohttp-hmac: an aiohttp application with one route. Every aiohttp service pays at least
  this much per request: the floor under shipbot (and under the minimal receiver, which also
  parses the JSON with gidgethub).
- bare-asyncio: an asyncio Protocol that reads HTTP/1.1 by hand. It costs the server so little
  that its req/s is what the load generator (one core of aiohttp client) can send: a server
  faster than this cannot be told apart from it.

Together they show how far "1.2x Probot's req/s" is from what an aiohttp service can reach on
one core: see probot_budget.
"""
from __future__ import annotations

import statistics

AIOHTTP_HMAC_SERVER = r'''
import hashlib, hmac, sys
from aiohttp import web

SECRET = sys.argv[2].encode()

async def receive(request):
    body = await request.read()
    expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("X-Hub-Signature-256", "")):
        return web.Response(status=401)
    return web.Response(status=202)

app = web.Application()
app.router.add_post("/webhooks/github", receive)
app.router.add_get("/healthz", lambda r: web.Response(text="ok"))
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
'''

BARE_ASYNCIO_SERVER = r'''
import asyncio, hashlib, hmac, sys

SECRET = sys.argv[2].encode()
ACCEPTED = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"
REFUSED = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

class Receiver(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.buffer = transport, b""

    def data_received(self, data):
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            lines = self.buffer[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < end + 4 + length:
                return
            body, self.buffer = self.buffer[end + 4:end + 4 + length], self.buffer[end + 4 + length:]
            if lines[0].startswith("GET"):
                self.transport.write(OK)
                continue
            expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
            signed = hmac.compare_digest(expected, headers.get("x-hub-signature-256", ""))
            self.transport.write(ACCEPTED if signed else REFUSED)

async def main():
    server = await asyncio.get_running_loop().create_server(Receiver, "127.0.0.1", int(sys.argv[1]))
    await server.serve_forever()

asyncio.run(main())
'''

SOURCES = {"aiohttp-hmac": AIOHTTP_HMAC_SERVER, "bare-asyncio": BARE_ASYNCIO_SERVER}


def busy(run: dict) -> float:
    """Share of its CPU the server used during a turn: below ~0.9 the load generator held it back."""
    return run["cpu_us"] * run["rps"] / 1e6


def probot_budget(results: dict[str, dict[int, list[dict]]], concurrency: int) -> list[str]:
    """Lines comparing the floors with Probot at one concurrency (results as take_turns returns them)."""
    def median(name: str, key: str) -> float:
        return statistics.median(run[key] for run in results[name][concurrency])

    lines = []
    if "probot" in results:
        budget = median("probot", "cpu_us") / 1.2
        lines.append(f"  c={concurrency:<3} 1.2x Probot's req/s on one core leaves {budget:.0f} us of CPU per request "
                     f"for everything; the aiohttp floor alone spends {median('aiohttp-hmac', 'cpu_us'):.0f} "
                     f"(Probot {median('probot', 'cpu_us'):.0f}, shipbot {median('shipbot', 'cpu_us'):.0f})")
    rps = median("bare-asyncio", "rps")
    load = statistics.median(busy(run) for run in results["bare-asyncio"][concurrency])
    lines.append(f"  c={concurrency:<3} the load generator's ceiling: {rps:.0f} req/s to a receiver that was busy "
                 f"{load:.0%} of the time")
    return lines
