"""Render a template a repository supplies in a child process with time, memory and output limits.

jinja2's SandboxedEnvironment stops a template from reaching Python internals, and caps
`range()` at 100,000 items, but it cannot stop `{% for i in range(100000) %}{% for j in
range(100000) %}…` from running for hours, nor `{{ "x" * 10**10 }}` from taking all memory
(https://jinja.palletsprojects.com/en/3.1.x/sandbox/). A thread cannot be interrupted in
Python, so the template runs in its own short-lived process: the address space is capped, the
output is cut off past `max_bytes`, and the process is killed when `seconds` pass.
"""
from __future__ import annotations

import json
import pickle
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import BotError

PACKAGE_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Limits:
    """What one rendering may use."""

    max_bytes: int = 1 << 20  # output
    seconds: float = 10.0  # wall clock, interpreter start-up included
    memory_bytes: int = 256 << 20  # address space of the child process: small dynos have 512 MB in all


class TemplateRejected(BotError):
    """The repository's template failed or went over a limit; `message` says which, in plain words."""


def render_in_sandbox(source: str, context: dict[str, Any], limits: Limits = Limits()) -> str:
    """Render `source` with `context` in the sandbox; TemplateRejected says why it could not."""
    request = pickle.dumps({"source": source, "context": context, "limits": limits})
    try:
        # Run from the folder that holds this very `bot` package, so the child imports the same code
        # whether shipbot is installed or run from a checkout, and never a `bot` from elsewhere.
        done = subprocess.run([sys.executable, "-m", "bot.template_sandbox"], input=request, cwd=PACKAGE_ROOT,
                              capture_output=True, timeout=limits.seconds)
    except subprocess.TimeoutExpired:
        raise TemplateRejected(f"it took longer than {limits.seconds:g} s to render") from None
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        answer = {"error": f"the renderer stopped (exit status {done.returncode}); "
                           f"it may have needed more than {limits.memory_bytes >> 20} MB of memory"}
    if "error" in answer:
        raise TemplateRejected(answer["error"])
    return answer["text"]


def _render(source: str, context: dict[str, Any], limits: Limits) -> dict[str, str]:
    from jinja2 import TemplateError, TemplateSyntaxError, UndefinedError
    from jinja2.sandbox import SecurityError

    from bot.changelog_render import environment

    try:
        template = environment(sandboxed=True).from_string(source)
        chunks, size = [], 0
        for chunk in template.generate(**context):
            size += len(chunk.encode("utf-8"))
            if size > limits.max_bytes:
                return {"error": f"its output is larger than {limits.max_bytes:,} bytes"}
            chunks.append(chunk)
        return {"text": "".join(chunks)}
    except TemplateSyntaxError as exc:
        return {"error": f"line {exc.lineno}: {exc.message}"}
    except SecurityError as exc:
        return {"error": f"it uses something the sandbox forbids ({exc})"}
    except UndefinedError as exc:
        return {"error": f"it names something that does not exist ({exc.message})"}
    except MemoryError:
        return {"error": f"it needs more than {limits.memory_bytes >> 20} MB of memory"}
    except RecursionError:
        return {"error": "it recurses too deeply"}
    except (TemplateError, ArithmeticError, LookupError, TypeError, ValueError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


def main() -> None:
    """The child: read the request from stdin, write {"text"} or {"error"} as JSON to stdout."""
    import resource

    request = pickle.loads(sys.stdin.buffer.read())
    limits: Limits = request["limits"]
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    cpu = int(limits.seconds) + 1  # a second guard should the parent be gone
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    try:
        answer = _render(request["source"], request["context"], limits)
    except MemoryError:
        answer = {"error": f"it needs more than {limits.memory_bytes >> 20} MB of memory"}
    sys.stdout.write(json.dumps(answer))


if __name__ == "__main__":
    main()
