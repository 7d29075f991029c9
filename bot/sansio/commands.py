"""Parse chat and comment text into shipbot commands, or into clear usage errors.

One grammar for Slack and for PR/MR comments: `/shipbot <command> …` or a short form such
as `/deploy staging`. In comments: one command per line at the start of the line; quoted
lines (`> …`), fenced and indented code blocks and HTML comments are never commands.
"""
from __future__ import annotations

import difflib
import re
import shlex
from dataclasses import dataclass, field

LONG_FORM = "shipbot"

# name -> options that take a value; flags listed separately.
VALUE_OPTIONS: dict[str, frozenset[str]] = {
    "deploy": frozenset({"repo"}),
    "rollback": frozenset({"repo"}),
    "deploys": frozenset({"repo"}),
    "lock": frozenset({"repo"}),
    "unlock": frozenset({"repo"}),
    "locks": frozenset({"repo"}),
    "release": frozenset({"repo", "pre"}),
    "release-as": frozenset({"repo"}),
    "dora": frozenset({"repo"}),
    "audit": frozenset({"repo"}),
}
FLAG_OPTIONS: dict[str, frozenset[str]] = {
    "deploy": frozenset({"force"}),
    "rollback": frozenset({"force"}),
    "lock": frozenset({"steal"}),
    "release": frozenset({"dry-run"}),
}
COMMANDS: tuple[str, ...] = (
    "help", "deploy", "rollback", "deploys", "lock", "unlock", "locks", "release",
    "release-as", "retest", "link", "unlink", "dora", "audit",
)
# Words GitLab runs as its own quick actions; there only `/shipbot <word>` reaches us.
# https://docs.gitlab.com/ee/user/project/quick_actions.html
GITLAB_QUICK_ACTIONS = frozenset({
    "lock", "unlock", "label", "unlabel", "assign", "unassign", "close", "reopen", "merge",
    "approve", "unapprove", "rebase", "draft", "ready", "due", "estimate", "spend", "title",
    "milestone", "copy_metadata", "shrug", "tableflip", "todo", "done", "subscribe",
    "unsubscribe", "award", "react", "submit_review", "relate", "duplicate", "move", "clone",
})
SEMVER_RE = re.compile(r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
ENV_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
REF_RE = re.compile(r"^[^\s~^:?*\[\\]{1,250}$")


@dataclass(frozen=True)
class Command:
    """One parsed command: its name, positional words and options."""

    name: str
    args: tuple[str, ...] = ()
    options: dict[str, str | bool] = field(default_factory=dict)
    line: str = ""

    def option(self, name: str, default=None):
        return self.options.get(name, default)


@dataclass(frozen=True)
class UsageError:
    """A line that was meant for shipbot but cannot be understood; `message` says why."""

    message: str
    line: str
    name: str | None = None


@dataclass(frozen=True)
class DeployRequest:
    env: str
    ref: str | None = None
    repo: str | None = None
    force: bool = False


@dataclass(frozen=True)
class DeployConfirm:
    code: str


@dataclass(frozen=True)
class ReleaseRequest:
    bump: str | None = None  # patch|minor|major or None for "from the commits"
    version: str | None = None
    pre: str | None = None
    dry_run: bool = False
    repo: str | None = None


@dataclass(frozen=True)
class DoraRequest:
    window_days: int = 30
    repo: str | None = None


def parse_text(text: str, *, in_comment: bool, forge: str | None = None) -> list[Command | UsageError]:
    """Find every command in a chat message or a comment body."""
    found: list[Command | UsageError] = []
    for line in command_lines(text) if in_comment else [text.strip()]:
        parsed = parse_line(line, forge=forge if in_comment else None, strict=not in_comment)
        if parsed is not None:
            found.append(parsed)
    return found


def command_lines(body: str) -> list[str]:
    """The lines of a comment that may hold commands: not quoted, not code, not HTML comments."""
    lines: list[str] = []
    fence: str | None = None
    in_html_comment = False
    for raw in body.replace("\r\n", "\n").split("\n"):
        stripped = raw.strip()
        if fence:
            if stripped.startswith(fence):
                fence = None
            continue
        if in_html_comment:
            in_html_comment = "-->" not in stripped
            continue
        if stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
            continue
        if stripped.startswith("<!--"):
            in_html_comment = "-->" not in stripped
            continue
        if raw.startswith(("    ", "\t")) or stripped.startswith(">"):
            continue
        if stripped.startswith("/"):
            lines.append(stripped)
    return lines


def _split(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError:
        return line.split()


def parse_line(line: str, *, forge: str | None = None, strict: bool = True) -> Command | UsageError | None:
    """Parse one line starting with '/'. None: the line is not addressed to shipbot.

    strict: the line certainly is for us (a Slack slash command), so anything unknown is an error.
    """
    words = _split(line)
    if not words or not words[0].startswith("/"):
        return None if not strict else UsageError("type a command, e.g. /shipbot help", line)
    head = words[0][1:].lower()
    if head == LONG_FORM:
        if len(words) == 1:
            return Command("help", line=line)
        head, words = words[1].lower().lstrip("/"), words[1:]
        strict = True
    elif forge == "gitlab" and head in GITLAB_QUICK_ACTIONS:
        return None
    if head not in COMMANDS:
        suggestion = difflib.get_close_matches(head, COMMANDS, n=1, cutoff=0.75)
        if not strict and not suggestion:
            return None  # someone else's slash command, e.g. another bot's
        hint = f"; did you mean /{suggestion[0]}?" if suggestion else "; try /shipbot help"
        return UsageError(f"unknown command '/{head}'{hint}", line)
    return _options(head, words[1:], line)


def _options(name: str, words: list[str], line: str) -> Command | UsageError:
    args: list[str] = []
    options: dict[str, str | bool] = {}
    takes_value = VALUE_OPTIONS.get(name, frozenset())
    flags = FLAG_OPTIONS.get(name, frozenset())
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("--") and len(word) > 2:
            key, eq, value = word[2:].partition("=")
            if key in flags and not eq:
                options[key] = True
            elif key in takes_value:
                if not eq:
                    if i + 1 >= len(words):
                        return UsageError(f"--{key} needs a value", line, name)
                    i += 1
                    value = words[i]
                options[key] = value
            else:
                known = sorted(takes_value | flags)
                also = f"; /{name} takes " + ", ".join(f"--{k}" for k in known) if known else ""
                return UsageError(f"unknown option '--{key}'{also}", line, name)
        else:
            args.append(word)
        i += 1
    return Command(name, tuple(args), options, line)


def parse_deploy(cmd: Command) -> DeployRequest | DeployConfirm | UsageError:
    """Read `deploy <env> [<ref>]`, `deploy <repo>[@<ref>] to <env>` or `deploy confirm <code>`.

    A deploy without an environment is an error: it never defaults to one.
    """
    usage = "usage: /deploy <env> [<ref>] or /deploy <repo>[@<ref>] to <env>"
    args, repo_opt = list(cmd.args), cmd.option("repo")
    force = bool(cmd.option("force", False))
    if not args:
        return UsageError(f"which environment? {usage}", cmd.line, cmd.name)
    if args[0].lower() == "confirm":
        if len(args) != 2:
            return UsageError("usage: /deploy confirm <code>", cmd.line, cmd.name)
        return DeployConfirm(code=args[1])
    if len(args) == 3 and args[1].lower() == "to":
        target, env = args[0], args[2]
        repo, _, ref = target.partition("@")
        if repo_opt:
            return UsageError("name the repository once: either <repo> to <env> or --repo", cmd.line, cmd.name)
        if not ENV_RE.match(env):
            return UsageError(f"'{env}' is not an environment name; {usage}", cmd.line, cmd.name)
        if ref and not REF_RE.match(ref):
            return UsageError(f"'{ref}' is not a valid git ref", cmd.line, cmd.name)
        return DeployRequest(env=env, ref=ref or None, repo=repo, force=force)
    if "to" in (a.lower() for a in args):
        return UsageError(usage, cmd.line, cmd.name)
    if len(args) > 2:
        return UsageError(f"too many words; {usage}", cmd.line, cmd.name)
    env = args[0]
    if not ENV_RE.match(env):
        return UsageError(f"'{env}' is not an environment name; {usage}", cmd.line, cmd.name)
    ref = args[1] if len(args) == 2 else None
    if ref and not REF_RE.match(ref):
        return UsageError(f"'{ref}' is not a valid git ref", cmd.line, cmd.name)
    return DeployRequest(env=env, ref=ref, repo=str(repo_opt) if repo_opt else None, force=force)


def parse_release(cmd: Command) -> ReleaseRequest | UsageError:
    """Read `release [patch|minor|major|X.Y.Z] [--pre ID] [--dry-run]`."""
    usage = "usage: /release [patch|minor|major|X.Y.Z] [--pre rc] [--dry-run]"
    if len(cmd.args) > 1:
        return UsageError(f"too many words; {usage}", cmd.line, cmd.name)
    pre = cmd.option("pre")
    if pre is not None and not re.fullmatch(r"[0-9A-Za-z-]+", str(pre)):
        return UsageError(f"--pre takes an identifier such as rc or beta, not '{pre}'", cmd.line, cmd.name)
    bump = version = None
    if cmd.args:
        word = cmd.args[0]
        if word.lower() in ("patch", "minor", "major"):
            bump = word.lower()
        elif SEMVER_RE.match(word):
            version = word.lstrip("v")
        else:
            return UsageError(f"'{word}' is neither patch, minor, major nor a version X.Y.Z; {usage}",
                              cmd.line, cmd.name)
    return ReleaseRequest(bump=bump, version=version, pre=str(pre) if pre else None,
                          dry_run=bool(cmd.option("dry-run", False)),
                          repo=str(cmd.option("repo")) if cmd.option("repo") else None)



DORA_USAGE = "usage: /shipbot dora [<repo>] [7d|30d|90d]"
# A word like 30d, 45d or 2w is meant as a window (repository names do not look like that).
WINDOW_WORD_RE = re.compile(r"^[0-9]+[A-Za-z]*$")


def parse_dora(cmd: Command, windows: tuple[int, ...] = (7, 30, 90), default: int = 30) -> DoraRequest | UsageError:
    """Read `dora [<repo>] [7d|30d|90d]` (the repository also as --repo), in either order."""
    repo = str(cmd.option("repo")) if cmd.option("repo") else None
    window: int | None = None
    allowed = ", ".join(f"{w}d" for w in windows)
    for word in cmd.args:
        if WINDOW_WORD_RE.match(word):
            days = int(word[:-1]) if word[-1:].lower() == "d" and word[:-1].isdigit() else None
            if days not in windows:
                return UsageError(f"'{word}' is not a window; use one of {allowed}; {DORA_USAGE}", cmd.line, cmd.name)
            if window is not None:
                return UsageError(f"give one window; {DORA_USAGE}", cmd.line, cmd.name)
            window = days
        elif repo is not None:
            return UsageError(f"name one repository; {DORA_USAGE}", cmd.line, cmd.name)
        else:
            repo = word
    return DoraRequest(window_days=window or default, repo=repo)
