"""Publish releases: notes when a release tag is pushed, and `/release` from Slack or a comment."""
from __future__ import annotations

from semver import Version

from bot import links, releases
from bot.context import Context
from bot.errors import BotError, CommandError
from bot.forge.base import permission_at_least
from bot.routing import Help, Router
from bot.sansio.commands import UsageError, parse_release
from bot.sansio.events import Event, RepoRef
from bot.sansio.permissions import describe, match
from bot.sansio.release_config import ReleaseSettings
from handlers.environments import candidate_repos

router = Router()

async def may_release_here(ctx: Context) -> bool:
    """/help lists /release to those who could release one of the repositories here."""
    for repo in await candidate_repos(ctx):
        try:
            await may_release(ctx, repo, await releases.settings_for(ctx, repo))
            return True
        except CommandError:
            continue
        except BotError:
            return True  # cannot tell now: list it, the command checks again
    return False


RELEASE_HELP = Help(
    summary="Tag and publish the next release (version from Conventional Commits), with notes",
    usage="/release [patch|minor|major|X.Y.Z] [--pre rc] [--dry-run] [--repo R]",
    examples=("/release --dry-run", "/release", "/release minor", "/release 2.0.0", "/release --pre rc"),
    who="in a comment, maintainers of the repository; in Slack, the principals in release.allow",
    allowed=may_release_here,
)
ZERO_SHA = "0" * 40


def pushed_tag(event: Event) -> tuple[str, str | None] | None:
    """(tag, sha) when the event announces a new tag, else None."""
    payload = event.payload
    if event.source == "github" and event.kind == "create":
        return (payload["ref"], None) if payload.get("ref_type") == "tag" else None
    ref = str(payload.get("ref") or "")
    if not ref.startswith("refs/tags/"):
        return None
    if event.source == "github":
        if payload.get("deleted") or not payload.get("created"):
            return None
        return ref.removeprefix("refs/tags/"), payload.get("after")
    if payload.get("after") == ZERO_SHA:  # GitLab: a deleted tag
        return None
    return ref.removeprefix("refs/tags/"), payload.get("checkout_sha") or payload.get("after")


@router.on("push", source="github")
@router.on("create", source="github")
@router.on("tag_push", source="gitlab")
async def tag_pushed(ctx: Context) -> None:
    """A release tag was pushed: write its notes into the GitHub/GitLab release and announce it."""
    found = pushed_tag(ctx.event)
    repo = ctx.event.repo
    if found is None or repo is None:
        return
    tag, sha = found
    settings = await releases.settings_for(ctx, repo)
    version = settings.tags.parse(tag)
    if version is None:
        ctx.log.info("tag_is_not_a_release", tag=tag, tag_format=settings.tag_format)
        return
    tags = [t.name for t in await ctx.forge_for(repo).list_tags(repo)]
    previous = releases.previous_tag(tags, settings, version)
    history = await releases.history_between(ctx, repo, settings, previous, tag)
    body = await releases.notes(ctx, repo, settings, history, version=str(version), tag=tag, previous_tag=previous)
    release, outcome = await releases.publish(ctx, repo, tag=tag, version=version, sha=sha, body=body,
                                              create_tag=False)
    await ctx.audit(f"release-{outcome}", f"{tag} (pushed)", repo=repo)
    if outcome == "created":
        await announce(ctx, repo, settings, tag, version, release.url if release else None)


async def announce(ctx: Context, repo: RepoRef, settings: ReleaseSettings, tag: str, version: Version,
                   url: str | None) -> None:
    """Post to release.announce; Slack takes a channel id or a #name there."""
    if settings.announce:
        text = ctx.render.for_chat("release_announce", repo=repo, tag=tag, version=str(version), url=url,
                                   prerelease=bool(version.prerelease))
        await ctx.chat.post(settings.announce, text)


async def may_release(ctx: Context, repo: RepoRef, settings: ReleaseSettings) -> None:
    """Comments: maintain or admin on the repository. Slack: a principal in release.allow."""
    actor = ctx.event.actor
    if actor is None:
        raise CommandError("shipbot cannot tell who asked, so it will not release")
    if ctx.event.source in ("github", "gitlab"):
        level = await ctx.forge_for(repo).permission(repo, actor.login)
        if not permission_at_least(level, "maintain"):
            raise CommandError(f"releasing {repo.path} needs maintainer rights; {actor.login} has {level}")
        return
    if not match(settings.allow, actor).allowed:
        raise CommandError(f"you may not release {repo} from Slack; release.allow lists "
                           f"{describe(settings.allow)} (Slack users are listed as slack:U…)")


@router.command("release", help=RELEASE_HELP)
async def release_requested(ctx: Context) -> None:
    """Propose the next version and why; unless --dry-run, tag the release branch and publish."""
    request = parse_release(ctx.command)
    if isinstance(request, UsageError):
        raise CommandError(request.message)
    repo = await links.resolve_repo(ctx, request.repo)
    settings = await releases.settings_for(ctx, repo)
    await may_release(ctx, repo, settings)
    planned = await releases.plan(ctx, repo, bump=request.bump, version=request.version, pre=request.pre,
                                  settings=settings)
    plan = planned.plan
    if plan.next is None and plan.current_tag and not request.dry_run:
        planned = await releases.resume_unpublished(ctx, repo, planned) or planned
        plan = planned.plan
    data = dict(repo=repo, plan=plan, branch=planned.branch, sha=planned.sha, dry_run=request.dry_run)
    if plan.next is None:
        await ctx.audit("release-none", f"nothing since {plan.base_tag or 'the start'}", repo=repo)
        await ctx.reply("release_none", ephemeral=False, **data)
        return
    body = await releases.notes(ctx, repo, settings, plan.history, version=str(plan.next), tag=plan.next_tag,
                                previous_tag=plan.base_tag)
    if request.dry_run:
        await ctx.audit("release-dry-run", plan.next_tag, repo=repo)
        await ctx.reply("release_proposed", ephemeral=False, notes=body, **data)
        return
    release, outcome = await releases.publish(ctx, repo, tag=plan.next_tag, version=plan.next, sha=planned.sha,
                                              body=body, create_tag=True)
    await ctx.audit(f"release-{outcome}", plan.next_tag, repo=repo)
    await ctx.reply("release_done", ephemeral=False, notes=body, release=release, outcome=outcome, **data)
    if outcome == "created":
        await announce(ctx, repo, settings, plan.next_tag, plan.next, release.url if release else None)
