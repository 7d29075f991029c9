"""Find the repository and environment a deploy or lock command names, and check who may act on it."""
from __future__ import annotations

from dataclasses import dataclass

from bot import links
from bot.context import Context
from bot.errors import CommandError
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
    # Group principals (github-team:, gitlab-group:, slack-group:) need membership lookups the
    # Forge and Chat interfaces do not offer yet: until they do, only direct principals match.
    if not verdict.allowed:
        raise CommandError(verdict.reason)



async def notify(ctx: Context, target: ReplyTarget | None, template: str, **data) -> None:
    """Tell someone other than the asker, where they last asked (their Slack channel or their thread)."""
    if target is None:
        return
    if target.kind == "slack" and target.channel:
        await ctx.chat.post(target.channel, ctx.render.for_chat(template, **data), thread_ts=target.thread_ts)
    elif target.repo is not None and target.number is not None:
        await ctx.forge_for(target.repo).create_comment(target.repo, target.number,
                                                        ctx.render.for_forge(template, **data))
