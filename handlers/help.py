"""Answer /help from the command registry, and explain commands shipbot could not understand."""
from __future__ import annotations

from bot.context import Context
from bot.routing import Help, Router
from bot.sansio.commands import UsageError

router = Router()

HELP = Help(
    summary="List the commands you may run here, or explain one",
    usage="/shipbot help [command]",
    examples=("/help", "/help deploy"),
    who="anyone",
)


@router.command("help", help=HELP)
async def help_requested(ctx: Context) -> None:
    """List what the asker may run; with a word, explain that command."""
    commands = ctx.router.commands
    wanted = ctx.command.args[0].lstrip("/").lower() if ctx.command.args else None
    if wanted and wanted not in commands:
        known = ", ".join(commands)
        await ctx.reply("usage_error", errors=[UsageError(f"there is no command '{wanted}'; known: {known}",
                                                          ctx.command.line)])
        return
    shown = {}
    for name, help in commands.items():
        if wanted and name != wanted:
            continue
        if help.allowed is None or await help.allowed(ctx):
            shown[name] = help
    await ctx.reply("help", commands=shown, detailed=wanted is not None, wanted=wanted)


@router.usage_error
async def usage_error(ctx: Context) -> None:
    """Say what was wrong with a command and how to write it."""
    await ctx.reply("usage_error", errors=[ctx.command])
