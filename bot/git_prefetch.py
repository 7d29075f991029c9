"""Start a release command's git processes before Python has imported the rest of shipbot.

`shipbot next-version` spends most of its time reading one `git log`. Started after the
imports (argparse, the release core, semver, …) and three small git calls in a row, git
began ~50 ms after the process. Here, first thing (`start_early`, before the command line
is even parsed by argparse) and with nothing imported but os and the interpreter's built-in
modules (bot.spawn), the small calls run side by side and `git log` is started on a guess of
the range, so git works while Python imports. bot.git adopts a started process only when its
command and directory are exactly those it would run itself: a wrong guess costs a little
time, never a different result.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

from bot.spawn import Done, LogStream, Process

# One record per commit (NUL-separated with -z), fields split by the unit separator.
LOG_FORMAT = "%H%x1f%P%x1f%an%x1f%ae%x1f%ct%x1f%B"  # %ct: cheaper for git than %cI
TAGS_FORMAT = "--format=%(refname:strip=2)%00%(objectname)%00%(*objectname)"
_started: dict[tuple[str, tuple[str, ...]], Process | LogStream] = {}
_finished: dict[tuple[str, tuple[str, ...]], Done] = {}


def git_env() -> dict[str, str]:
    # No prompts and no pager: this runs in CI and under the bot as well as in a terminal.
    return {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "LC_ALL": "C"}


def log_command(rev_range: Sequence[str], paths: Sequence[str] = (),
                boundary: bool = False) -> list[str]:
    """The `git log` that bot.git.Git.log runs."""
    # A user's log.decorate or log.showSignature (a gpg run per commit) must not apply here.
    return ["git", "log", "-z", "--no-decorate", "--no-show-signature", f"--format=%m{LOG_FORMAT}",
            *(["--boundary"] if boundary else []), *rev_range, "--", *(paths or ())]


def range_ends(rev_range: Sequence[str], paths: Sequence[str] = ()) -> tuple[str, str] | None:
    """(base, tip) of a plain `base..tip` range that bot.sansio.revwalk can cut, else None.

    Path filters rewrite parents (git's history simplification), which the cut cannot follow.
    """
    if len(rev_range) != 1 or paths or "..." in rev_range[0]:
        return None
    base, dots, tip = rev_range[0].partition("..")
    if not dots or not base or base.startswith("-") or tip.startswith("-"):
        return None
    return base, tip or "HEAD"


def quick_log_command(base_sha: str, tip_sha: str) -> list[str]:
    """The unlimited `git log` of base and tip that bot.git cuts down to base..tip.

    Base first: git seeds its queue in command-line order, as it does for `base..tip`, so
    commits of equal dates come out in the same order (bot.sansio.revwalk).
    """
    return ["git", "log", "-z", "--no-decorate", "--no-show-signature", f"--format=%m{LOG_FORMAT}",
            base_sha, tip_sha, "--"]


def rev_parse_command(rev: str) -> list[str]:
    """The `git rev-parse` that bot.git runs to find the commit `rev` names."""
    return ["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"]


def start_log(cwd: str | os.PathLike, command: list[str]) -> LogStream:
    """Start `git log` in `cwd`, its output read by a thread as fast as git writes it."""
    return LogStream(os.fspath(cwd), command, git_env())


def run(cwd: str | os.PathLike, command: list[str]) -> Done:
    """Run a git command in `cwd` to its end."""
    return Process(os.fspath(cwd), command, git_env()).communicate()


def _key(cwd: str | os.PathLike, command: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    return os.path.normpath(os.fspath(cwd)), tuple(command)


def _start(cwd: str | os.PathLike, command: list[str]) -> None:
    _started[_key(cwd, command)] = Process(os.fspath(cwd), command, git_env())


def _finish(cwd: str | os.PathLike, command: list[str]) -> Done:
    key = _key(cwd, command)
    _finished[key] = _started.pop(key).communicate()
    return _finished[key]


def adopt_result(cwd: str | os.PathLike, command: Sequence[str]) -> Done | None:
    """What a started `command` in `cwd` printed (waiting for it), or None if it was not started."""
    key = _key(cwd, command)
    if key in _started:
        _finish(cwd, list(command))
    return _finished.pop(key, None)


def adopt_log(cwd: str | os.PathLike, command: Sequence[str]) -> LogStream | None:
    """The running `git log` of `command` in `cwd` if it was started; any other started
    `git log` was a wrong guess and is stopped."""
    found = _started.pop(_key(cwd, command), None)
    for key in [key for key in _started if key[1][:2] == ("git", "log")]:
        _stop(_started.pop(key))
    return found


def discard() -> None:
    """Stop and reap whatever was started and not adopted (the command took another way)."""
    global _tried
    _tried = False
    while _started:
        _stop(_started.popitem()[1])
    _finished.clear()


def _stop(process: Process | LogStream) -> None:
    if isinstance(process, LogStream):
        process.stop()
        return
    process.kill()
    process.communicate()


# Options of the two commands that start git early, and whether each takes a value.
_OPTIONS = {"next-version": {"--repo": True, "--rev": True, "--tag-format": True, "--path": True,
                             "--pre": True, "--json": False},
            "changelog": {"--repo": True, "--from": True, "--to": True, "--output": True}}
_tried = False  # start_release ran for this command (reset by discard)


def start_early(argv: Sequence[str]) -> None:
    """Start git for `shipbot next-version` or `changelog` from the raw command line.

    Called before argparse is even imported. Only a plain spelling of the options is read;
    anything else (an abbreviation, a typo, --path, --from) starts nothing here, and the
    command asks git itself once its arguments are parsed.
    """
    if not argv or argv[0] not in _OPTIONS or not hasattr(os, "posix_spawnp"):
        return
    known, given = _OPTIONS[argv[0]], {}
    words = iter(argv[1:])
    for word in words:
        name, equals, value = word.partition("=")
        if name not in known or (equals and not known[name]):
            return
        given[name] = (value if equals else next(words, None)) if known[name] else True
        if given[name] is None:
            return
    if argv[0] == "next-version" and "--path" not in given:
        start_release(given.get("--repo", "."), given.get("--rev", "HEAD"), given.get("--tag-format"))
    elif argv[0] == "changelog" and "--from" not in given:
        to_ref = given.get("--to")
        start_release(given.get("--repo", "."), to_ref or "HEAD", None, to_ref=to_ref, remote=True)


def start_release(repo: str, rev: str, tag_format: str | None, *, to_ref: str | None = None,
                  remote: bool = False) -> None:
    """Start what bot.release_local's plan_local (and a changelog's range) will ask git.

    The range starts at the highest final release tag in `tag_format` (default v{version}).
    A repository whose .shipbot.yml says otherwise just runs its own `git log` later.
    Once per command: started early, it is not started again.
    """
    global _tried
    if _tried:
        return
    _tried = True
    try:
        # The three first questions at once, in `repo`: the answers are the same anywhere in
        # the working tree, and are filed under its root, where bot.git asks them.
        top, tags, tip = (["git", "rev-parse", "--show-toplevel"],
                          ["git", "for-each-ref", "refs/tags", TAGS_FORMAT], rev_parse_command(rev))
        for command in (top, tags, tip):
            _start(repo, command)
        done = _finish(repo, top)
        if done.returncode != 0:
            return  # not a repository: bot.git says so in its own words (discard stops the rest)
        root = done.stdout.decode("utf-8", "replace").strip()
        for command in (tags, tip):
            _started[_key(root, command)] = _started.pop(_key(repo, command))
        if to_ref:
            _start(root, ["git", "tag", "--points-at", to_ref])
        if remote:
            _start(root, ["git", "remote", "get-url", "origin"])
        listed = _finish(root, tags)
        if listed.returncode != 0:
            return
        base = _last_release(listed.stdout.decode("utf-8", "replace"), tag_format or "v{version}")
        if base is None:
            log = log_command([rev], boundary=True)
        else:  # the quick walk of bot.git.Git.log, which resolves both ends first
            name, base_sha = base
            if name != rev:
                _start(root, rev_parse_command(name))  # for bot.git, which will ask
            tip_sha = _finish(root, tip)
            if tip_sha.returncode != 0:
                return
            log = quick_log_command(base_sha, tip_sha.stdout.decode("ascii").strip())
        _started[_key(root, log)] = start_log(root, log)
    except OSError:  # no git at all: bot.git reports it
        discard()


def _last_release(listing: str, tag_format: str) -> tuple[str, str] | None:
    """The name and commit of the highest final release tag in `tag_format`: only a guess,
    bot.sansio decides."""
    prefix, _, suffix = tag_format.partition("{version}")
    best = None
    for line in listing.splitlines():
        name, sha, peeled = line.split("\0")
        if name.startswith(prefix) and name.endswith(suffix) and len(name) > len(prefix) + len(suffix):
            version = _final_version(name[len(prefix):len(name) - len(suffix)])
            if version is not None and (best is None or version > best[0]):
                best = (version, name, peeled or sha)
    return best[1:] if best else None


def _final_version(text: str) -> tuple[int, int, int] | None:
    """(1, 2, 3) for SemVer "1.2.3" or "1.2.3+build", None for a prerelease or anything else
    (the re module would cost its import before git starts)."""
    core, plus, build = text.partition("+")
    if plus and not (build and all(c.isascii() and (c.isalnum() or c in ".-") for c in build)):
        return None
    numbers = core.split(".")
    if len(numbers) != 3 or not all(n.isascii() and n.isdigit() and (n == "0" or n[0] != "0")
                                    for n in numbers):
        return None
    return int(numbers[0]), int(numbers[1]), int(numbers[2])
