"""Render every user-visible text from the jinja2 templates in `templates/`."""
from __future__ import annotations

from pathlib import Path

import time

import jinja2

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


class Renderer:
    """Render `name.md.j2` for forge comments and `name.slack.j2` for chat."""

    def __init__(self, directory: Path = TEMPLATES) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(directory)),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        )
        self.env.filters["utc"] = utc
        self.env.filters["slack_who"] = slack_who
        self.env.filters["short_sha"] = lambda sha: (sha or "")[:7]

    def __call__(self, name: str, **data) -> str:
        return self.env.get_template(name).render(**data).strip() + "\n"

    def for_chat(self, base: str, **data) -> str:
        return self(f"{base}.slack.j2", **data)

    def for_forge(self, base: str, **data) -> str:
        return self(f"{base}.md.j2", **data)


def utc(timestamp: float) -> str:
    """Unix seconds as `2026-11-27 12:00 UTC`: one unambiguous time for readers anywhere."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(timestamp))


def slack_who(principal: str) -> str:
    """A principal as Slack shows it: `slack:U0123` becomes a mention, others stay as written."""
    kind, _, name = principal.partition(":")
    return f"<@{name}>" if kind == "slack" else f"`{principal}`"
