"""Read repository names as people type them: owner/name, github:owner/name, URLs, or a short name."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from bot.sansio.events import RepoRef

PATH_RE = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")


def parse_repo(text: str, forges: tuple[str, ...], hosts: dict[str, str] | None = None) -> RepoRef | str:
    """A RepoRef, or the reason `text` names none. `forges`: the configured ones ("github", "gitlab").

    `hosts` maps a web host (github.com, gitlab.example.com) to its forge, so a pasted URL works.
    """
    text = text.strip().rstrip("/")
    if text.endswith(".git"):
        text = text[:-4]
    if text.startswith(("https://", "http://")):
        parts = urlsplit(text)
        forge = (hosts or {}).get(parts.hostname or "")
        if forge is None:
            return f"'{parts.hostname}' is not a forge shipbot knows ({', '.join(sorted((hosts or {}))) or 'none'})"
        path = parts.path.strip("/").split("/-/", 1)[0]
        if forge == "github":
            path = "/".join(path.split("/")[:2])
        return RepoRef(forge, path) if PATH_RE.match(path) else f"'{text}' does not name a repository"
    forge, sep, path = text.partition(":")
    if sep:
        if forge not in ("github", "gitlab"):
            return f"'{forge}:' is not a forge; write github:owner/name or gitlab:group/project"
        if forge not in forges:
            return f"{forge} is not configured on this shipbot"
    else:
        path = text
        if len(forges) != 1:
            both = " or ".join(f"{f}:{text}" for f in forges) or "a forge"
            return f"'{text}' could be on either forge; write {both}"
        forge = forges[0]
    if not PATH_RE.match(path):
        return f"'{text}' is not a repository; write owner/name"
    if forge == "github" and path.count("/") != 1:
        return f"'{text}' is not a GitHub repository (owner/name)"
    return RepoRef(forge, path)


def pick_linked(name: str | None, linked: list[RepoRef]) -> RepoRef | str:
    """Choose among a channel's linked repositories: by short name or full path, or the only one."""
    if not linked:
        return "this channel is not linked to a repository; run /shipbot link owner/name, or add --repo"
    if name is None:
        if len(linked) == 1:
            return linked[0]
        return "this channel is linked to " + ", ".join(map(str, linked)) + "; name one with --repo"
    matches = [r for r in linked if name in (str(r), r.path, r.path.rsplit("/", 1)[-1])]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        return f"'{name}' matches " + ", ".join(map(str, matches)) + "; write the full name"
    return f"'{name}' is not linked to this channel (linked: {', '.join(map(str, linked))})"
