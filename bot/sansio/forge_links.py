"""Build web links to commits, PRs/MRs, issues and compare views on GitHub or GitLab."""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

# git@host:owner/repo.git, ssh://git@host:2222/group/sub/repo.git, https://user:pw@host/o/r.git
REMOTE_RE = re.compile(
    r"^(?:(?P<scheme>[a-z+]+)://)?(?:[^@/]+@)?(?P<host>[^:/]+)(?::(?P<port>\d+)(?=/))?[:/]"
    r"(?P<path>[^\s]+?)(?:\.git)?/?$")


@dataclass(frozen=True)
class ForgeLinks:
    """Links into one repository on one forge; `kind` is 'github' or 'gitlab'."""

    kind: str
    repo_url: str  # https://github.com/owner/repo, https://gitlab.example.com/group/sub/project

    @property
    def pr_prefix(self) -> str:
        """How the forge writes a PR/MR reference: '#' on GitHub, '!' on GitLab."""
        return "!" if self.kind == "gitlab" else "#"

    @property
    def _sep(self) -> str:
        # GitLab puts project pages under /-/ (https://docs.gitlab.com/ee/user/project/repository/).
        return "/-/" if self.kind == "gitlab" else "/"

    def commit(self, sha: str) -> str:
        """The page of one commit."""
        return f"{self.repo_url}{self._sep}commit/{sha}"

    def pull(self, number: int) -> str:
        """The page of a pull request (GitHub) or merge request (GitLab)."""
        kind = "merge_requests" if self.kind == "gitlab" else "pull"
        return f"{self.repo_url}{self._sep}{kind}/{number}"

    def issue(self, number: int) -> str:
        """The page of an issue."""
        return f"{self.repo_url}{self._sep}issues/{number}"

    def compare(self, old: str, new: str) -> str:
        """The compare view between two refs (tags or shas)."""
        return f"{self.repo_url}{self._sep}compare/{quote(old, safe='@/')}...{quote(new, safe='@/')}"

    def tag(self, name: str) -> str:
        """The page of a tag's tree."""
        kind = "tree" if self.kind == "github" else "tags"
        return f"{self.repo_url}{self._sep}{kind}/{quote(name, safe='@/')}"


def forge_links(remote_url: str | None, *, kind: str | None = None,
                repo_url: str | None = None) -> ForgeLinks | None:
    """Links for a repository from its git remote URL, or from configured kind and URL.

    Without configuration the forge is guessed from the host name (github/gitlab in it);
    None when it cannot be known, and then the changelog simply has no links.
    """
    url = (repo_url or _web_url(remote_url) or "").rstrip("/")
    if not url:
        return None
    if kind is None:
        host = url.split("/")[2].lower()
        kind = "github" if "github" in host else "gitlab" if "gitlab" in host else None
    return ForgeLinks(kind, url) if kind in ("github", "gitlab") else None


def _web_url(remote_url: str | None) -> str | None:
    """The https page of a git remote; credentials and ports of ssh remotes are dropped."""
    if not remote_url:
        return None
    match = REMOTE_RE.match(remote_url.strip())
    if match is None or match["scheme"] == "file" or remote_url.startswith(("/", ".")):
        return None
    port = f":{match['port']}" if match["port"] and match["scheme"] in ("http", "https") else ""
    scheme = "http" if match["scheme"] == "http" else "https"
    return f"{scheme}://{match['host']}{port}/{match['path']}"
