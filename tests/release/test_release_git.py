"""bot.git reading history from real git: the stream of records, whatever size its reads are."""
from __future__ import annotations

import pytest

from bot.git import Git
from bot.spawn import PIPE_SIZE
from tests.release.release_gitrepo import GitRepo


def test_a_message_longer_than_a_read_is_one_commit(tmp_path):
    """A record that no single read holds whole (more than the 1 MiB pipe) is read once:
    a read ending inside it once made the reader parse what it had and then parse it again."""
    repo = GitRepo(tmp_path / "long")
    repo.commit("fix: a")
    body = "\n".join(f"line {n} " + "x" * 70 for n in range(2 * PIPE_SIZE // 78))
    message = tmp_path / "message"
    message.write_text(f"feat: long\n\n{body}")
    repo.git("commit", "-q", "--allow-empty", "-F", str(message))  # too long for -m
    repo.commit("fix: c")
    commits = list(Git(repo.path).log(["HEAD"]))
    assert [commit.subject for commit in commits] == ["fix: c", "feat: long", "fix: a"]
    assert commits[1].message.rstrip("\n") == f"feat: long\n\n{body}"


def test_boundary_shas_are_whole_in_a_sha256_repository(tmp_path):
    """The boundary of a range is read up to its first field, not as 40 characters: a SHA-256
    repository's 64-digit sha cut short would never match its tag, and every release plan would
    take the slow `git tag --merged` way."""
    import subprocess

    from tests.release.release_gitrepo import git_env

    path = tmp_path / "sha256"
    path.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", "--object-format=sha256"], cwd=path, env=git_env(),
                   check=True)
    repo = GitRepo(path)  # reinitialises, keeping the object format
    base = repo.commit("feat: a")
    repo.commit("fix: b")
    boundary: list[str] = []
    commits = list(Git(repo.path).log([f"{base}..HEAD"], boundary=boundary))
    assert [commit.subject for commit in commits] == ["fix: b"]
    assert len(base) == 64 and boundary == [base]


def test_without_git_on_the_path_the_error_says_so(tmp_path, monkeypatch):
    """No git at all: one clear GitError, from the early start and from bot.git alike."""
    import pytest

    from bot import git_prefetch
    from bot.git import GitError

    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory
    git_prefetch.start_early(["next-version", "--repo", str(tmp_path)])
    assert (git_prefetch._started, git_prefetch._finished) == ({}, {})
    with pytest.raises(GitError, match="cannot run git"):
        Git(tmp_path).toplevel()
    git_prefetch.discard()


def test_a_failed_command_gives_gits_own_message(tmp_path):
    """bot.spawn hands back git's exit status and its error output, read in full."""
    import pytest

    from bot.git import GitError

    with pytest.raises(GitError, match="not a git repository"):
        Git(tmp_path).toplevel()


def test_a_stream_stopped_early_leaves_no_process(tmp_path):
    """A `git log` read only in part (the quick walk stops where git would) is killed and reaped."""
    from bot.spawn import LogStream
    from tests.release.release_gitrepo import git_env

    repo = GitRepo(tmp_path / "many")
    for number in range(30):
        repo.commit(f"fix: {number}")
    stream = LogStream(str(repo.path), ["git", "log", "-z", "--format=%B"], git_env())
    assert stream.chunks.get()
    stream.stop()
    assert stream.process.returncode is not None



@pytest.mark.parametrize("portable", [False, True])
def test_spawn_runs_git_with_or_without_posix_spawn(tmp_path, portable):
    """bot.spawn's two ways (os.posix_spawnp; the subprocess module where it is missing, as on
    Windows) give the same answers: output, errors and exit status, and a stream to stop."""
    from bot.spawn import LogStream, Process
    from tests.release.release_gitrepo import git_env

    repo = GitRepo(tmp_path / "spawn")
    for number in range(30):
        repo.commit(f"fix: {number}")
    done = Process(str(repo.path), ["git", "rev-list", "--count", "HEAD"], git_env(),
                   portable=portable).communicate()
    assert (done.returncode, done.stdout, done.stderr) == (0, b"30\n", b"")
    failed = Process(str(tmp_path), ["git", "log"], git_env(), portable=portable).communicate()
    assert failed.returncode == 128 and b"not a git repository" in failed.stderr
    stream = LogStream(str(repo.path), ["git", "log", "-z", "--format=%s"], git_env(), portable=portable)
    assert stream.chunks.get().startswith(b"fix: 29\0")
    stream.stop()
    assert stream.process.returncode is not None
