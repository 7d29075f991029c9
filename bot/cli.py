"""The `shipbot` command. Each subcommand imports only what it needs, so the CLI starts fast."""
from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing before git starts
if TYPE_CHECKING:
    import argparse


def _settings():
    from bot.settings import Settings, SettingsError

    try:
        return Settings.from_env()
    except SettingsError as exc:
        print(f"shipbot: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _port(value: int | None) -> int:
    if value is not None:
        return value
    raw = os.environ.get("PORT", "8080")
    try:
        return int(raw)
    except ValueError:
        print(f"shipbot: PORT={raw!r} is not a port number", file=sys.stderr)
        raise SystemExit(2) from None


def serve(args: argparse.Namespace) -> int:
    settings = _settings()
    from bot import logs
    from bot.settings import secrets_of

    logs.configure(secrets=secrets_of(settings))
    import structlog

    log = structlog.get_logger("shipbot")
    port = _port(args.port)
    sources = ", ".join(settings.sources) or "none (set GITHUB_WEBHOOK_SECRET, GITLAB_WEBHOOK_SECRET or SLACK_SIGNING_SECRET)"
    if settings.dry_run:
        log.warning(f"shipbot starting in dry-run: {settings.dry_run_reason}; every write is logged, not sent",
                    host=args.host, port=port, sources=list(settings.sources))
    else:
        log.info("shipbot starting", host=args.host, port=port, sources=list(settings.sources))
    log.info(f"webhook sources enabled: {sources}", database=settings.database_url.split("://", 1)[0])
    shown_host = "127.0.0.1" if args.host in ("0.0.0.0", "") else args.host
    log.info(f"listening on http://{shown_host}:{port} (POST /webhooks/github, /webhooks/gitlab, /slack/events;"
             f" GET /healthz, /readyz, /metrics, /board)")
    if settings.board_token:
        log.info(f"board: http://{shown_host}:{port}/board (sign in with SHIPBOT_BOARD_TOKEN)")
    elif settings.dry_run:
        log.info(f"board: http://{shown_host}:{port}/board (dry-run: for a browser on this machine only)")
    else:
        log.info("board: off; set SHIPBOT_BOARD_TOKEN to show it")
    from aiohttp import web

    from bot.app import create_app, freeze_startup_objects

    app = create_app(settings)
    app.on_startup.append(freeze_startup_objects)  # after the lifecycle has opened everything
    web.run_app(app, host=args.host, port=port, access_log=None, print=None, handle_signals=True)
    return 0


def migrate(args: argparse.Namespace) -> int:
    settings = _settings()
    import asyncio

    from bot.store import Database

    async def run() -> list[str]:
        db = Database(settings.database_url)
        try:
            return await db.migrate()
        finally:
            await db.dispose()

    steps = asyncio.run(run())
    print("schema upgraded: " + ", ".join(steps) if steps else "schema is up to date")
    return 0


def replay(args: argparse.Namespace) -> int:
    from bot.replay import replay_main

    return replay_main(args, _settings())


def jobs(args: argparse.Namespace) -> int:
    from bot.admin import jobs_main

    return jobs_main(args, _settings())


def audit(args: argparse.Namespace) -> int:
    from bot.admin import audit_main

    return audit_main(args, _settings())


def sample_data(args: argparse.Namespace) -> int:
    from bot.board.sample import sample_data_main

    return sample_data_main(args, _settings())


def next_version(args: argparse.Namespace) -> int:
    from bot.release_cli import next_version_main  # git and the release core only: starts fast

    return next_version_main(args)


def changelog(args: argparse.Namespace) -> int:
    from bot.release_cli import changelog_main

    return changelog_main(args)


def release(args: argparse.Namespace) -> int:
    from bot.release_cli import release_main

    return release_main(args)


def check_config(args: argparse.Namespace) -> int:
    from bot.repoconfig import check_config_main

    return check_config_main(args)


def build_parser() -> argparse.ArgumentParser:
    import argparse  # here: `shipbot next-version` starts git before importing it (run)

    parser = argparse.ArgumentParser(prog="shipbot", description="ChatOps and release automation for GitHub and GitLab.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("serve", help="run the web service and its job workers")
    p.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0)")
    p.add_argument("--port", type=int, default=None, help="port (default $PORT, else 8080)")
    p.set_defaults(func=serve)

    p = sub.add_parser("migrate", help="bring the database schema up to date")
    p.set_defaults(func=migrate)

    p = sub.add_parser("next-version", help="the next version from Conventional Commits since the last release tag")
    p.add_argument("--repo", default=".", help="the git checkout (default: here)")
    p.add_argument("--rev", default="HEAD", help="count commits reachable from REV (default HEAD)")
    p.add_argument("--tag-format", dest="tag_format", help="e.g. v{version}, pkg@{version} (default: .shipbot.yml)")
    p.add_argument("--path", action="append", help="monorepo: only commits touching PATH count (repeatable)")
    p.add_argument("--pre", help="prerelease identifier, e.g. rc -> 1.3.0-rc.1")
    p.add_argument("--json", action="store_true", help="current, next, bump, commits and reasons as JSON")
    p.set_defaults(func=next_version)

    p = sub.add_parser("changelog", help="Markdown release notes for a range of commits")
    p.add_argument("--repo", default=".", help="the git checkout (default: here)")
    p.add_argument("--from", dest="from_ref", help="start after this ref (default: the last release tag)")
    p.add_argument("--to", dest="to_ref", help="end at this ref (default HEAD)")
    p.add_argument("--output", help="prepend the new section to FILE, keeping older entries")
    p.set_defaults(func=changelog)

    p = sub.add_parser("release", help="tag, notes and file edits of the next release on a local checkout")
    p.add_argument("--repo", default=".", help="the git checkout (default: here)")
    p.add_argument("--dry-run", dest="dry_run", action="store_true", help="show everything, change nothing")
    p.set_defaults(func=release)

    p = sub.add_parser("replay", help="run the handlers on a recorded payload and print what would be sent")
    p.add_argument("file", help="the payload: a JSON file (Slack: the form or JSON body)")
    p.add_argument("--source", required=True, choices=("github", "gitlab", "slack"))
    p.add_argument("--event", default=None, help="the X-GitHub-Event / X-Gitlab-Event value (e.g. pull_request)")
    p.add_argument("--send", action="store_true", help="really send the writes (needs credentials)")
    p.set_defaults(func=replay)

    p = sub.add_parser("check-config", help="validate a .shipbot.yml against the published JSON Schema")
    p.add_argument("file", nargs="?", help="the file (default: .shipbot.yml or .github/shipbot.yml here)")
    p.set_defaults(func=check_config)

    p = sub.add_parser("jobs", help="list, inspect and retry queued, failed and dead-lettered jobs")
    p.add_argument("action", nargs="?", default="list", choices=("list", "show", "retry"))
    p.add_argument("id", nargs="?", type=int, help="job id, for show and retry")
    p.add_argument("--all", action="store_true", help="list finished jobs too")
    p.set_defaults(func=jobs)

    p = sub.add_parser("audit", help="show the audit log: every command and decision")
    p.add_argument("--repo", help="only this repository (github:owner/name or owner/name)")
    p.add_argument("--since", help="only entries newer than this: 2026-01-31, 7d, 12h")
    p.add_argument("--limit", type=int, default=100)
    p.set_defaults(func=audit)

    p = sub.add_parser("sample-data", help="add (or --remove) the board's sample records, marked as such")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--remove", action="store_true", help="delete exactly the sample records")
    group.add_argument("--if-new", dest="if_new", action="store_true",
                       help="add them only to a database that has never recorded anything, in dry-run (make run)")
    p.set_defaults(func=sample_data)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


def run() -> None:
    """The `shipbot` program: main(), then exit (a release command skips the teardown)."""
    from bot import git_prefetch

    git_prefetch.start_early(sys.argv[1:])  # next-version and changelog: git first of all
    try:
        code = main()
    finally:
        git_prefetch.discard()
    release_cli = sys.modules.get("bot.release_cli")
    if release_cli is not None:
        release_cli.run(code)
    raise SystemExit(code)


if __name__ == "__main__":
    run()
