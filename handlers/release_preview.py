"""State on each pull/merge request the release it will cause (release.preview: true)."""
from __future__ import annotations

from semver import Version

from bot import releases
from bot.context import Context
from bot.sansio.commits import Commit as GitCommit
from bot.sansio.history import collect_changes
from bot.sansio.versioning import Bump, decide_bump, next_version
from bot.routing import Router

router = Router()
MARKER = "<!-- shipbot:release-preview -->"


def _change_request(event) -> tuple[int, str, str, str] | None:
    """(number, title, base branch, head sha) of the PR/MR this event is about."""
    payload = event.payload
    if event.source == "github":
        pr = payload.get("pull_request") or {}
        return pr.get("number"), pr.get("title") or "", (pr.get("base") or {}).get("ref"), (pr.get("head") or {}).get("sha")
    mr = payload.get("object_attributes") or {}
    return mr.get("iid"), mr.get("title") or "", mr.get("target_branch"), (mr.get("last_commit") or {}).get("id")


@router.on("pull_request.opened", source="github")
@router.on("pull_request.synchronize", source="github")
@router.on("pull_request.edited", source="github")
@router.on("pull_request.reopened", source="github")
@router.on("merge_request.open", source="gitlab")
@router.on("merge_request.update", source="gitlab")
@router.on("merge_request.reopen", source="gitlab")
async def change_request_updated(ctx: Context) -> None:
    """Compute the bump from the title (what a squash merge keeps) and the commits; update one comment."""
    repo = ctx.event.repo
    found = _change_request(ctx.event)
    if repo is None or found is None or not found[0] or not found[3]:
        return
    number, title, base, head = found
    settings = await releases.settings_for(ctx, repo)
    if not settings.preview:
        return
    forge = ctx.forge_for(repo)
    commits = await forge.compare(repo, base, head)
    # The title counts as one more commit: with squash merges it becomes the commit message.
    git = [GitCommit(head, title)] + [GitCommit(c.sha, c.message, tuple(c.parents)) for c in commits]
    history = collect_changes(git, squash_bullets=settings.squash_bullets)
    state = await releases.tag_state(ctx, repo, settings)
    base_version = state.latest_final[1] if state.latest_final else None
    bump, reasons = decide_bump(history, settings.types, major_on_zero=settings.major_on_zero, base=base_version)
    upcoming = next_version(base_version, bump, initial=Version.parse(settings.initial_version))
    body = ctx.render.for_forge("release_preview", marker=MARKER, bump=bump.label if bump is not Bump.NONE else None,
                                current=base_version, next=upcoming, reasons=[r for r in reasons if r.bump])
    await forge.upsert_comment(repo, number, MARKER, body)
