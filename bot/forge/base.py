"""Define the one Forge interface, in neutral words, that GitHub and GitLab adapters implement."""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

from bot.errors import BotError, TransientError
from bot.sansio.events import RepoRef
from bot.sansio.test_report import Totals as TestTotals  # one shape for GitLab's summary and JUnit's


class ForgeError(BotError):
    """The forge refused or failed; `message` is safe to show to the user."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NotFound(ForgeError):
    """The repository, ref, file or object does not exist (or shipbot cannot see it)."""


class PermissionDenied(ForgeError):
    """shipbot's credentials may not do this (401/403 that is not a rate limit)."""


class Conflict(ForgeError):
    """The object exists already or the request conflicts with its state (409/422)."""


class ForgeUnavailable(TransientError):
    """A 5xx, a timeout or a refused connection: retry later."""


class RateLimited(TransientError):
    """Primary or secondary rate limit: retry after `retry_after` seconds."""


class Unsupported(ForgeError):
    """This forge (or this adapter) has no such feature; the message names it."""


# Permission levels, lowest first; GitLab access levels map onto the same words.
PERMISSIONS = ("none", "read", "triage", "write", "maintain", "admin")


def permission_at_least(have: str, need: str) -> bool:
    return PERMISSIONS.index(have if have in PERMISSIONS else "none") >= PERMISSIONS.index(need)


@dataclass(frozen=True)
class Comment:
    id: int
    body: str
    author: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class ChangeRequest:
    """A GitHub pull request or a GitLab merge request."""

    number: int
    title: str
    head_ref: str
    head_sha: str
    base_ref: str
    author: str | None = None
    url: str | None = None
    state: str = "open"  # open | closed | merged
    from_fork: bool = False
    body: str = ""


@dataclass(frozen=True)
class Commit:
    sha: str
    message: str
    author: str | None = None
    author_login: str | None = None
    date: str | None = None  # ISO 8601
    url: str | None = None
    parents: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tag:
    name: str
    sha: str


@dataclass(frozen=True)
class Release:
    id: int | str
    tag: str
    name: str | None
    body: str
    url: str | None = None
    draft: bool = False
    prerelease: bool = False


@dataclass(frozen=True)
class Check:
    """One check run (GitHub) or job (GitLab) on a commit."""

    id: int
    name: str
    status: str  # queued | in_progress | completed
    conclusion: str | None  # success | failure | cancelled | skipped | timed_out | neutral | None
    url: str | None = None
    summary: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    suite_id: int | None = None  # GitHub check suite / GitLab pipeline id
    run_id: int | None = None  # GitHub Actions workflow run id, when there is one
    annotations: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Deployment:
    id: int | str
    environment: str
    ref: str
    sha: str | None = None
    url: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Artifact:
    """A file bundle a CI run uploaded (a GitHub Actions artifact, a GitLab job's artifacts)."""

    id: int | str
    name: str
    size: int | None = None  # bytes, when the forge says
    expired: bool = False
    run_id: int | None = None
    url: str | None = None  # API download URL; only ever fetched from the forge's own API host


@dataclass(frozen=True)
class HookDelivery:
    """One webhook delivery the forge made to shipbot (GitHub App hook deliveries)."""

    id: int | str
    guid: str  # the delivery id shipbot saw (X-GitHub-Delivery); shared by redeliveries
    event: str
    action: str | None
    status_code: int  # what shipbot answered; 0 when the forge could not connect
    delivered_at: str  # ISO 8601
    redelivery: bool = False
    repository_id: int | None = None
    installation_id: int | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300


class Forge(abc.ABC):
    """Everything the features do on a forge. Reads may be cached; writes are recorded in dry-run."""

    name: str = "forge"

    # Reads -----------------------------------------------------------------------------------
    @abc.abstractmethod
    async def default_branch(self, repo: RepoRef) -> str: ...

    @abc.abstractmethod
    async def read_file(self, repo: RepoRef, path: str, ref: str | None = None) -> str | None:
        """The file's text at `ref` (default branch when None), or None when it does not exist."""

    @abc.abstractmethod
    async def resolve_ref(self, repo: RepoRef, ref: str) -> str:
        """The commit sha a branch, tag or sha points at; NotFound otherwise."""

    @abc.abstractmethod
    async def list_tags(self, repo: RepoRef) -> list[Tag]: ...

    @abc.abstractmethod
    async def compare(self, repo: RepoRef, base: str | None, head: str) -> list[Commit]:
        """Commits reachable from head and not from base (all of head's history when base is None), newest first."""

    @abc.abstractmethod
    async def get_change_request(self, repo: RepoRef, number: int) -> ChangeRequest: ...

    @abc.abstractmethod
    async def change_requests_for_commit(self, repo: RepoRef, sha: str) -> list[ChangeRequest]:
        """Open PRs/MRs whose head is this commit (forks included)."""

    @abc.abstractmethod
    async def find_change_request(self, repo: RepoRef, head_branch: str) -> ChangeRequest | None:
        """The open PR/MR from this branch of the same repository, if any."""

    @abc.abstractmethod
    async def checks_for_commit(self, repo: RepoRef, sha: str) -> list[Check]: ...

    @abc.abstractmethod
    async def test_totals(self, repo: RepoRef, pipeline_id: int) -> TestTotals | None:
        """GitLab's pipeline test report summary; None where the forge has none."""

    @abc.abstractmethod
    async def permission(self, repo: RepoRef, login: str) -> str:
        """The user's permission, one of PERMISSIONS."""

    async def is_member(self, repo: RepoRef, group: str, login: str) -> bool:
        """Whether `login` belongs to `group` (`github-team:org/team`, `gitlab-group:group/sub`).

        Not abstract, so adapters written before it keep working: one that cannot tell raises
        NotImplementedError, and permission checks then treat the group as not matching.
        """
        raise NotImplementedError(f"{self.name} cannot look up group membership yet")

    @abc.abstractmethod
    async def get_release(self, repo: RepoRef, tag: str) -> Release | None: ...

    @abc.abstractmethod
    async def find_comment(self, repo: RepoRef, number: int, marker: str, *,
                           on_change_request: bool = True) -> Comment | None:
        """The comment on a PR/MR or issue whose body carries `marker`, if any.

        `on_change_request` says whether `number` is a PR/MR or an issue: GitLab numbers merge
        requests and issues separately (ReplyTarget.on_change_request); GitHub may ignore it.
        """

    # Writes ----------------------------------------------------------------------------------
    @abc.abstractmethod
    async def create_comment(self, repo: RepoRef, number: int, body: str, *,
                             on_change_request: bool = True) -> Comment: ...

    @abc.abstractmethod
    async def upsert_comment(self, repo: RepoRef, number: int, marker: str, body: str, *,
                             on_change_request: bool = True) -> Comment:
        """Edit the comment carrying `marker` (a hidden HTML comment), or create it."""

    @abc.abstractmethod
    async def react(self, repo: RepoRef, number: int, comment_id: int, reaction: str, *,
                    on_change_request: bool = True) -> None:
        """Add a reaction (`+1`, `eyes`, `rocket`, `confused`) to a comment on a PR/MR or issue."""

    @abc.abstractmethod
    async def create_tag(self, repo: RepoRef, name: str, sha: str, message: str) -> Tag: ...

    @abc.abstractmethod
    async def create_release(self, repo: RepoRef, tag: str, name: str, body: str, *,
                             prerelease: bool = False, draft: bool = False) -> Release: ...

    @abc.abstractmethod
    async def update_release(self, repo: RepoRef, release: Release, *, body: str, name: str | None = None,
                             prerelease: bool | None = None, draft: bool | None = None) -> Release: ...

    @abc.abstractmethod
    async def upsert_change_request(self, repo: RepoRef, *, branch: str, base: str, title: str, body: str,
                                    files: dict[str, str], message: str) -> ChangeRequest:
        """Point `branch` at one commit on top of `base` holding `files`, and open or update its PR/MR."""

    @abc.abstractmethod
    async def rerun_failed(self, repo: RepoRef, check: Check) -> None:
        """Re-run only the failed jobs of the run/pipeline this check belongs to."""

    @abc.abstractmethod
    async def create_deployment(self, repo: RepoRef, *, ref: str, environment: str, inputs: dict[str, str],
                                payload: dict[str, Any], method: str = "deployment",
                                workflow: str | None = None, required_checks: bool = True,
                                job: str | None = None) -> Deployment:
        """Start a deploy: a GitHub Deployment, a workflow dispatch, or a GitLab pipeline with variables.

        `job` (GitLab, method pipeline): play this manual job of the new pipeline. Callers pass it
        only when an environment names one, so adapters written before it keep working.
        """

    @abc.abstractmethod
    async def set_deployment_status(self, repo: RepoRef, deployment: Deployment, state: str, *,
                                    description: str = "", log_url: str | None = None) -> None: ...

    # Optional features: not abstract, so an adapter without them still works --------------------
    async def list_annotations(self, repo: RepoRef, check: Check) -> list[dict[str, Any]]:
        """The check's annotations as dicts with path, start_line, end_line, level, title, message."""
        raise Unsupported(f"{self.name} has no check annotations")

    async def list_artifacts(self, repo: RepoRef, run_id: int) -> list[Artifact]:
        """The artifacts a CI run (GitHub workflow run, GitLab pipeline) uploaded."""
        raise Unsupported(f"shipbot cannot list CI artifacts on {self.name} yet")

    async def download_artifact(self, repo: RepoRef, artifact: Artifact) -> bytes:
        """The artifact's archive (a zip on GitHub), whole."""
        raise Unsupported(f"shipbot cannot download CI artifacts from {self.name} yet")

    async def list_deliveries(self, *, since: str | None = None, limit: int = 500) -> list[HookDelivery]:
        """The forge's recent webhook deliveries to shipbot, newest first, back to `since` (ISO 8601)."""
        raise Unsupported(f"{self.name} does not list its webhook deliveries to shipbot")

    async def redeliver(self, delivery_id: int | str) -> None:
        """Ask the forge to send a delivery (a HookDelivery.id) again."""
        raise Unsupported(f"{self.name} cannot redeliver webhooks on request")
