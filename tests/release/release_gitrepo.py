"""Build real git repositories for the release tests: commit by commit, or all at once by fast-import."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EPOCH = 1704067200  # 2024-01-01T00:00:00Z: fixed dates make shas and outputs reproducible


def git_env(**extra: str) -> dict[str, str]:
    """An environment where git ignores the machine's config and has a fixed identity."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update({
        "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "Ann Lee", "GIT_AUTHOR_EMAIL": "ann@example.com",
        "GIT_COMMITTER_NAME": "Release Bot", "GIT_COMMITTER_EMAIL": "bot@example.com",
        "GIT_AUTHOR_DATE": f"{EPOCH} +0000", "GIT_COMMITTER_DATE": f"{EPOCH} +0000",
        "SOURCE_DATE_EPOCH": str(EPOCH + 86400 * 120),  # "today" for the CLI: 2024-04-30
    })
    env.update(extra)
    return env


class GitRepo:
    """A scratch repository on branch main, built one commit at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.clock = EPOCH
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        """Run git here and return its output."""
        done = subprocess.run(["git", *args], cwd=self.path, env=env or git_env(),
                              capture_output=True, text=True, check=True)
        return done.stdout

    def commit(self, message: str, files: dict[str, str] | None = None,
               author: tuple[str, str] = ("Ann Lee", "ann@example.com")) -> str:
        """Commit `files` (path -> text) or nothing, one second after the previous commit."""
        for name, text in (files or {}).items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            self.git("add", name)
        self.clock += 1
        env = git_env(GIT_AUTHOR_NAME=author[0], GIT_AUTHOR_EMAIL=author[1],
                      GIT_AUTHOR_DATE=f"{self.clock} +0000", GIT_COMMITTER_DATE=f"{self.clock} +0000")
        self.git("commit", "-q", "--allow-empty", "-m", message, env=env)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def tag(self, name: str, rev: str = "HEAD") -> None:
        """A lightweight tag, as most release tools make them."""
        self.git("tag", name, rev)

    def state(self) -> tuple[str, str, str]:
        """HEAD, tags and status: what a dry run must leave exactly as it was."""
        return self.head(), self.git("tag", "--list"), self.git("status", "--porcelain", "--untracked-files=all")


def fast_import(path: Path, commits: Sequence[dict], tags: dict[str, int] | None = None,
                files: dict[str, str] | None = None) -> None:
    """Create a repository from `commits` (oldest first) in one `git fast-import` run.

    Each commit is {"message", optional "author": (name, email), optional "merge": index of a
    second parent}. `tags` maps a tag name to a commit index; `files` go into the first commit
    and are checked out.
    """
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, env=git_env(), check=True)
    chunks: list[bytes] = []
    for index, commit in enumerate(commits):
        name, email = commit.get("author", ("Ann Lee", "ann@example.com"))
        message = commit["message"].encode("utf-8")
        stamp = EPOCH + index
        chunks.append(
            f"commit refs/heads/main\nmark :{index + 1}\n"
            f"author {name} <{email}> {stamp} +0000\n"
            f"committer {name} <{email}> {stamp} +0000\n"
            f"data {len(message)}\n".encode("utf-8") + message + b"\n")
        if index:
            chunks.append(f"from :{index}\n".encode())
        if commit.get("merge") is not None:
            chunks.append(f"merge :{commit['merge'] + 1}\n".encode())
        if index == 0:
            for file_name, text in (files or {}).items():
                data = text.encode("utf-8")
                chunks.append(f"M 100644 inline {file_name}\ndata {len(data)}\n".encode() + data + b"\n")
        chunks.append(b"\n")
    for tag, index in (tags or {}).items():
        chunks.append(f"reset refs/tags/{tag}\nfrom :{index + 1}\n\n".encode())
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, env=git_env(),
                   input=b"".join(chunks), check=True)
    if files:
        subprocess.run(["git", "reset", "-q", "--hard"], cwd=path, env=git_env(), check=True)


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
    """Run `shipbot <args>` (python -m bot) as a user would, and capture what it says."""
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd or ROOT,
                          env=env or git_env(), capture_output=True, text=True, timeout=120)
