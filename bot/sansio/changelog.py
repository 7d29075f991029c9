"""Build the changelog model of one release from its changes; rendering lives elsewhere.

Sections follow Keep a Changelog (https://keepachangelog.com/en/1.1.0/): Added, Changed,
Deprecated, Removed, Fixed, Security, then our Reverted (or the order `release.sections`
gives); breaking changes come first.
Dependency-bot commits in a section are folded into one line.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import NamedTuple
from typing import TYPE_CHECKING

from bot.sansio.commits import ParsedCommit, ParseError, _new
from bot.sansio.history import Change, History
from bot.sansio.versioning import Bump, commit_bump

if TYPE_CHECKING:
    from bot.sansio.release_config import ReleaseSettings

NOREPLY_RE = re.compile(r"^(?:\d+\+)?(?P<login>[^@]+)@users\.noreply\.github\.com$", re.I)
PERSON_RE = re.compile(r"^(?P<name>.*?)\s*<(?P<email>[^>]*)>\s*$")
BOT_RE = re.compile(r"\b(dependabot|renovate)(?:\[bot\]|-bot)?\b", re.I)
# dependabot: "bump ruff from 0.7.1 to 0.7.2"; renovate: "update dependency ava to v5.1.1".
DEPENDABOT_RE = re.compile(r"^bump (?P<name>\S+) from \S+ to (?P<version>\S+)", re.I)
RENOVATE_RE = re.compile(
    r"^update (?:dependency )?(?P<name>\S+?)(?: (?:action|digest|docker tag|monorepo))?"
    r" to (?P<version>v?\d\S*)", re.I)
HEADING_RE = re.compile(r"^## ", re.M)
FENCE_RE = re.compile(r"^(```|~~~)", re.M)
UNRELEASED_RE = re.compile(r"## \[?Unreleased\]?(?=[\s(]|$)", re.I)


class Entry(NamedTuple):
    """One line of the changelog: a commit or a merged PR/MR.

    templates/changelog_macros.md.j2 unpacks these fields in this order (faster than reading
    them by name): a field added or moved must be added or moved there too.
    """

    type: str
    scope: str | None
    description: str
    sha: str
    pr: int | None
    issues: tuple[int, ...]
    authors: tuple[str, ...]
    breaking: bool


@dataclass(frozen=True, slots=True)
class DependencyUpdates:
    """Dependency-bot commits of a section, folded into one line."""

    packages: tuple[tuple[str, str | None], ...]  # (name, new version), newest update only
    shas: tuple[str, ...]
    prs: tuple[int, ...]
    bots: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Section:
    """A titled group of entries (Added, Fixed, …)."""

    title: str
    entries: tuple[Entry, ...]
    dependencies: DependencyUpdates | None = None


@dataclass(frozen=True, slots=True)
class BreakingChange:
    """One breaking-change note with the commit that carries it."""

    scope: str | None
    note: str
    sha: str
    pr: int | None


@dataclass(frozen=True)
class ReleaseNotes:
    """The changelog model of one release (or of unreleased changes when version is None)."""

    version: str | None
    tag: str | None
    previous_tag: str | None
    date: str | None  # YYYY-MM-DD, passed in: sansio reads no clock
    breaking: tuple[BreakingChange, ...]
    sections: tuple[Section, ...]
    unparsed: tuple[ParseError, ...] = ()

    @property
    def title(self) -> str:
        """The heading text: the version, or 'Unreleased'."""
        return self.version or "Unreleased"

    @property
    def is_empty(self) -> bool:
        """True when nothing user-visible happened."""
        return not self.breaking and not self.sections


def build_release_notes(history: History, settings: ReleaseSettings, *, version: str | None = None,
                        tag: str | None = None, previous_tag: str | None = None,
                        date: str | None = None) -> ReleaseNotes:
    """The changelog model of `history` under the repository's sections and types."""
    grouped: dict[str, tuple[list[Entry], list[tuple[Entry, str]]]] = {}
    breaking: list[BreakingChange] = []
    # Plain dicts: a read-only mapping's get() is a method lookup more, twice a commit.
    types, sections = dict(settings.types), dict(settings.sections)
    scoped = any("(" in key for key in types)
    for change in history.changes:
        # change.breaking, without a property call for the common change of one commit
        is_breaking = change.headline.breaking or (bool(change.members) and change.breaking)
        if is_breaking:
            head = change.headline
            for note in change.breaking_notes:
                breaking.append(BreakingChange(head.scope, note, head.sha, head.pr))
        if change.members or scoped:
            title = _section_title(change, settings)
        else:  # the common case, inlined: one commit, its type alone decides
            kind = change.headline.type
            title = sections.get(kind) or ("Changed" if types.get(kind) else None)
        if title is None:
            continue  # most commits of a large range: build nothing for them
        entry = _entry(change, is_breaking)
        entries, bot_entries = grouped.setdefault(title, ([], []))
        bot = _dependency_bot(change.headline)
        if bot is not None and not is_breaking:
            bot_entries.append((entry, bot))
        else:
            entries.append(entry)
    # Sections come in the order the config lists them (the defaults follow Keep a Changelog).
    order = {title: index for index, title in enumerate(dict.fromkeys(settings.sections.values()))}
    sections = [
        Section(title, tuple(entries), _fold(bot_entries) if bot_entries else None)
        for title, (entries, bot_entries) in grouped.items()]
    sections.sort(key=lambda section: order.get(section.title, len(order)))
    return ReleaseNotes(version, tag, previous_tag, date, tuple(breaking), tuple(sections),
                        history.unparsed)


def _section_title(change: Change, settings: ReleaseSettings) -> str | None:
    """The section of a change: that of its strongest commit by type; bumping types without a
    section of their own go under Changed; None hides the change (docs, chores, tests…)."""
    def type_bump(parsed: ParsedCommit) -> Bump:
        return commit_bump(parsed, settings.types, breaking=False)
    head = change.headline
    strongest = max(change.commits(), key=type_bump) if change.members else head  # head on ties
    if type_bump(strongest) is not Bump.NONE:
        return settings.sections.get(strongest.type, "Changed")
    return settings.sections.get(head.type)


def _entry(change: Change, breaking: bool) -> Entry:
    head = change.headline
    authors: list[str] = []
    for parsed in change.members or (head,):
        commit = parsed.commit
        person = _handle(commit.author_name, commit.author_email)
        if person and person not in authors:
            authors.append(person)
        rest = parsed.rest
        # A cheap test before parsing footers: 'Co-authored-by' in any letter case.
        if "uthored-" in rest or "UTHORED-" in rest:
            for value in parsed.co_authors:
                person = _co_author(value)
                if person and person not in authors:
                    authors.append(person)
    issues = list(head.issues) if "#" in head.rest else []  # every issue reference has a '#'
    for member in change.members:
        issues.extend(number for number in member.issues if number not in issues)
    return _new(Entry, (head.type, head.scope, head.description, head.commit.sha, head.pr,
                        tuple(issues), tuple(authors), breaking))


@functools.lru_cache(maxsize=4096)  # a range has far fewer authors than commits
def _handle(name: str, email: str) -> str:
    """'@login' for a GitHub noreply address, else the author's name."""
    match = NOREPLY_RE.match(email or "")
    return f"@{match['login']}" if match else (name or "").strip()


def _co_author(value: str) -> str:
    match = PERSON_RE.match(value)
    return _handle(match["name"], match["email"]) if match else value.strip()


def _dependency_bot(parsed: ParsedCommit) -> str | None:
    """'dependabot[bot]' or 'renovate[bot]' when a dependency bot wrote or co-wrote the commit."""
    commit = parsed.commit
    bot = _bot_named(commit.author_name, commit.author_email)
    if bot is not None:
        return bot
    rest = parsed.rest
    for text in parsed.co_authors if "uthored-" in rest or "UTHORED-" in rest else ():
        match = BOT_RE.search(text or "")
        if match:
            return f"{match[1].lower()}[bot]"
    # The body is a part of `rest`: a cheap look there first spares splitting off the footers.
    if "Bumps [" in rest and parsed.body.startswith("Bumps ["):
        return "dependabot[bot]"
    if "renovatebot.com" in rest or "This PR contains the following updates" in rest:
        body = parsed.body
        if "renovatebot.com" in body or "This PR contains the following updates" in body:
            return "renovate[bot]"
    return None


@functools.lru_cache(maxsize=4096)
def _bot_named(name: str, email: str) -> str | None:
    """'dependabot[bot]' or 'renovate[bot]' when an author's name or address is the bot's."""
    for text in (name, email):
        match = BOT_RE.search(text or "")
        if match:
            return f"{match[1].lower()}[bot]"
    return None


def _fold(bot_entries: list[tuple[Entry, str]]) -> DependencyUpdates:
    packages: dict[str, str | None] = {}
    for entry, _ in bot_entries:  # newest first, so the first update of a package is its last
        match = DEPENDABOT_RE.match(entry.description) or RENOVATE_RE.match(entry.description)
        name, version = (match["name"], match["version"]) if match else (entry.description, None)
        packages.setdefault(name, version)
    bots = tuple(dict.fromkeys(bot for _, bot in bot_entries))
    return DependencyUpdates(tuple(packages.items()), tuple(e.sha for e, _ in bot_entries),
                             tuple(e.pr for e, _ in bot_entries if e.pr is not None), bots)


def has_section(existing: str, version: str) -> bool:
    """True when a changelog already has a heading for `version` (so a rerun adds nothing)."""
    pattern = rf"^## \[?v?{re.escape(version)}\]?(?=[\s(]|$)"
    return re.search(pattern, existing, re.M) is not None


def prepend_section(existing: str, section: str) -> str:
    """`existing` with `section` before its first release heading; older text byte for byte.

    Whatever precedes the first `## ` heading (a title, an intro) stays on top; fenced code
    is skipped so a `## ` inside an example is not taken for a heading. A leading
    Unreleased section is replaced, since the new section covers the same commits.
    """
    newline = "\r\n" if "\r\n" in existing else "\n"
    block = section.rstrip("\n").replace("\r\n", "\n").replace("\n", newline) + newline
    if not existing.strip():
        return f"# Changelog{newline}{newline}{block}"
    headings = _headings(existing)
    if not headings:
        head = existing if existing.endswith(("\n", "\r")) else existing + newline
        return f"{head}{newline}{block}"
    first = headings[0]
    rest = first
    if UNRELEASED_RE.match(existing, first):
        # An Unreleased section is what this new section supersedes: replace it, keep the rest.
        rest = headings[1] if len(headings) > 1 else len(existing)
        tail = existing[rest:]
        return f"{existing[:first]}{block}{newline if tail else ''}{tail}"
    return f"{existing[:first]}{block}{newline}{existing[rest:]}"


def _headings(text: str) -> list[int]:
    """Offsets of the `## ` lines outside fenced code."""
    fenced = False
    offset = 0
    found = []
    for line in text.splitlines(keepends=True):
        if FENCE_RE.match(line):
            fenced = not fenced
        elif not fenced and HEADING_RE.match(line):
            found.append(offset)
        offset += len(line)
    return found
