"""Errors that carry a plain-words message for the person who asked."""
from __future__ import annotations


class BotError(Exception):
    """Base class: `message` is safe to show to users (no secrets, no internals)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CommandError(BotError):
    """The user asked for something shipbot will not do; answered, never retried."""


class TransientError(BotError):
    """Worth retrying later: a rate limit, a 5xx, a network failure."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConfigError(BotError):
    """The repository's .shipbot.yml is invalid; the message names the line and key."""
