"""Forget a repository's cached .shipbot.yml when its default branch changes."""
from __future__ import annotations

from bot.context import Context
from bot.routing import Router
from bot.sansio.repoconfig import CONFIG_PATHS

router = Router()


def _touched(payload) -> set[str]:
    paths: set[str] = set()
    for commit in payload.get("commits") or ():
        for key in ("added", "modified", "removed"):
            paths.update(commit.get(key) or ())
    return paths


@router.on("push")
async def default_branch_pushed(ctx: Context) -> None:
    """A push that touches the config file on the default branch clears the cache."""
    payload, repo = ctx.event.payload, ctx.event.repo
    if repo is None:
        return
    default = (payload.get("repository") or {}).get("default_branch") or (payload.get("project") or {}).get("default_branch")
    if payload.get("ref") != f"refs/heads/{default}":
        return
    # GitHub lists at most 20 commits with their files; a larger push may hide the change.
    touched = _touched(payload)
    if touched & set(CONFIG_PATHS) or len(payload.get("commits") or ()) >= 20 or not payload.get("commits"):
        ctx.services.configs.invalidate(repo)
        ctx.log.info("repo_config_invalidated", repo=str(repo))
