"""Find the repository and environment a deploy or lock command names, and check who may act on it."""
from __future__ import annotations

from dataclasses import dataclass

from bot import links
from bot.context import Context
from bot.errors import BotError, CommandError
from bot.forge.base import permission_at_least
from bot.sansio.deploys import deploy_permission
from bot.sansio.events import ReplyTarget, RepoRef
from bot.sansio.repoconfig import Environment, RepoConfig, duration_seconds


@dataclass(frozen=True)
class Target:
    """The repository, its config and the environment a command acts on."""

    repo: RepoRef
    config: RepoConfig
    env: Environment

    def seconds(self, key: str) -> int:
        """A `deploy.*` duration (lock_ttl, confirm_ttl, timeout) in seconds."""
        return duration_seconds(self.config.section("deploy")[key])


async def find_target(ctx: Context, env_name: str, repo_name: str | None) -> Target:
    """Resolve repo (comment's own or the channel's link) and environment (name or alias)."""
    repo = await links.resolve_repo(ctx, repo_name)
    config = await ctx.repo_config(repo)
    try:
        env = config.environment(env_name)
    except LookupError as exc:
        raise CommandError(exc.args[0]) from None
    return Target(repo, config, env)


def principal(ctx: Context) -> str:
    if ctx.event.actor is None:
        raise CommandError("shipbot cannot tell who sent this")
    return ctx.event.actor.principal


async def require_permission(ctx: Context, target: Target, action: str) -> None:
    """Refuse (CommandError naming who may) unless the asker passes the base check and the env's allow."""
    actor = ctx.event.actor
    if actor is None:
        raise CommandError("shipbot cannot tell who sent this")
    if ctx.event.source == "slack":
        # resolve_repo only returns repositories linked to the channel: that is Slack's base check.
        base_ok, rule = True, "to be in a channel linked to the repository"
    elif actor.platform != target.repo.forge:
        base_ok, rule = False, f"an account on {target.repo.forge}"
    else:
        have = await ctx.forge_for(target.repo).permission(target.repo, actor.login)
        base_ok, rule = permission_at_least(have, "write"), f"write access to {target.repo.path}"
    verdict = deploy_permission(target.env.allow, actor, base_ok=base_ok, base_rule=rule, action=action)
    unknown: list[str] = []
    if not verdict.allowed and verdict.groups:
        # Only now ask the platforms: most requests are settled by a direct principal or `*`.
        member_of, unknown = await _memberships(ctx, target.repo, verdict.groups)
        verdict = deploy_permission(target.env.allow, actor, base_ok=base_ok, base_rule=rule, action=action,
                                    member_of=member_of)
    if not verdict.allowed:
        note = f" (shipbot cannot check membership of {', '.join(unknown)} here)" if unknown else ""
        raise CommandError(verdict.reason + note)


async def _memberships(ctx: Context, repo: RepoRef, groups: tuple[str, ...]) -> tuple[frozenset[str], list[str]]:
    """The groups that hold the asker, and those whose membership the adapter cannot tell."""
    actor = ctx.event.actor
    found, unknown = set(), []
    for group in groups:
        kind, _, name = group.partition(":")
        try:
            if kind == "slack-group":
                member = actor.id in await ctx.chat.usergroup_members(name)
            else:
                member = await ctx.forge_for(repo).is_member(repo, group, actor.login)
        except NotImplementedError:
            unknown.append(group)
            continue
        if member:
            found.add(group)
    return frozenset(found), unknown


async def candidate_repos(ctx: Context) -> list[RepoRef]:
    """The repositories a command here could act on: the comment's own, or the channel's links."""
    if ctx.event.source in ("github", "gitlab"):
        return [ctx.event.repo] if ctx.event.repo else []
    channel = ctx.event.reply_to.channel if ctx.event.reply_to else None
    return await links.linked_repos(ctx, channel) if channel else []


async def may_deploy_somewhere(ctx: Context) -> bool:
    """/help lists the deploy commands to those allowed to deploy at least one environment here."""
    for repo in await candidate_repos(ctx):
        try:
            config = await ctx.repo_config(repo)
            envs = config.environments or [config.environment("staging")]
        except BotError:
            return True  # the config cannot be read: the command itself will explain why
        for env in envs:
            try:
                await require_permission(ctx, Target(repo, config, env), "deploy")
                return True
            except CommandError:
                continue
            except BotError:
                return True  # cannot tell now (forge unreachable): list it, the command checks again
    return False


async def notify(ctx: Context, target: ReplyTarget | None, template: str, **data) -> None:
    """Tell someone other than the asker, where they last asked (their Slack channel or their thread)."""
    if target is None:
        return
    if target.kind == "slack" and target.channel:
        await ctx.chat.post(target.channel, ctx.render.for_chat(template, **data), thread_ts=target.thread_ts)
    elif target.repo is not None and target.number is not None:
        await ctx.forge_for(target.repo).create_comment(target.repo, target.number,
                                                        ctx.render.for_forge(template, **data))
