"""Plan, write notes for and publish releases through the Forge: the I/O around the release engine."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from semver import Version
from sqlalchemy.dialects import postgresql, sqlite

from bot.changelog_render import render_release_notes
from bot.errors import CommandError, ConfigError
from bot.forge.base import Conflict, Release
from bot.sansio.changelog import build_release_notes
from bot.sansio.commits import Commit as GitCommit
from bot.sansio.events import RepoRef
from bot.sansio.forge_links import forge_links
from bot.sansio.history import History, collect_changes
from bot.sansio.release_config import ReleaseConfigError, ReleaseSettings, release_settings
from bot.sansio.versioning import Bump, ReleasePlan, TagState, next_version, plan_release, release_tags
from bot.store.mutex import held
from bot.store.tables import releases
from bot.template_sandbox import Limits, TemplateRejected

if TYPE_CHECKING:
    from bot.context import Context

# Text above this line in a release body is the maintainers'; shipbot only rewrites what follows.
NOTES_MARKER = "<!-- shipbot:release-notes -->"


@dataclass(frozen=True)
class Planned:
    """A plan with where it was made: the branch, its head commit and the settings used."""

    plan: ReleasePlan
    branch: str
    sha: str
    settings: ReleaseSettings


async def settings_for(ctx: "Context", repo: RepoRef) -> ReleaseSettings:
    """The repository's release settings; a bad value is a ConfigError naming the key."""
    config = await ctx.repo_config(repo)
    try:
        return release_settings(config.given.get("release"))
    except ReleaseConfigError as exc:
        raise ConfigError(f"{config.path or '.shipbot.yml'}: {exc}") from None


def _git_commits(commits) -> list[GitCommit]:
    return [GitCommit(c.sha, c.message, tuple(c.parents), c.author or "", "", c.date or "") for c in commits]


async def tag_state(ctx: "Context", repo: RepoRef, settings: ReleaseSettings) -> TagState:
    tags = await ctx.forge_for(repo).list_tags(repo)
    return release_tags((t.name for t in tags), settings.tags)


async def plan(ctx: "Context", repo: RepoRef, *, bump: str | None = None, version: str | None = None,
               pre: str | None = None, settings: ReleaseSettings | None = None) -> Planned:
    """The next release of the release branch's head, with an optional bump or version override."""
    forge = ctx.forge_for(repo)
    settings = settings or await settings_for(ctx, repo)
    branch = settings.branches[0] if settings.branches else await forge.default_branch(repo)
    sha = await forge.resolve_ref(repo, branch)
    state = await tag_state(ctx, repo, settings)
    base_tag = state.latest_final[0] if state.latest_final else None
    commits = _git_commits(await forge.compare(repo, base_tag, sha))
    result = plan_release(state, commits, settings, pre=pre)
    if version or bump:
        base = state.latest_final[1] if state.latest_final else None
        latest = state.latest[1] if state.latest else None
        if version:
            chosen = Version.parse(version)
            if base is not None and chosen <= base:
                raise CommandError(f"{version} is not above the last release {base}")
        else:
            chosen = next_version(base, Bump.from_label(bump), initial=Version.parse(settings.initial_version),
                                  latest=latest, pre=pre)
        label = "explicit" if version else bump
        result = result._replace(next=chosen, next_tag=settings.tags.format(chosen), bump=label)
    return Planned(result, branch, sha, settings)


async def resume_unpublished(ctx: "Context", repo: RepoRef, planned: Planned) -> Planned | None:
    """The plan to finish when the newest release tag sits at the head with no release yet.

    That is what a /release interrupted between tagging and publishing leaves behind; its retry
    must publish that tag rather than say nothing is due.
    """
    forge, tag = ctx.forge_for(repo), planned.plan.current_tag
    tags = {t.name: t.sha for t in await forge.list_tags(repo)}
    if tags.get(tag) != planned.sha or await forge.get_release(repo, tag) is not None:
        return None
    version = planned.settings.tags.parse(tag)
    previous = previous_tag(list(tags), planned.settings, version)
    history = await history_between(ctx, repo, planned.settings, previous, tag)
    plan = planned.plan._replace(next=version, next_tag=tag, base_tag=previous, history=history,
                                 bump="unpublished")
    return replace(planned, plan=plan)


def web_url(ctx: "Context", repo: RepoRef) -> str:
    """The repository's page, for links in notes."""
    if repo.forge == "gitlab":
        return f"{(ctx.settings.gitlab.url or 'https://gitlab.com').rstrip('/')}/{repo.path}"
    api = ctx.settings.github.api_url.rstrip("/")
    host = "https://github.com" if api == "https://api.github.com" else api.removesuffix("/api/v3")
    return f"{host}/{repo.path}"


async def history_between(ctx: "Context", repo: RepoRef, settings: ReleaseSettings, base: str | None,
                          head: str) -> History:
    commits = await ctx.forge_for(repo).compare(repo, base, head)
    return collect_changes(_git_commits(commits), squash_bullets=settings.squash_bullets)


async def notes(ctx: "Context", repo: RepoRef, settings: ReleaseSettings, history: History, *, version: str,
                tag: str, previous_tag: str | None) -> str:
    """Markdown release notes, with the repository's own template (sandboxed) when it has one."""
    model = build_release_notes(history, settings, version=version, tag=tag, previous_tag=previous_tag,
                                date=datetime.now(timezone.utc).strftime("%Y-%m-%d"))
    links = forge_links(None, kind=settings.forge or repo.forge, repo_url=settings.repo_url or web_url(ctx, repo))
    template = None
    if settings.changelog_template:
        template = await ctx.forge_for(repo).read_file(repo, settings.changelog_template)
        if template is None:
            raise ConfigError(f"release.changelog_template: {settings.changelog_template} does not exist "
                              f"on the default branch")
    if template is None:
        return render_release_notes(model, links)
    try:
        limits = Limits(max_bytes=ctx.settings.template_max_bytes, seconds=ctx.settings.template_seconds)
        return await asyncio.to_thread(render_release_notes, model, links, template=template, limits=limits)
    except TemplateRejected as exc:
        # The tag exists already: a release with our default notes, saying why, beats no release.
        ctx.log.warning("changelog_template_rejected", repo=str(repo), template=settings.changelog_template,
                        reason=exc.message)
        notice = ctx.render("changelog_template_failed.md.j2", path=settings.changelog_template, reason=exc.message)
        return notice + "\n" + render_release_notes(model, links)


def previous_tag(state_tags: list[str], settings: ReleaseSettings, version: Version) -> str | None:
    """The release tag just below `version` (finals only for a final release)."""
    older = [(v, t) for t in state_tags if (v := settings.tags.parse(t)) is not None and v < version
             and (version.prerelease or not v.prerelease)]
    return max(older)[1] if older else None


def merge_notes(existing: str, generated: str) -> str:
    """Keep what maintainers wrote above the marker; replace what shipbot wrote below it."""
    above = existing.split(NOTES_MARKER, 1)[0].rstrip() if NOTES_MARKER in existing else existing.rstrip()
    return (above + "\n\n" if above else "") + NOTES_MARKER + "\n" + generated


async def publish(ctx: "Context", repo: RepoRef, *, tag: str, version: Version, sha: str | None, body: str,
                  create_tag: bool) -> tuple[Release, str]:
    """Create the tag (optionally) and the release, idempotently; returns (release, what happened).

    Serialized per tag, so the push and create events GitHub sends for one tag, or a retry after a
    failure half-way, never make a second tag or release.
    """
    forge = ctx.forge_for(repo)
    async with held(ctx.db, f"release:{repo}:{tag}", ctx.event.delivery_id):
        if create_tag:
            existing_tags = {t.name: t.sha for t in await forge.list_tags(repo)}
            if tag in existing_tags and sha and existing_tags[tag] != sha:
                raise CommandError(f"the tag {tag} exists already at {existing_tags[tag][:7]}, not at {sha[:7]}")
            if tag not in existing_tags:
                await forge.create_tag(repo, tag, sha, f"Release {version}")
        release = await forge.get_release(repo, tag)
        if release is not None and not release.draft and NOTES_MARKER not in release.body:
            outcome = "exists"
        elif release is not None:
            release = await forge.update_release(repo, release, body=merge_notes(release.body, body))
            outcome = "updated"
        else:
            try:
                release = await forge.create_release(repo, tag, tag, NOTES_MARKER + "\n" + body,
                                                     prerelease=bool(version.prerelease))
                outcome = "created"
            except Conflict:  # created meanwhile by another path: leave it
                release = await forge.get_release(repo, tag)
                outcome = "exists"
        await _record(ctx, repo, tag, version, sha, release)
        return release, outcome


async def _record(ctx: "Context", repo: RepoRef, tag: str, version: Version, sha: str | None,
                  release: Release | None) -> None:
    insert = (postgresql.insert if ctx.db.dialect == "postgresql" else sqlite.insert)(releases)
    actor = ctx.event.actor.principal if ctx.event.actor else None
    async with ctx.db.begin() as conn:
        await conn.execute(insert.values(repo=str(repo), tag=tag, version=str(version), sha=sha,
                                         url=release.url if release else None, released_by=actor,
                                         prerelease=bool(version.prerelease), released_at=time.time())
                           .on_conflict_do_nothing())
