"""Render every user-visible text from the jinja2 templates in `templates/`."""
from __future__ import annotations

from pathlib import Path

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

    def __call__(self, name: str, **data) -> str:
        return self.env.get_template(name).render(**data).strip() + "\n"

    def for_chat(self, base: str, **data) -> str:
        return self(f"{base}.slack.j2", **data)

    def for_forge(self, base: str, **data) -> str:
        return self(f"{base}.md.j2", **data)
