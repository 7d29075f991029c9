"""Start a release command's git processes before Python has imported the rest of shipbot.

`shipbot next-version` spends most of its time waiting for one `git log`; before this module,
git was first asked only after ~25 ms of imports (the release core, semver, …) and three small
git calls in a row. Here, with nothing imported but subprocess, the small calls run at once and
side by side, and `git log` is started on a guess of the range, so git works while Python
imports. bot.git adopts a started process only when its command and directory are exactly
those it would run itself: a wrong guess costs a little time, never a different result.
"""
from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from queue import SimpleQueue

# One record per commit (NUL-separated with -z), fields split by the unit separator.
LOG_FORMAT = "%H%x1f%P%x1f%an%x1f%ae%x1f%cI%x1f%B"
TAGS_FORMAT = "--format=%(refname:strip=2)%00%(objectname)%00%(*objectname)"
# A final (non-prerelease) SemVer; only to guess the last release, bot.sansio decides.
FINAL_VERSION = r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:\+[0-9A-Za-z.-]+)?"
PIPE_SIZE = 1 << 20
GATHER = 0.002  # seconds git's output gathers in the pipe between two reads (see _drain)


class LogStream:
    """A running `git log` whose output a thread reads into `chunks` (b"" at the end).

    A plain class: typing (for a NamedTuple) would cost ~3 ms before git is started.
    """

    __slots__ = ("process", "chunks", "reader")

    def __init__(self, process: subprocess.Popen, chunks: SimpleQueue,
                 reader: threading.Thread) -> None:
        self.process, self.chunks, self.reader = process, chunks, reader

    def stop(self) -> None:
        """Kill git if it still runs, and reap it and the reader."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.reader.join()
        self.process.stdout.close()
        self.process.stderr.close()


_started: dict[tuple[str, tuple[str, ...]], subprocess.Popen | LogStream] = {}
_finished: dict[tuple[str, tuple[str, ...]], subprocess.CompletedProcess] = {}


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


def spawn(cwd: Path | str, command: list[str]) -> subprocess.Popen:
    """Start `command` in `cwd` with git's environment, output and errors piped."""
    return subprocess.Popen(command, cwd=cwd, env=git_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def start_log(cwd: Path | str, command: list[str]) -> LogStream:
    """Start `git log`, with a thread that reads its output as fast as git writes it.

    The reads release the GIL, so git never waits for Python's imports or parsing: the two
    run side by side on two CPUs. Without it git stops whenever the pipe is full. The pipe is
    also enlarged, from 64 KiB to 1 MiB, for when the reader waits for the GIL
    (https://man7.org/linux/man-pages/man7/pipe.7.html).
    """
    process = spawn(cwd, command)
    _widen_pipe(process.stdout)
    chunks: SimpleQueue = SimpleQueue()
    reader = threading.Thread(target=_drain, args=(process.stdout, chunks), daemon=True)
    reader.start()
    return LogStream(process, chunks, reader)


def _drain(pipe, chunks: SimpleQueue) -> None:
    # git writes a few KiB at a time; a pause after each read lets the pipe gather a few
    # hundred, so that the parser wakes, and takes the GIL from it, ~50 times, not ~2,000.
    try:
        while chunk := pipe.read1(PIPE_SIZE):
            chunks.put(chunk)
            time.sleep(GATHER)
    finally:
        chunks.put(b"")


def _widen_pipe(pipe) -> None:
    """Ask Linux for a 1 MiB pipe buffer; elsewhere, or when refused, keep the default."""
    try:
        import fcntl

        fcntl.fcntl(pipe.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_SIZE)
    except (ImportError, OSError):
        pass


def _key(cwd: Path | str, command: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    return str(Path(cwd)), tuple(command)


def _start(cwd: Path | str, command: list[str]) -> None:
    _started[_key(cwd, command)] = spawn(cwd, command)


def _finish(cwd: Path | str, command: list[str]) -> subprocess.CompletedProcess:
    key = _key(cwd, command)
    process = _started.pop(key)
    out, err = process.communicate()
    _finished[key] = subprocess.CompletedProcess(command, process.returncode, out, err)
    return _finished[key]


def adopt_result(cwd: Path | str, command: Sequence[str]) -> subprocess.CompletedProcess | None:
    """What a started `command` in `cwd` printed (waiting for it), or None if it was not started."""
    key = _key(cwd, command)
    if key in _started:
        _finish(cwd, list(command))
    return _finished.pop(key, None)


def adopt_log(cwd: Path | str, command: Sequence[str]) -> LogStream | None:
    """The running `git log` of `command` in `cwd` if it was started; any other started
    `git log` was a wrong guess and is stopped."""
    found = _started.pop(_key(cwd, command), None)
    for key in [key for key in _started if key[1][:2] == ("git", "log")]:
        _stop(_started.pop(key))
    return found


def discard() -> None:
    """Stop and reap whatever was started and not adopted (the command took another way)."""
    while _started:
        _stop(_started.popitem()[1])
    _finished.clear()


def _stop(process: subprocess.Popen | LogStream) -> None:
    if isinstance(process, LogStream):
        process.stop()
        return
    if process.poll() is None:
        process.kill()
    process.communicate()


def start_release(repo: str, rev: str, tag_format: str | None, *, to_ref: str | None = None,
                  remote: bool = False) -> None:
    """Start what bot.release_local's plan_local (and a changelog's range) will ask git.

    The range starts at the highest final release tag in `tag_format` (default v{version}).
    A repository whose .shipbot.yml says otherwise just runs its own `git log` later.
    """
    try:
        top = ["git", "rev-parse", "--show-toplevel"]
        _start(repo, top)
        done = _finish(repo, top)
        if done.returncode != 0:
            return  # not a repository: bot.git says so in its own words
        root = done.stdout.decode("utf-8", "replace").strip()
        tags = ["git", "for-each-ref", "refs/tags", TAGS_FORMAT]
        _start(root, tags)
        _start(root, rev_parse_command(rev))
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
            if base != rev:
                _start(root, rev_parse_command(base))
            done = {name: _finish(root, rev_parse_command(name)) for name in dict.fromkeys((base, rev))}
            if any(result.returncode for result in done.values()):
                return
            log = quick_log_command(done[base].stdout.decode("ascii").strip(),
                                    done[rev].stdout.decode("ascii").strip())
        _started[_key(root, log)] = start_log(root, log)
    except OSError:  # no git at all: bot.git reports it
        discard()


def _last_release(listing: str, tag_format: str) -> str | None:
    prefix, _, suffix = tag_format.partition("{version}")
    pattern = re.compile(re.escape(prefix) + FINAL_VERSION + re.escape(suffix))
    best = None
    for line in listing.splitlines():
        name = line.split("\0", 1)[0]
        match = pattern.fullmatch(name)
        if match:
            version = (int(match[1]), int(match[2]), int(match[3]), name)
            best = version if best is None or version > best else best
    return best[3] if best else None
