"""Plan a release of a local checkout: config, tags, commits, notes and file edits.

The glue between git (bot.git), the pure release logic (bot.sansio) and the files of the
working tree. The CLI calls it; nothing here prints.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from bot.git import Git
from bot.sansio.history import History, collect_changes
from bot.sansio.release_config import ReleaseConfigError, ReleaseSettings, release_settings
from bot.sansio.versioning import ReleasePlan, plan_release, release_tags

if TYPE_CHECKING:
    from bot.sansio.changelog import ReleaseNotes
    from bot.sansio.forge_links import ForgeLinks
    from bot.versionfiles import FileEdit

CONFIG_FILES = (".shipbot.yml", ".github/shipbot.yml")


def load_settings(root: Path, *, tag_format: str | None = None,
                  paths: Sequence[str] | None = None) -> ReleaseSettings:
    """The `release:` settings of the checkout at `root`, with command-line overrides."""
    mapping: Mapping[str, object] | None = None
    for name in CONFIG_FILES:
        path = root / name
        if path.is_file():
            import yaml  # only when there is a file: the CLI must start fast without one

            try:
                data = yaml.load(path.read_text(encoding="utf-8"),
                                 Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            except yaml.YAMLError as error:
                raise ReleaseConfigError(f"{name}: not valid YAML ({error})") from None
            if data is not None and not isinstance(data, Mapping):
                raise ReleaseConfigError(f"{name}: expected a mapping at the top level")
            mapping = (data or {}).get("release")
            break
    settings = release_settings(mapping)
    if tag_format is not None:
        settings = settings._replace(tag_format=release_settings({"tag_format": tag_format}).tag_format)
    if paths:
        settings = settings._replace(paths=tuple(paths))
    return settings


def plan_local(git: Git, settings: ReleaseSettings, rev: str = "HEAD",
               pre: str | None = None) -> ReleasePlan:
    """The next release of the history reachable from `rev`.

    Fast path: assume the highest tags are reachable from `rev` (they nearly always are) and
    check it on the way, from the boundary of the one `git log` walk; only when they are not
    (a tag on another branch, an old --rev, path filters) ask `git tag --merged`, which walks
    the whole history again.
    """
    head = git.resolve(rev)
    if not settings.paths:
        tags = git.tags()
        state = release_tags([name for name, _ in tags], settings.tags)
        plan, boundary = _plan(git, settings, state, rev, pre)
        sha_of = dict(tags)
        final = sha_of[state.latest_final[0]] if state.latest_final else None
        latest = sha_of[state.latest[0]] if state.latest else None
        in_range = {commit.sha for commit in plan.commits} if latest != final else set()
        if (final is None or final == head or final in boundary) and (
                latest == final or latest == head or latest in in_range):
            return plan
    state = release_tags(git.tags_merged(rev), settings.tags)
    return _plan(git, settings, state, rev, pre)[0]


def _plan(git: Git, settings: ReleaseSettings, state, rev: str, pre: str | None):
    """Plan from a given tag state; also returns the boundary shas of the walk."""
    base = state.latest_final[0] if state.latest_final else None
    new_since_latest = True  # only asked when the latest tag is a prerelease above `base`
    if state.latest and state.latest[0] != base:
        new_since_latest = git.count([f"{state.latest[0]}..{rev}"], settings.paths) > 0
    boundary: list[str] = []
    plan = git.read_range(
        [f"{base}..{rev}" if base else rev],
        lambda commits: plan_release(state, commits, settings, pre=pre, new_since_latest=new_since_latest),
        settings.paths, boundary)
    return plan, boundary


def links_for(git: Git, settings: ReleaseSettings) -> ForgeLinks | None:
    """Forge links from the configured forge/URL, else from the `origin` remote."""
    from bot.sansio.forge_links import forge_links  # the changelog's; next-version skips it

    remote = None if settings.repo_url else git.remote_url()
    return forge_links(remote, kind=settings.forge, repo_url=settings.repo_url)


def today(environ: Mapping[str, str]) -> str:
    """Today's date (UTC), or SOURCE_DATE_EPOCH's for reproducible output.

    https://reproducible-builds.org/specs/source-date-epoch/
    """
    import datetime as dt  # the changelog's; next-version reads no date

    epoch = environ.get("SOURCE_DATE_EPOCH")
    moment = dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch else dt.datetime.now(dt.UTC)
    return moment.date().isoformat()


class NotesRange(NamedTuple):
    """The range a changelog covers and how its heading reads."""

    from_ref: str | None
    to_ref: str
    version: str | None
    tag: str | None
    history: History | None = None  # already read while planning the next version


def notes_range(git: Git, settings: ReleaseSettings, from_ref: str | None,
                to_ref: str | None) -> NotesRange:
    """Work out the default range: the last release tag before `to_ref` up to `to_ref`.

    When `to_ref` is itself a release tag the notes are that release's; otherwise they are
    the next release's (or 'Unreleased' when none is due or the start was given by hand).
    """
    to = to_ref or "HEAD"
    to_version = settings.tags.parse(to) if to_ref else None
    if to_version is None and to_ref:
        tagged = [(v, t) for t in git.tags_at(to) if (v := settings.tags.parse(t)) is not None]
        to_version, to = max(tagged) if tagged else (None, to)
    if to_version is not None:
        if from_ref is None:
            older = [(v, t) for t in git.tags_merged(to) if (v := settings.tags.parse(t)) is not None
                     and v < to_version and (to_version.prerelease or not v.prerelease)]
            from_ref = max(older)[1] if older else None
        return NotesRange(from_ref, to, str(to_version), to)
    if from_ref is not None:
        return NotesRange(_linkable(git, from_ref), _linkable(git, to), None, None)
    plan = plan_local(git, settings, to)
    version = str(plan.next) if plan.next else None
    return NotesRange(plan.base_tag, to, version, plan.next_tag, plan.history)


def _linkable(git: Git, ref: str) -> str:
    """A ref a forge's compare view understands: tags and HEAD as they are, others as shas."""
    if ref == "HEAD" or ref in git.tags_at(ref):
        return ref
    return git.resolve(ref)


def build_notes(git: Git, settings: ReleaseSettings, span: NotesRange, date: str) -> ReleaseNotes:
    """The changelog model of a range."""
    from bot.sansio.changelog import build_release_notes

    history = span.history
    if history is None:
        rev_range = [f"{span.from_ref}..{span.to_ref}" if span.from_ref else span.to_ref]
        history = git.read_range(
            rev_range, lambda commits: collect_changes(commits, squash_bullets=settings.squash_bullets),
            settings.paths)
    if span.tag and span.to_ref == span.tag:
        date = git.tag_date(span.tag) or date
    return build_release_notes(history, settings, version=span.version, tag=span.tag,
                               previous_tag=span.from_ref, date=date)


def repo_template(root: Path, settings: ReleaseSettings) -> str | None:
    """The text of the repository's own changelog template, if it configures one."""
    if settings.changelog_template is None:
        return None
    path = root / settings.changelog_template
    if not path.is_file():
        raise ReleaseConfigError(f"release.changelog_template: {settings.changelog_template} not found")
    return path.read_text(encoding="utf-8")


def version_file_edits(root: Path, settings: ReleaseSettings, version: str) -> list[FileEdit]:
    """The edits that set every version file to `version`.

    A missing or unusable file is an error when the config names it, and skipped when it is
    only the default (a pyproject.toml with a dynamic version, say).
    """
    from bot.versionfiles import VersionFileError, plan_edit  # tomlkit: only when releasing

    listed = "version_files" in settings.explicit
    edits: list[FileEdit] = []
    for name in settings.version_files:
        path = root / name
        if not path.is_file():
            if listed:
                raise VersionFileError(f"{name}: listed in release.version_files but not found")
            continue
        try:
            edits.extend(edit for edit in plan_edit(path, version) if edit.before != edit.after)
        except VersionFileError:
            if listed:
                raise
    return edits
