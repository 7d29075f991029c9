"""Route normalized events and commands to the handlers registered for them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable, Iterable

from bot.sansio.commands import Command, UsageError
from bot.sansio.events import Event

Handler = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class Help:
    """What a command does, how to write it and who may run it (shown by /help)."""

    summary: str
    usage: str
    examples: tuple[str, ...] = ()
    who: str = "anyone who can write to the repository, or anyone in a linked Slack channel"
    # An optional check (ctx) -> bool; /help hides commands the asker may not run.
    allowed: Callable[..., Awaitable[bool]] | None = None


@dataclass(frozen=True)
class Route:
    """One handler to run for one event; `key` names it in job progress and logs."""

    key: str
    handler: Handler
    command: Command | UsageError | None = None


class Router:
    """Handlers registered by event name, by command and by Slack action id."""

    def __init__(self, *routers: "Router") -> None:
        self._events: dict[str, list[tuple[str | None, Handler]]] = {}
        self._commands: dict[str, tuple[Handler, Help]] = {}
        self._actions: dict[str, Handler] = {}
        self._usage_error: Handler | None = None
        self._periodic: list[tuple[float, Handler]] = []
        for other in routers:
            self.include(other)

    def include(self, other: "Router") -> None:
        """Add every registration of another router; a command may be registered once."""
        for name, entries in other._events.items():
            self._events.setdefault(name, []).extend(entries)
        for name, entry in other._commands.items():
            if name in self._commands:
                raise ValueError(f"command {name!r} is registered twice")
            self._commands[name] = entry
        for action_id, handler in other._actions.items():
            if action_id in self._actions:
                raise ValueError(f"Slack action {action_id!r} is registered twice")
            self._actions[action_id] = handler
        self._usage_error = other._usage_error or self._usage_error
        self._periodic.extend(other._periodic)

    def on(self, name: str, *, source: str | None = None) -> Callable[[Handler], Handler]:
        """Run the handler for events named `name` (`pull_request` matches every action)."""
        def register(fn: Handler) -> Handler:
            self._events.setdefault(name, []).append((source, fn))
            return fn
        return register

    def command(self, name: str, *, help: Help) -> Callable[[Handler], Handler]:
        """Run the handler for `/name …` and `/shipbot name …`, in Slack and in comments."""
        def register(fn: Handler) -> Handler:
            if name in self._commands:
                raise ValueError(f"command {name!r} is registered twice")
            self._commands[name] = (fn, help)
            return fn
        return register

    def action(self, action_id: str) -> Callable[[Handler], Handler]:
        """Run the handler for a Slack button whose action_id is `action_id`."""
        def register(fn: Handler) -> Handler:
            self._actions[action_id] = fn
            return fn
        return register

    def every(self, seconds: float) -> Callable[[Handler], Handler]:
        """Run `fn(services, log)` about every `seconds` in each worker process (timeouts, sweeps)."""
        def register(fn: Handler) -> Handler:
            self._periodic.append((seconds, fn))
            return fn
        return register

    @property
    def periodic(self) -> list[tuple[float, Handler]]:
        return list(self._periodic)

    def usage_error(self, fn: Handler) -> Handler:
        """Register the one handler that answers commands shipbot could not understand."""
        self._usage_error = fn
        return fn

    @property
    def commands(self) -> dict[str, Help]:
        return {name: help for name, (_, help) in sorted(self._commands.items())}

    def routes(self, event: Event) -> list[Route]:
        """Every handler that takes this event, in registration order."""
        found: list[Route] = []
        for name in _names(event.name):
            for source, fn in self._events.get(name, ()):
                if source is None or source == event.source:
                    found.append(Route(_qualname(fn), fn))
        if event.name.startswith("block_actions."):
            handler = self._actions.get(event.name.split(".", 1)[1])
            if handler:
                found.append(Route(_qualname(handler), handler))
        for i, cmd in enumerate(event.commands):
            if isinstance(cmd, UsageError) or cmd.name not in self._commands:
                if self._usage_error:
                    found.append(Route(f"{_qualname(self._usage_error)}#{i}", self._usage_error, cmd))
                continue
            handler = self._commands[cmd.name][0]
            found.append(Route(f"{_qualname(handler)}#{i}", handler, cmd))
        return found


def _names(name: str) -> Iterable[str]:
    yield name
    if "." in name:
        yield name.split(".", 1)[0]
    yield "*"


def _qualname(fn: Handler) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"
