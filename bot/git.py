"""Run git on a local checkout: read history and tags, commit and tag; no network, ever."""
from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from bot.sansio.commits import Commit

# One record per commit (NUL-separated with -z), fields split by the unit separator.
LOG_FORMAT = "%H%x1f%P%x1f%an%x1f%ae%x1f%cI%x1f%B"


class GitError(RuntimeError):
    """A git command failed; the message is git's own explanation."""


class Git:
    """git commands run in one working tree."""

    def __init__(self, path: Path | str = ".") -> None:
        self.path = Path(path)

    def run(self, *args: str, check: bool = True) -> str:
        """Run `git <args>` and return its output; GitError with git's message on failure."""
        # No prompts and no pager: this runs in CI and under the bot as well as in a terminal.
        if not self.path.is_dir():
            raise GitError(f"{self.path}: no such directory")
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "LC_ALL": "C"}
        try:
            done = subprocess.run(["git", *args], cwd=self.path, env=env, capture_output=True,
                                  check=False)
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

    def tags_merged(self, rev: str) -> list[str]:
        """Every tag whose commit is reachable from `rev`."""
        return self.run("tag", "--merged", rev).split()

    def tags_at(self, rev: str) -> list[str]:
        """The tags pointing at the commit `rev`."""
        return self.run("tag", "--points-at", rev).split()

    def tag_date(self, tag: str) -> str:
        """A tag's date as YYYY-MM-DD (the tagger's date, or the commit's for a light tag)."""
        return self.run("for-each-ref", "--format=%(creatordate:short)", f"refs/tags/{tag}").strip()

    def log(self, rev_range: Sequence[str], paths: Sequence[str] = ()) -> list[Commit]:
        """The commits of a range, newest first, as `git log` lists them."""
        out = self.run("log", "-z", f"--format={LOG_FORMAT}", *rev_range, "--",
                       *(paths or ()))
        commits = []
        for record in out.split("\0"):
            if not record:
                continue
            sha, parents, name, email, date, message = record.split("\x1f", 5)
            commits.append(Commit(sha, message, tuple(parents.split()), name, email, date))
        return commits

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
