"""Logs are JSON lines and never contain a configured secret, even when a message or error quotes one."""
from __future__ import annotations

import io
import json
import logging

import structlog

from bot import logs
from bot.settings import secrets_of
from tests.conftest import make_settings


class TestRedaction:
    def test_secrets_never_reach_the_log(self):
        """Secret values in fields, messages, nested data and stdlib log records are replaced."""
        settings = make_settings(GITHUB_WEBHOOK_SECRET="whsec-topsecret-1", GITHUB_TOKEN="ghp_tokenvalue123",
                                 SLACK_BOT_TOKEN="xoxb-slack-secret", SHIPBOT_DATABASE_URL="postgresql://u:pgpass42@h/db")
        out = io.StringIO()
        logs.configure(secrets=secrets_of(settings), stream=out)
        log = structlog.get_logger("test")
        log.info("calling with ghp_tokenvalue123", headers={"Authorization": "token ghp_tokenvalue123"})
        log.warning("db", url="postgresql://u:pgpass42@h/db", items=["xoxb-slack-secret"])
        try:
            raise RuntimeError("signature whsec-topsecret-1 rejected")
        except RuntimeError:
            log.exception("crashed")
        logging.getLogger("aiohttp.client").error("token %s", "ghp_tokenvalue123")
        text = out.getvalue()
        for secret in ("whsec-topsecret-1", "ghp_tokenvalue123", "xoxb-slack-secret", "pgpass42"):
            assert secret not in text
        lines = [json.loads(line) for line in text.splitlines()]
        assert lines[0]["event"] == "calling with [redacted]" and lines[0]["headers"]["Authorization"] == "token [redacted]"
        logs.configure()
