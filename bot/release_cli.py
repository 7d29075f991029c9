"""Run `shipbot next-version`, `shipbot changelog` and `shipbot release` on a local checkout.

bot/cli.py parses the flags (DESIGN.md §1) and calls the *_main functions with the
Namespace; `python -m bot.release_cli …` does the same on its own. Only git, the sansio core,
jinja2 and tomlkit are imported, and the last two only when needed: the commands start fast
(json and difflib too: only --json and --dry-run use them).
"""
from __future__ import annotations

import gc
import os
import sys

from bot import git_prefetch

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~3 ms) before git starts
if TYPE_CHECKING:
    import argparse
    from pathlib import Path

    from bot.git import Git
    from bot.sansio.versioning import ReleasePlan

# The release core is imported once git is already at work (bot.git_prefetch).
_kept: object = None  # the last command's result, freed by the process's exit (see run)


def next_version_main(args: argparse.Namespace) -> int:
    """Print the next version (or nothing when no release is due); --json for the details."""
    return _guarded("next-version", _next_version, args)


def changelog_main(args: argparse.Namespace) -> int:
    """Print the release notes of a range, or prepend them to --output FILE."""
    return _guarded("changelog", _changelog, args)


def release_main(args: argparse.Namespace) -> int:
    """Edit version files and changelog, commit and tag the next release (--dry-run: only say)."""
    return _guarded("release", _release, args)


def _guarded(command: str, run, args: argparse.Namespace) -> int:
    # A range's records are tens of thousands of acyclic tuples of strings: the cycle
    # collector would find nothing in them, yet its passes cost a tenth of the parse
    # (https://docs.python.org/3/library/gc.html). Paused for the command, then restored.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return run(args)
    except _user_errors() as error:  # a user's mistake or a git refusal: one clear line, exit 1
        print(f"shipbot {command}: error: {error}", file=sys.stderr)
        return 1
    finally:
        git_prefetch.discard()
        if collecting:
            gc.enable()


def _user_errors() -> tuple[type[Exception], ...]:
    # Imported only when something failed: the command itself starts git before these.
    from bot.git import GitError
    from bot.sansio.release_config import ReleaseConfigError

    return GitError, ReleaseConfigError, ValueError, OSError


def _checkout(args: argparse.Namespace, **overrides):
    from bot.git import Git
    from bot.release_local import load_settings

    git = Git(args.repo or ".")
    root = git.toplevel()
    return Git(root), root, load_settings(root, **overrides)


def _next_version(args: argparse.Namespace) -> int:
    global _kept
    if not args.path:
        git_prefetch.start_release(args.repo or ".", args.rev or "HEAD", args.tag_format)
    from bot.release_local import plan_local

    git, _, settings = _checkout(args, tag_format=args.tag_format, paths=args.path)
    plan = _kept = plan_local(git, settings, args.rev or "HEAD", pre=args.pre)
    if args.json:
        sys.stdout.flush()
        sys.stdout.buffer.write(_json_bytes(plan_json(plan)) + b"\n")
    elif plan.next is not None:
        print(plan.next)
    return 0


def _json_bytes(document: dict) -> bytes:
    """Compact UTF-8 JSON; orjson (a dependency of the bot) when present: 20,000 commits is
    a large document, and the command should cost little more than `git log`."""
    try:
        import orjson
    except ImportError:
        import json

        return json.dumps(document, ensure_ascii=False).encode("utf-8")
    return orjson.dumps(document)


def plan_json(plan: ReleasePlan) -> dict:
    """The --json document of DESIGN.md: current, next, bump, commits and reasons."""
    from bot.sansio.commits import ParsedCommit

    commits = []
    for result in plan.history.results:
        parsed = type(result) is ParsedCommit
        commits.append({
            "sha": result.commit.sha, "subject": result.commit.subject,
            "type": result.type if parsed else None, "scope": result.scope if parsed else None,
            "breaking": result.breaking if parsed else False})
    return {
        "current": str(plan.current) if plan.current else None,
        "next": str(plan.next) if plan.next else None,
        "bump": plan.bump,
        "commits": commits,
        "reasons": [str(reason) for reason in plan.reasons],
    }


def _changelog(args: argparse.Namespace) -> int:
    global _kept
    if args.from_ref is None:
        git_prefetch.start_release(args.repo or ".", args.to_ref or "HEAD", None,
                                   to_ref=args.to_ref, remote=True)
    from bot.release_local import build_notes, notes_range, today
    from bot.sansio.changelog import has_section, prepend_section

    git, root, settings = _checkout(args)
    if settings.changelog_template is None:
        # git runs on its own meanwhile (bot.git_prefetch): jinja2's import and compile cost
        # the wall clock nothing when done before the parse, which waits on git anyway.
        from bot.changelog_render import load_default_template

        load_default_template()
    span = notes_range(git, settings, args.from_ref, args.to_ref)
    notes = _kept = build_notes(git, settings, span, today(os.environ))
    text = _render(notes, git, root, settings)
    _report_unparsed(notes.unparsed)
    if not args.output:
        sys.stdout.write(text)
        return 0
    from pathlib import Path

    path = Path(args.output)
    existing = path.read_bytes().decode("utf-8") if path.exists() else ""
    if notes.version and has_section(existing, notes.version):
        print(f"{path} already has a section for {notes.version}; left as it is", file=sys.stderr)
        return 0
    path.write_bytes(prepend_section(existing, text).encode("utf-8"))
    return 0


def _render(notes, git: Git, root: Path, settings) -> str:
    """The notes in the repository's template (or ours); a template that fails is the user's error."""
    from bot.changelog_render import render_release_notes  # jinja2: only for notes
    from bot.release_local import links_for, repo_template
    from bot.sansio.release_config import ReleaseConfigError
    from bot.template_sandbox import TemplateRejected

    try:
        return render_release_notes(notes, links_for(git, settings), template=repo_template(root, settings))
    except TemplateRejected as exc:
        raise ReleaseConfigError(f"release.changelog_template {settings.changelog_template}: {exc.message}") from None


def _report_unparsed(unparsed) -> None:
    if unparsed:
        shown = ", ".join(f"{e.sha[:7]} {e.commit.subject!r}" for e in unparsed[:5])
        more = f" and {len(unparsed) - 5} more" if len(unparsed) > 5 else ""
        print(f"note: {len(unparsed)} commit(s) are not Conventional Commits and are left out: "
              f"{shown}{more}", file=sys.stderr)


def _release(args: argparse.Namespace) -> int:
    from bot.git import GitError
    from bot.release_local import plan_local, today, version_file_edits
    from bot.sansio.changelog import build_release_notes, has_section, prepend_section
    from bot.versionfiles import FileEdit, apply_edit

    git, root, settings = _checkout(args)
    plan = plan_local(git, settings)
    if plan.next is None:
        since = f"since {plan.current_tag}" if plan.current_tag else "yet"
        print(f"No release due: no commit {since} asks for one (see `shipbot next-version --json`).")
        return 0
    version, tag = str(plan.next), plan.next_tag
    notes = build_release_notes(plan.history, settings, version=version, tag=tag,
                                previous_tag=plan.base_tag, date=today(os.environ))
    text = _render(notes, git, root, settings)
    edits = version_file_edits(root, settings, version)
    if settings.changelog:
        path = root / settings.changelog
        existing = path.read_bytes().decode("utf-8") if path.exists() else ""
        if not has_section(existing, version):
            edits.append(FileEdit(path, "", existing, prepend_section(existing, text)))
    message = f"chore(release): {version}"
    branch = git.current_branch()
    wrong_branch = bool(settings.branches) and branch not in settings.branches
    if any(name == tag for name, _ in git.tags()):
        # Checked before any edit: a failing `git tag` after the commit would leave a half release.
        raise GitError(f"tag {tag} already exists (on a commit HEAD does not reach); "
                       "delete it or release from where it is")
    if args.dry_run:
        _print_dry_run(plan, edits, root, message, text, wrong_branch, branch, settings)
        return 0
    if wrong_branch:
        raise GitError(f"releases are cut from {', '.join(settings.branches)}, not from {branch}")
    dirty = git.dirty_files()
    if dirty:
        raise GitError(f"uncommitted changes in {', '.join(dirty[:5])}; commit or stash them first")
    for edit in edits:
        apply_edit(edit)
    if edits:
        git.commit_files([str(edit.path.relative_to(root)) for edit in edits], message)
    git.create_tag(tag, text)
    sha = git.resolve("HEAD")
    print(f"Released {tag} at {sha[:7]}: {len(edits)} file(s) edited, annotated tag created."
          f"\nNothing was pushed; to publish: git push --follow-tags")
    return 0


def _print_dry_run(plan, edits, root, message, notes, wrong_branch, branch, settings) -> None:
    import difflib
    current = plan.current_tag or "no release yet"
    print(f"Would release {plan.next_tag} ({plan.bump}; current {current})")
    if wrong_branch:
        print(f"Warning: releases are cut from {', '.join(settings.branches)}, not from {branch}")
    print("Because:")
    for reason in plan.reasons or ("(first release: the initial version)",):
        print(f"  {reason}")
    for edit in edits:
        name = str(edit.path.relative_to(root))
        if edit.old_version:
            print(f"Would edit {name} ({edit.old_version} → {plan.next}):")
            diff = difflib.unified_diff(edit.before.splitlines(keepends=True),
                                        edit.after.splitlines(keepends=True),
                                        f"a/{name}", f"b/{name}", n=1)
            sys.stdout.writelines(line if line.endswith("\n") else line + "\n" for line in diff)
        else:
            print(f"Would prepend the release notes below to {name}")
    print(f"Would commit those edits as {message!r}" if edits else "Would commit nothing")
    print(f"Would create the annotated tag {plan.next_tag} (nothing is pushed)\n")
    print("Release notes:\n")
    sys.stdout.write(notes)


def build_parser() -> argparse.ArgumentParser:
    """The three commands with DESIGN.md's flags, for `python -m bot.release_cli`."""
    import argparse

    parser = argparse.ArgumentParser(prog="shipbot", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    nv = commands.add_parser("next-version", help="next version from Conventional Commits")
    nv.add_argument("--repo", default=".")
    nv.add_argument("--rev", default="HEAD")
    nv.add_argument("--tag-format", dest="tag_format")
    nv.add_argument("--path", action="append")
    nv.add_argument("--pre")
    nv.add_argument("--json", action="store_true")
    nv.set_defaults(main=next_version_main)
    cl = commands.add_parser("changelog", help="Markdown release notes for a range")
    cl.add_argument("--repo", default=".")
    cl.add_argument("--from", dest="from_ref")
    cl.add_argument("--to", dest="to_ref")
    cl.add_argument("--output")
    cl.set_defaults(main=changelog_main)
    rl = commands.add_parser("release", help="tag, notes and file edits of the next release")
    rl.add_argument("--repo", default=".")
    rl.add_argument("--dry-run", dest="dry_run", action="store_true")
    rl.set_defaults(main=release_main)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m bot.release_cli`."""
    args = build_parser().parse_args(argv)
    return args.main(args)


def run(code: int) -> None:
    """End the process with `code` once a command has run, skipping the interpreter's teardown.

    A range's tens of thousands of records would otherwise be freed one by one, and the
    modules torn down, for ~10 ms that no one waits for on purpose; only flushing matters.
    """
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # `| head`: the reader has all it wanted
        pass
    os._exit(code)


if __name__ == "__main__":
    git_prefetch.start_early(sys.argv[1:])
    run(main())
