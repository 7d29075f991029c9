"""Run git on a local checkout: read history and tags, commit and tag; no network, ever."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from bot.git_prefetch import (
    TAGS_FORMAT, adopt_log, adopt_result, log_command, quick_log_command, range_ends,
    rev_parse_command, run, start_log)
from bot.sansio.commits import Commit
from bot.sansio.revwalk import RangeTail, WalkUncertain

if TYPE_CHECKING:
    from bot.spawn import LogStream


T = TypeVar("T")
_SHA, _PARENTS = attrgetter("sha"), attrgetter("parents")


class GitError(RuntimeError):
    """A git command failed; the message is git's own explanation."""


class Git:
    """git commands run in one working tree."""

    def __init__(self, path: Path | str = ".") -> None:
        self.path = Path(path)
        self._shas: dict[str, str] = {}  # rev -> sha, until this object moves a ref

    def _cwd(self) -> Path:
        if not self.path.is_dir():
            raise GitError(f"{self.path}: no such directory")
        return self.path

    def run(self, *args: str, check: bool = True) -> str:
        """Run `git <args>` and return its output; GitError with git's message on failure."""
        command = ["git", *args]
        try:
            done = adopt_result(self.path, command) or run(self._cwd(), command)
        except FileNotFoundError as error:
            raise GitError(f"cannot run git in {self.path}: {error.strerror}") from None
        if check and done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise GitError(message[-1] if message else f"git {args[0]} failed")
        return done.stdout.decode("utf-8", "replace")

    def toplevel(self) -> Path:
        """The root of the working tree."""
        return Path(self.run("rev-parse", "--show-toplevel").strip())

    def resolve(self, rev: str) -> str:
        """The full sha of the commit `rev` names."""
        sha = self._commit_sha(rev)
        if not sha:
            raise GitError(f"{rev!r} is not a commit in {self.path}")
        return sha

    def _commit_sha(self, rev: str) -> str:
        if rev not in self._shas:
            self._shas[rev] = self.run(*rev_parse_command(rev)[1:], check=False).strip()
        return self._shas[rev]

    def tags(self) -> list[tuple[str, str]]:
        """Every tag with the sha of the commit it names (annotated tags peeled)."""
        out = self.run("for-each-ref", "refs/tags", TAGS_FORMAT)
        found = []
        for line in out.splitlines():
            name, sha, peeled = line.split("\0")
            found.append((name, peeled or sha))
        return found

    def tags_merged(self, rev: str) -> list[str]:
        """Every tag whose commit is reachable from `rev`."""
        return self.run("tag", "--merged", rev).split()

    def tags_at(self, rev: str) -> list[str]:
        """The tags pointing at the commit `rev`."""
        return self.run("tag", "--points-at", rev).split()

    def tag_date(self, tag: str) -> str:
        """A tag's date as YYYY-MM-DD (the tagger's date, or the commit's for a light tag)."""
        return self.run("for-each-ref", "--format=%(creatordate:short)", f"refs/tags/{tag}").strip()

    def log(self, rev_range: Sequence[str], paths: Sequence[str] = (),
            boundary: list[str] | None = None, *, quick: bool = True) -> Iterator[Commit]:
        """Stream the commits of a range, newest first, as `git log` lists them.

        With a `boundary` list, the shas of the range's boundary commits (those it excludes
        and touches, https://git-scm.com/docs/git-log#Documentation/git-log.txt---boundary)
        are appended to it once the stream is read.

        Commits are yielded while git is still writing, so parsing them overlaps with git's
        own work; a thread reads git's output meanwhile (bot.git_prefetch.start_log). A
        `base..tip` range is read from git's unlimited walk, which starts printing at once,
        and cut where git would cut it (bot.sansio.revwalk); where that cannot be sure, it
        raises WalkUncertain, after some commits were yielded: see `read_range`.
        """
        ends = range_ends(rev_range, paths) if quick else None
        shas = ends and [self._commit_sha(name) for name in ends]
        if shas and all(shas):
            return self._log_quick(*shas, boundary)
        return self._log(log_command(rev_range, paths, boundary is not None), boundary)

    def read_range(self, rev_range: Sequence[str], consume: Callable[[Iterator[Commit]], T],
                   paths: Sequence[str] = (), boundary: list[str] | None = None) -> T:
        """`consume(commits)` over a range: the quick walk, else git's own limited walk."""
        try:
            return consume(self.log(rev_range, paths, boundary))
        except WalkUncertain:
            if boundary is not None:
                boundary.clear()
            return consume(self.log(rev_range, paths, boundary, quick=False))

    def _stream(self, command: list[str]) -> LogStream:
        # Started before the imports by bot.git_prefetch, when it guessed the range right.
        return adopt_log(self.path, command) or start_log(self._cwd(), command)

    def _log(self, command: list[str], boundary: list[str] | None) -> Iterator[Commit]:
        stream = self._stream(command)
        try:
            pending = b""
            new = tuple.__new__  # Commit's generated __new__ is a Python function; this is not
            while True:
                chunk = stream.chunks.get()
                records = (pending + chunk).split(b"\0")
                pending = records.pop() if chunk else b""  # the last record may go on
                # Split as bytes, then decoded record by record (NUL is never part of a UTF-8
                # sequence): most records are ASCII and stay one byte a character, where one
                # emoji would make a whole decoded chunk four, to be narrowed record by record.
                for raw in records:
                    if raw[:1] == b"-":  # a boundary commit: outside the range
                        if boundary is not None:
                            # up to the first field: 40 hex digits, or 64 in a SHA-256 repository
                            boundary.append(raw[1:raw.index(b"\x1f")].decode("ascii"))
                    elif raw:
                        sha, parents, name, email, date, message = raw.decode(
                            "utf-8", "replace").split("\x1f", 5)
                        yield new(Commit, (sha[1:], message, tuple(parents.split()), name, email,
                                           date))
                if not chunk:
                    break
            _check(stream)
        finally:
            stream.stop()

    def _log_quick(self, base: str, tip: str, boundary: list[str] | None) -> Iterator[Commit]:
        """base..tip from `git log base tip`: every commit before base as it comes (all in the
        range, but see bot.sansio.revwalk), then RangeTail decides the rest and where to stop."""
        stream = self._stream(quick_log_command(base, tip))
        try:
            # What RangeTail needs of the commits before base, built a chunk at a time in C
            # while git still prints, not all at once when base comes.
            given_out: dict[str, tuple[str, ...]] = {}
            their_parents: set[str] = set()
            last: Commit | None = None
            tail: RangeTail | None = None
            marker = base.encode("ascii")
            pending = b""
            reading = True
            while reading:
                chunk = stream.chunks.get()
                data = pending + chunk
                records = data.split(b"\0")
                pending = records.pop()
                if not chunk:
                    reading = False
                    if pending:
                        records.append(pending)
                if tail is None and marker not in data:  # base comes later: all in the range
                    batch = _commits(records)
                    if batch:
                        parents = list(map(_PARENTS, batch))
                        given_out.update(zip(map(_SHA, batch), parents))
                        their_parents.update(chain.from_iterable(parents))
                        last = batch[-1]
                        yield from batch
                    continue
                for commit in _commits(records):
                    if tail is None and commit.sha != base:
                        given_out[commit.sha] = commit.parents
                        their_parents.update(commit.parents)
                        last = commit
                        yield commit
                        continue
                    if tail is None:
                        tail = RangeTail(base, tip, given_out, their_parents,
                                         int(last.date) if last else None)
                    if tail.unsettled is None and tail.pop(commit.sha, commit.parents,
                                                           int(commit.date), commit):
                        continue
                    if tail.settle(commit.sha, commit.parents):  # after where git stops
                        reading = False  # git is killed
                        break
                else:
                    continue
                break
            else:
                _check(stream)  # read to its end: did git succeed?
            if tail is None or tail.unsettled:  # git's output was cut short
                raise WalkUncertain(f"git log ended before {base} and what it queued came by")
            yield from tail.in_range()
            if boundary is not None:
                boundary.extend(tail.boundary())
        finally:
            stream.stop()

    def count(self, rev_range: Sequence[str], paths: Sequence[str] = ()) -> int:
        """How many commits a range holds."""
        return int(self.run("rev-list", "--count", *rev_range, "--", *(paths or ())).strip())

    def remote_url(self, name: str = "origin") -> str | None:
        """The URL of a remote, or None when there is no such remote."""
        return self.run("remote", "get-url", name, check=False).strip() or None

    def current_branch(self) -> str | None:
        """The checked-out branch, or None on a detached HEAD."""
        return self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False).strip() or None

    def dirty_files(self) -> list[str]:
        """Tracked files with uncommitted changes."""
        out = self.run("status", "--porcelain", "--untracked-files=no")
        return [line[3:] for line in out.splitlines() if line.strip()]

    def commit_files(self, paths: Sequence[str], message: str) -> str:
        """Commit `paths` with `message`; returns the new commit's sha."""
        self.run("add", "--", *paths)
        self.run("commit", "--quiet", "--no-verify", "-m", message, "--", *paths)
        self._shas.clear()  # HEAD moved
        return self.resolve("HEAD")

    def create_tag(self, name: str, message: str, rev: str = "HEAD") -> None:
        """Create an annotated tag (never pushed here)."""
        self.run("tag", "--annotate", "--cleanup=verbatim", "-m", message, name, rev)
        self._shas.clear()  # a name may now resolve



def _check(stream: LogStream) -> None:
    """GitError with git's message when the `git log` read to its end failed."""
    error = stream.process.read_errors().decode("utf-8", "replace").strip()
    if stream.process.wait() != 0:
        raise GitError(error.splitlines()[-1] if error else "git log failed")


def _commits(records: list[bytes]) -> list[Commit]:
    """Commits of `git log -z --format=%m<LOG_FORMAT>` records (bot.git_prefetch)."""
    new = tuple.__new__  # Commit's generated __new__ is a Python function; this is not
    fields = [raw.decode("utf-8", "replace").split("\x1f", 5) for raw in records]
    return [new(Commit, (sha[1:], message, tuple(parents.split()), name, email, date))
            for sha, parents, name, email, date, message in fields]
