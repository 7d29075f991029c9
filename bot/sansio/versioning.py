"""Decide the next semantic version from parsed commits, and say which commits decided it.

Semantic Versioning 2.0.0 (https://semver.org/) through the `semver` package; the bump rules
come from https://www.conventionalcommits.org/en/v1.0.0/#how-does-this-relate-to-semver:
a breaking change is major, `feat` minor, `fix` patch; other types bump as configured.
"""
from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from itertools import filterfalse, repeat
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, NamedTuple

from semver import Version

from bot.sansio.commits import Commit, ParsedCommit, _new
from bot.sansio.history import History, collect_changes

if TYPE_CHECKING:
    from bot.sansio.release_config import ReleaseSettings

SEMVER_PATTERN = (r"(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)"
                  r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?")


class Bump(enum.IntEnum):
    """How much a release moves the version; ordered, so max() picks the strongest."""

    NONE = 0
    PATCH = 1
    MINOR = 2
    MAJOR = 3

    @property
    def label(self) -> str:
        """The lower-case name used in config and output: none, patch, minor, major."""
        return _LABELS[self]  # `name` is itself a property of Enum: thousands of reasons ask

    @classmethod
    def labels(cls) -> tuple[str, ...]:
        """Every label, weakest first."""
        return tuple(bump.label for bump in cls)

    @classmethod
    def from_label(cls, label: str) -> Bump:
        """The Bump for a label such as 'minor'."""
        return cls[label.upper()]


_LABELS = {bump: bump.name.lower() for bump in Bump}
_HEADLINE, _MEMBERS = itemgetter(0), itemgetter(1)  # of a bot.sansio.history.Change
_TYPE, _BREAKING = attrgetter("type"), attrgetter("breaking")


class TagFormat(NamedTuple):
    """A tag format such as 'v{version}' or 'pkg@{version}': formats and recognises tags."""

    pattern: str

    def format(self, version: Version | str) -> str:
        """The tag for `version`."""
        return self.pattern.replace("{version}", str(version))

    def parse(self, tag: str) -> Version | None:
        """The version a tag names, or None when the tag is not in this format."""
        prefix, _, suffix = self.pattern.partition("{version}")
        match = re.fullmatch(re.escape(prefix) + f"({SEMVER_PATTERN})" + re.escape(suffix), tag)
        return Version.parse(match[1]) if match else None


class TagState(NamedTuple):
    """The newest release tag, and the newest final (non-prerelease) one, among some tags."""

    latest: tuple[str, Version] | None = None
    latest_final: tuple[str, Version] | None = None


def release_tags(tags: Iterable[str], tag_format: TagFormat) -> TagState:
    """Pick the highest versions among `tags` that match the format (others are ignored)."""
    versions = [(version, tag) for tag in tags if (version := tag_format.parse(tag)) is not None]
    if not versions:
        return TagState()
    latest = max(versions)
    finals = [pair for pair in versions if not pair[0].prerelease]
    final = max(finals) if finals else None
    return TagState((latest[1], latest[0]), (final[1], final[0]) if final else None)


class Reason(NamedTuple):
    """One commit's part in the decision, printed as '<sha7> <subject> → <bump>'."""

    sha: str
    subject: str
    bump: Bump
    note: str = ""

    def __str__(self) -> str:
        note = f" ({self.note})" if self.note else ""
        return f"{self.sha[:7]} {self.subject} → {self.bump.label}{note}"


def commit_bump(parsed: ParsedCommit, types: Mapping[str, Bump], *, breaking: bool = True) -> Bump:
    """The bump one commit asks for: major when breaking, else what `types` maps it to.

    A `type(scope)` key (e.g. `chore(deps): patch`) wins over the bare type. With
    `breaking=False` only the type counts (to choose a changelog section).
    """
    if breaking and parsed.breaking:
        return Bump.MAJOR
    if parsed.scope is not None:
        scoped = types.get(f"{parsed.type}({parsed.scope.lower()})")
        if scoped is not None:
            return scoped
    return types.get(parsed.type, Bump.NONE)


def decide_bump(history: History, types: Mapping[str, Bump], *, major_on_zero: bool = False,
                base: Version | None = None) -> tuple[Bump, tuple[Reason, ...]]:
    """The strongest bump the changes ask for, with the reasons, newest first.

    Below 1.0.0 a breaking change bumps minor unless `major_on_zero`: SemVer §4 says anything
    may change in 0.y.z, and most projects keep 1.0.0 for a deliberate decision.
    """
    zero = base is not None and base.major == 0 and not major_on_zero
    bump = Bump.NONE
    reasons: list[Reason] = []
    scoped = any("(" in key for key in types)
    none = Bump.NONE  # an enum member is a class attribute lookup each time; once is enough
    changes = history.changes
    # Without folded commits, the headlines are all there is: read in C, not by a generator.
    folds = any(map(_MEMBERS, changes))
    for parsed in history.parsed() if folds else map(_HEADLINE, changes):
        if parsed.breaking:
            wanted, note = (Bump.MINOR, "breaking change below 1.0.0") if zero else (
                Bump.MAJOR, "breaking change")
        else:
            wanted = commit_bump(parsed, types) if scoped else types.get(parsed.type, none)
            note = ""
        if wanted:  # tuple.__new__: see ParsedCommit, thousands of reasons in a large range
            commit = parsed.commit
            if parsed.line is None and len(commit.parents) < 2:
                # commit.subject, inlined (parsed.subject gives the same for a plain commit)
                message = commit.message
                end = message.find("\n")
                subject = (message if end < 0 else message[:end]).strip()
            else:
                subject = parsed.subject
            reasons.append(_new(Reason, (commit.sha, subject, wanted, note)))
            if wanted > bump:
                bump = wanted
    for original, revert in history.cancelled:
        reasons.append(Reason(original.sha, original.subject, Bump.NONE,
                              f"reverted by {revert.sha[:7]}"))
    for error in history.unparsed:
        if error.has_breaking_footer:
            reasons.append(Reason(error.sha, error.commit.subject, Bump.NONE,
                                  "has a BREAKING CHANGE footer but no Conventional Commits header"))
    return bump, tuple(reasons)


def strongest_bump(history: History, types: Mapping[str, Bump], *, major_on_zero: bool = False,
                   base: Version | None = None) -> Bump:
    """decide_bump's bump without its reasons (a record for each of thousands of commits,
    which `next-version` does not print): a few passes in C over the range."""
    changes = history.changes
    parsed = list(history.parsed()) if any(map(_MEMBERS, changes)) else list(map(_HEADLINE, changes))
    plain = filterfalse(_BREAKING, parsed)  # a breaking change's type does not count
    if any("(" in key for key in types):
        best = max((commit_bump(commit, types, breaking=False) for commit in plain), default=Bump.NONE)
    else:
        best = max(map(types.get, map(_TYPE, plain), repeat(Bump.NONE)), default=Bump.NONE)
    if any(map(_BREAKING, parsed)):
        zero = base is not None and base.major == 0 and not major_on_zero
        best = max(best, Bump.MINOR if zero else Bump.MAJOR)
    return best


class Reasons(Sequence):
    """A plan's reasons, worked out by decide_bump the first time they are read."""

    __slots__ = ("_decide", "_reasons")

    def __init__(self, decide: Callable[[], tuple[Bump, tuple[Reason, ...]]]) -> None:
        self._decide, self._reasons = decide, None

    def _all(self) -> tuple[Reason, ...]:
        if self._reasons is None:
            self._reasons = self._decide()[1]
        return self._reasons

    def __getitem__(self, index):
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)


def apply_bump(base: Version, bump: Bump) -> Version:
    """`base` moved by `bump` (NONE leaves it as it is)."""
    if bump is Bump.MAJOR:
        return base.bump_major()
    if bump is Bump.MINOR:
        return base.bump_minor()
    if bump is Bump.PATCH:
        return base.bump_patch()
    return base


def next_version(base: Version | None, bump: Bump, *, initial: Version,
                 latest: Version | None = None, pre: str | None = None,
                 new_since_latest: bool = True) -> Version | None:
    """The next version, or None when no release is due.

    `base` is the last final release, `latest` the last release of any kind (maybe a
    prerelease above `base`). With `pre` ("rc") the result is a prerelease: 1.3.0-rc.1, then
    1.3.0-rc.2; without it, the final 1.3.0.

    >>> str(next_version(Version.parse("1.2.0"), Bump.MINOR, initial=Version.parse("0.1.0")))
    '1.3.0'
    >>> str(next_version(Version.parse("1.2.0"), Bump.MINOR, initial=Version.parse("0.1.0"),
    ...                  latest=Version.parse("1.3.0-rc.1"), pre="rc"))
    '1.3.0-rc.2'
    """
    if base is None:
        target = initial
    elif bump is Bump.NONE:
        return None
    else:
        target = apply_bump(base, bump)
    if latest is not None and latest.prerelease and latest.finalize_version() > target:
        target = latest.finalize_version()  # stay on the prerelease line already tagged
    if pre is None:
        return target
    if latest is not None and latest.prerelease and latest.finalize_version() == target \
            and _token(latest) == pre:
        return latest.bump_prerelease(pre) if new_since_latest else None
    return target.replace(prerelease=f"{pre}.1")


def _token(version: Version) -> str:
    """The identifier of a prerelease: 'rc' for 1.3.0-rc.2."""
    return (version.prerelease or "").split(".", 1)[0]


class ReleasePlan(NamedTuple):
    """Everything `next-version` reports: current and next version, bump, commits, reasons."""

    current: Version | None
    current_tag: str | None
    base_tag: str | None  # the last final release: the changes are counted from here
    next: Version | None
    next_tag: str | None
    bump: str  # major | minor | patch | prerelease | none
    history: History
    reasons: Sequence[Reason]  # Reasons: worked out when read

    @property
    def commits(self) -> tuple[Commit, ...]:
        """The commits of the range, newest first."""
        return self.history.commits


def plan_release(state: TagState, commits: Iterable[Commit], settings: ReleaseSettings, *,
                 pre: str | None = None, new_since_latest: bool = True) -> ReleasePlan:
    """Plan the next release from the tags and the commits since the last final release;
    `commits` (newest first) is read once and may be a stream straight from `git log`."""
    history = collect_changes(commits, squash_bullets=settings.squash_bullets)
    base = state.latest_final[1] if state.latest_final else None
    latest = state.latest[1] if state.latest else None
    bump = strongest_bump(history, settings.types, major_on_zero=settings.major_on_zero, base=base)
    reasons = Reasons(partial(decide_bump, history, settings.types,
                              major_on_zero=settings.major_on_zero, base=base))
    initial = Version.parse(settings.initial_version)
    version = next_version(base, bump, initial=initial, latest=latest, pre=pre,
                           new_since_latest=new_since_latest)
    if version is None:
        label = "none"
    elif version.prerelease:
        label = "prerelease"
    elif base is None:
        label = _initial_label(version)
    else:
        label = bump.label
    return ReleasePlan(
        current=latest, current_tag=state.latest[0] if state.latest else None,
        base_tag=state.latest_final[0] if state.latest_final else None,
        next=version, next_tag=settings.tags.format(version) if version else None,
        bump=label, history=history, reasons=reasons)


def _initial_label(version: Version) -> str:
    """How the first release moves from nothing: 1.0.0 is major, 0.1.0 minor, 0.0.1 patch."""
    return "major" if version.major else "minor" if version.minor else "patch"
