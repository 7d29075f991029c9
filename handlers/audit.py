"""Answer /shipbot audit with the repository's recent commands and decisions."""
from __future__ import annotations

from sqlalchemy import select

from bot import links
from bot.context import Context
from bot.errors import CommandError
from bot.forge.base import permission_at_least
from bot.routing import Help, Router
from bot.store.tables import audit_log

router = Router()
SHOWN = 15

AUDIT_HELP = Help(
    summary="Show who ran which command on this repository, and what shipbot decided",
    usage="/shipbot audit [--repo R]",
    examples=("/shipbot audit", "/shipbot audit --repo octo/widget"),
    who="in a comment, people with write access; in Slack, a channel linked to the repository",
)


@router.command("audit", help=AUDIT_HELP)
async def audit_requested(ctx: Context) -> None:
    """The last entries of the audit log for one repository (`shipbot audit` shows all of it)."""
    repo = await links.resolve_repo(ctx, ctx.command.option("repo"))
    actor = ctx.event.actor
    if ctx.event.source in ("github", "gitlab"):
        level = await ctx.forge_for(repo).permission(repo, actor.login) if actor else "none"
        if not permission_at_least(level, "write"):
            raise CommandError(f"the audit log of {repo.path} is shown to people with write access; "
                               f"{actor.login if actor else 'you'} has {level}")
    async with ctx.db.connect() as conn:
        rows = list((await conn.execute(select(audit_log).where(audit_log.c.repo == str(repo))
                                        .order_by(audit_log.c.at.desc()).limit(SHOWN))).mappings())
    await ctx.audit("listed", f"{len(rows)} audit entries", repo=repo)
    await ctx.reply("audit", repo=repo, entries=rows)
