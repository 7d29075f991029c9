"""Release PR/MR mode: keep one release PR up to date on every push, and publish when it is merged."""
from __future__ import annotations

import re
from pathlib import PurePosixPath

from semver import Version

from bot import releases
from bot.context import Context
from bot.errors import CommandError, ConfigError
from bot.forge.base import permission_at_least
from bot.routing import Help, Router
from bot.sansio.changelog import prepend_section
from bot.sansio.commands import SEMVER_RE
from bot.sansio.events import RepoRef
from bot.sansio.release_config import ReleaseSettings
from bot.store.mutex import held
from bot.versionfiles import set_version_text
from handlers.release import announce, may_release_here

router = Router()

RELEASE_BRANCH = "shipbot/release"
TITLE_RE = re.compile(r"^chore\(release\): (\S+)")
RELEASE_AS_RE = re.compile(r"<!-- shipbot:release-as (\S+) -->")
NOTES_RE = re.compile(r"<!-- shipbot:notes -->\n(.*)<!-- shipbot:notes-end -->", re.S)

RELEASE_AS_HELP = Help(
    summary="Make the release PR/MR release this exact version",
    usage="/release-as X.Y.Z",
    examples=("/release-as 2.0.0",),
    who="maintainers of the repository (release.mode: pr)",
    allowed=may_release_here,
)


def _branch_of(payload) -> str | None:
    ref = str(payload.get("ref") or "")
    return ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None


@router.on("push")
async def branch_pushed(ctx: Context) -> None:
    """A push to the release branch opens or updates the release PR (release.mode: pr)."""
    repo, pushed = ctx.event.repo, _branch_of(ctx.event.payload)
    if repo is None or pushed is None or ctx.event.payload.get("deleted"):
        return
    settings = await releases.settings_for(ctx, repo)
    if settings.mode != "pr":
        return
    branch = settings.branches[0] if settings.branches else await ctx.forge_for(repo).default_branch(repo)
    if pushed == branch:
        await refresh(ctx, repo, settings)


async def refresh(ctx: Context, repo: RepoRef, settings: ReleaseSettings, release_as: str | None = None) -> str:
    """Open or update the one release PR; serialized so concurrent pushes never open two."""
    forge = ctx.forge_for(repo)
    async with held(ctx.db, f"release-pr:{repo}", ctx.event.delivery_id, wait=60):
        existing = await forge.find_change_request(repo, RELEASE_BRANCH)
        if release_as is None and existing and (found := RELEASE_AS_RE.search(existing.body)):
            release_as = found.group(1)
        planned = await releases.plan(ctx, repo, version=release_as, settings=settings)
        plan = planned.plan
        if plan.next is None:
            return "none"
        if any(TITLE_RE.match(c.message) and TITLE_RE.match(c.message).group(1) == str(plan.next)
               for c in plan.commits):
            return "merged"  # the release PR for this version was merged; its tag is on the way
        notes = await releases.notes(ctx, repo, settings, plan.history, version=str(plan.next),
                                     tag=plan.next_tag, previous_tag=plan.base_tag)
        files = await _file_edits(ctx, repo, settings, planned.branch, str(plan.next), notes)
        title = f"chore(release): {plan.next}"
        body = ctx.render.for_forge("release_pr", plan=plan, repo=repo, notes=notes, release_as=release_as,
                                    files=sorted(files))
        await forge.upsert_change_request(repo, branch=RELEASE_BRANCH, base=planned.branch, title=title, body=body,
                                          files=files, message=title)
        await ctx.audit("release-pr-updated" if existing else "release-pr-opened", title, repo=repo)
        return "updated" if existing else "opened"


async def _file_edits(ctx: Context, repo: RepoRef, settings: ReleaseSettings, branch: str, version: str,
                      notes: str) -> dict[str, str]:
    forge = ctx.forge_for(repo)
    files: dict[str, str] = {}
    for path in settings.version_files:
        text = await forge.read_file(repo, path, branch)
        if text is None:
            raise ConfigError(f"release.version_files lists {path}, which is not on {branch}")
        try:
            files[path] = set_version_text(PurePosixPath(path).name, text, version)[0]
        except ValueError as exc:
            raise ConfigError(f"release.version_files: cannot set the version in {path}: {exc}") from None
    if settings.changelog:
        existing = await forge.read_file(repo, settings.changelog, branch) or "# Changelog\n"
        files[settings.changelog] = prepend_section(existing, notes)
    return files


def _merged_release(event) -> tuple[str, str | None, str] | None:
    """(version, merge sha, PR body) when this event is our release PR being merged."""
    payload = event.payload
    if event.source == "github" and event.name == "pull_request.closed":
        pr = payload.get("pull_request") or {}
        if pr.get("merged") and (pr.get("head") or {}).get("ref") == RELEASE_BRANCH:
            title = TITLE_RE.match(pr.get("title") or "")
            return (title.group(1), pr.get("merge_commit_sha"), pr.get("body") or "") if title else None
    if event.source == "gitlab" and event.name == "merge_request.merge":
        mr = payload.get("object_attributes") or {}
        if mr.get("source_branch") == RELEASE_BRANCH:
            title = TITLE_RE.match(mr.get("title") or "")
            sha = mr.get("merge_commit_sha") or (mr.get("last_commit") or {}).get("id")
            return (title.group(1), sha, mr.get("description") or "") if title else None
    return None


@router.on("pull_request.closed", source="github")
@router.on("merge_request.merge", source="gitlab")
async def release_pr_merged(ctx: Context) -> None:
    """The release PR was merged: tag its merge commit and publish the notes it carried."""
    found, repo = _merged_release(ctx.event), ctx.event.repo
    if found is None or repo is None:
        return
    version_text, sha, body = found
    settings = await releases.settings_for(ctx, repo)
    version = Version.parse(version_text)
    tag = settings.tags.format(version)
    notes = NOTES_RE.search(body)
    if notes is None:  # the body was edited beyond recognition: write the notes again
        tags = [t.name for t in await ctx.forge_for(repo).list_tags(repo)]
        previous = releases.previous_tag(tags, settings, version)
        history = await releases.history_between(ctx, repo, settings, previous, sha or tag)
        text = await releases.notes(ctx, repo, settings, history, version=str(version), tag=tag,
                                    previous_tag=previous)
    else:
        text = notes.group(1)
    release, outcome = await releases.publish(ctx, repo, tag=tag, version=version, sha=sha, body=text,
                                              create_tag=True)
    await ctx.audit(f"release-{outcome}", f"{tag} (release PR merged)", repo=repo)
    if outcome == "created":
        await announce(ctx, repo, settings, tag, version, release.url if release else None)


@router.command("release-as", help=RELEASE_AS_HELP)
async def release_as_requested(ctx: Context) -> None:
    """Pin the release PR's version; later pushes keep it until the PR is merged."""
    if ctx.event.source == "slack" or ctx.event.repo is None:
        raise CommandError("/release-as works in a comment on the repository's release PR/MR")
    if len(ctx.command.args) != 1 or not SEMVER_RE.match(ctx.command.args[0]):
        raise CommandError("usage: /release-as X.Y.Z")
    repo, actor = ctx.event.repo, ctx.event.actor
    level = await ctx.forge_for(repo).permission(repo, actor.login) if actor else "none"
    if not permission_at_least(level, "maintain"):
        raise CommandError(f"choosing the release version needs maintainer rights; {actor.login if actor else 'you'} "
                           f"has {level}")
    settings = await releases.settings_for(ctx, repo)
    if settings.mode != "pr":
        raise CommandError("this repository releases on tag push (release.mode: tag); use /release X.Y.Z instead")
    outcome = await refresh(ctx, repo, settings, release_as=ctx.command.args[0].lstrip("v"))
    await ctx.reply("release_as", version=ctx.command.args[0].lstrip("v"), outcome=outcome)
