"""Run git on a local checkout: read history and tags, commit and tag; no network, ever."""
from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from bot.git_prefetch import TAGS_FORMAT, adopt_log, adopt_result, git_env, log_command, start_log
from bot.sansio.commits import Commit


class GitError(RuntimeError):
    """A git command failed; the message is git's own explanation."""


class Git:
    """git commands run in one working tree."""

    def __init__(self, path: Path | str = ".") -> None:
        self.path = Path(path)

    def _cwd(self) -> Path:
        if not self.path.is_dir():
            raise GitError(f"{self.path}: no such directory")
        return self.path

    def run(self, *args: str, check: bool = True) -> str:
        """Run `git <args>` and return its output; GitError with git's message on failure."""
        command = ["git", *args]
        try:
            done = adopt_result(self.path, command) or subprocess.run(
                command, cwd=self._cwd(), env=git_env(), capture_output=True, check=False)
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
        sha = self.run("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False).strip()
        if not sha:
            raise GitError(f"{rev!r} is not a commit in {self.path}")
        return sha

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
            boundary: list[str] | None = None) -> Iterator[Commit]:
        """Stream the commits of a range, newest first, as `git log` lists them.

        With a `boundary` list, the shas of the range's boundary commits (those it excludes
        and touches, https://git-scm.com/docs/git-log#Documentation/git-log.txt---boundary)
        are appended to it once the stream is read.

        Commits are yielded while git is still writing, so parsing them overlaps with git's
        own work; a thread reads git's output meanwhile (bot.git_prefetch.start_log).
        """
        command = log_command(rev_range, paths, boundary is not None)
        # Started before the imports by bot.git_prefetch, when it guessed the range right.
        stream = adopt_log(self.path, command) or start_log(self._cwd(), command)
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
            error = stream.process.stderr.read().decode("utf-8", "replace").strip()
            if stream.process.wait() != 0:
                raise GitError(error.splitlines()[-1] if error else "git log failed")
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
        return self.resolve("HEAD")

    def create_tag(self, name: str, message: str, rev: str = "HEAD") -> None:
        """Create an annotated tag (never pushed here)."""
        self.run("tag", "--annotate", "--cleanup=verbatim", "-m", message, name, rev)

