"""Render release notes to Markdown with the jinja2 templates in templates/.

Our own templates run in a plain Environment; a template the repository supplies
(`release.changelog_template`) runs in a SandboxedEnvironment, since its author is not us
(https://jinja.palletsprojects.com/en/3.1.x/sandbox/), in a child process with time, memory
and output limits (bot/template_sandbox.py). Both see the same context:
`release` (ReleaseNotes) and `links` (ForgeLinks or None), and can import our macros.
"""
from __future__ import annotations

import functools
from pathlib import Path

from jinja2 import Environment, FileSystemBytecodeCache, FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from bot.sansio.changelog import ReleaseNotes
from bot.sansio.forge_links import ForgeLinks
from bot.template_sandbox import Limits, render_in_sandbox

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
DEFAULT_TEMPLATE = "changelog.md.j2"
MACROS = "changelog_macros.md.j2"  # imported by the default template at render time


@functools.cache
def environment(sandboxed: bool = False) -> Environment:
    """The jinja2 environment over templates/; sandboxed for repository-supplied templates."""
    kind = SandboxedEnvironment if sandboxed else Environment
    # Markdown, not HTML: no autoescape. StrictUndefined turns a typo into an error, not a gap.
    return kind(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=False,
                trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                bytecode_cache=None if sandboxed else _bytecode_cache())


def _bytecode_cache() -> FileSystemBytecodeCache | None:
    """Our templates compiled once and kept, like Python's .pyc files: compiling them costs a
    command ~15 ms, loading them ~1 ms
    (https://jinja.palletsprojects.com/en/3.1.x/api/#bytecode-cache).
    Checked against the template's source, so an edit recompiles; jinja2 puts it in a private
    temp directory, and where it cannot have one the templates are compiled every time."""
    try:
        return FileSystemBytecodeCache()
    except (OSError, RuntimeError):
        return None


def load_default_template() -> None:
    """Compile the default template and its macros now, so that rendering only runs them
    (the CLI does this while `git log` is still running)."""
    environment().get_template(DEFAULT_TEMPLATE)
    environment().get_template(MACROS)


def render_release_notes(notes: ReleaseNotes, links: ForgeLinks | None = None, *,
                         template: str | None = None, limits: Limits = Limits()) -> str:
    """Markdown for one release; `template` is the text of a repository's own template.

    A repository's template that fails or goes over a limit raises TemplateRejected.
    """
    if template is None:
        text = environment().get_template(DEFAULT_TEMPLATE).render(release=notes, links=links)
    else:
        text = render_in_sandbox(template, {"release": notes, "links": links}, limits)
    return text.strip("\n") + "\n"
