"""Reduce a range of commits to the changes a release contains: merges, reverts, squashes.

Three rules sit between "the commits git lists" and "what was released":
- a merged PR/MR is one change: when its title is a Conventional Commit, the commits it
  brought are folded into it (they still count for the bump, they are not listed twice);
- a commit and its revert inside the same range cancel out (a revert of a revert restores);
- bullets of a squash-merge body count only when the repository opts in.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain, compress, filterfalse
from operator import attrgetter
from typing import NamedTuple

from bot.sansio.commits import (
    GIT_REVERT_RE, Commit, ParsedCommit, ParseError, _new, parse_header, parse_merge,
    parse_message, split_pr, squashed_commits)


HEAD_TYPE = attrgetter("headline.type")
HEAD_SHA = attrgetter("headline.commit.sha")
HEAD_DESCRIPTION = attrgetter("headline.description")
COMMIT, SHA, PARENTS = attrgetter("commit"), attrgetter("sha"), attrgetter("parents")


class Change(NamedTuple):
    """One entry of a release: a commit, or a merged PR/MR and the commits it brought."""

    headline: ParsedCommit
    members: tuple[ParsedCommit, ...] = ()

    @property
    def breaking(self) -> bool:
        """True when the headline or any folded commit is a breaking change."""
        if self.headline.breaking:
            return True
        return bool(self.members) and any(member.breaking for member in self.members)

    @property
    def breaking_notes(self) -> tuple[str, ...]:
        """Every breaking-change note of the headline and of the folded commits."""
        notes = list(self.headline.breaking_notes)
        for member in self.members:
            notes.extend(note for note in member.breaking_notes if note not in notes)
        return tuple(notes)

    def commits(self) -> tuple[ParsedCommit, ...]:
        """The headline then the folded commits: everything that counts for the bump."""
        return (self.headline, *self.members)


class History(NamedTuple):
    """What a range of commits amounts to, newest first, with what was left out and why."""

    changes: tuple[Change, ...]
    unparsed: tuple[ParseError, ...] = ()
    cancelled: tuple[tuple[ParsedCommit, ParsedCommit], ...] = ()  # (commit, its revert)
    results: tuple[ParsedCommit | ParseError, ...] = ()  # each commit of the range, parsed

    @property
    def commits(self) -> tuple[Commit, ...]:
        """The commits of the range as given, newest first."""
        return tuple(result.commit for result in self.results)

    def parsed(self) -> Iterable[ParsedCommit]:
        """Every parsed commit that still counts, folded ones included."""
        for change in self.changes:
            yield change.headline
            if change.members:
                yield from change.members


def collect_changes(commits: Iterable[Commit], *, squash_bullets: bool = False) -> History:
    """Parse `commits` (newest first, as `git log` lists them) into a release's changes.

    `commits` is read once, so it may be a stream: each commit is parsed as it arrives.
    """
    results = [parse_merge(commit) if len(commit.parents) > 1 else parse_message(commit)
               for commit in commits]  # parse_commit, inlined: this loop runs per commit
    merged_by = _merge_owners(results)
    if not merged_by and not squash_bullets:  # no merged PR brought commits: one change each
        changes = [_new(Change, (result, ())) for result in results if type(result) is ParsedCommit]
        unparsed = [result for result in results if type(result) is not ParsedCommit
                    and (result.pr is not None or len(result.commit.parents) < 2)]
    else:
        changes, unparsed = _fold_changes(results, merged_by, squash_bullets)
    kept, cancelled = _cancel_reverts(changes)
    return History(tuple(kept), tuple(unparsed), tuple(cancelled), tuple(results))


def _fold_changes(results: list[ParsedCommit | ParseError], merged_by: dict[str, str],
                  squash_bullets: bool) -> tuple[list[Change], list[ParseError]]:
    """The changes of a range where merged PRs/MRs brought commits (or squash bullets count)."""
    shas = list(map(SHA, map(COMMIT, results))) if merged_by else []
    by_sha = dict(zip(shas, results))
    folded: dict[str, list[ParsedCommit]] = {}
    # Only the commits a merge brought, in order (picked in C: most commits are not).
    for result in compress(results, map(merged_by.__contains__, shas)):
        merge_sha = merged_by.get(result.commit.sha)
        if merge_sha and type(by_sha[merge_sha]) is ParsedCommit and type(result) is ParsedCommit:
            folded.setdefault(merge_sha, []).append(result)  # into the merged PR/MR's entry
    changes: list[Change] = []
    unparsed: list[ParseError] = []
    for result in results:
        merge = by_sha.get(merged_by.get(result.commit.sha)) if merged_by else None
        if merge is not None:
            if type(merge) is ParsedCommit:
                continue
            if result.pr is None and len(result.commit.parents) < 2:
                # Listed on its own (the PR title is free text) but still linked to its PR.
                result = result._replace(pr=merge.pr)
        bullets = squashed_commits(result.commit, result.pr) if squash_bullets else ()
        if type(result) is ParsedCommit:  # tuple.__new__: Change() is a Python call
            members = folded.get(result.commit.sha) if folded else None
            changes.append(_new(Change, (result, tuple(members) + bullets if members else bullets)))
        elif bullets:
            changes.extend(_new(Change, (bullet, ())) for bullet in bullets)
        elif result.pr is not None or len(result.commit.parents) < 2:
            # A plain "Merge branch 'main' into topic" is plumbing, not an unparsed commit.
            unparsed.append(result)
    return changes, unparsed


def _merge_owners(results: Sequence[ParsedCommit | ParseError]) -> dict[str, str]:
    """Map each commit a PR/MR merge commit brought in to that merge's sha.

    Walk the first-parent chain oldest first; a merge owns what its other parents reach that
    no earlier commit on the chain reached. Linear in the size of the range.
    """
    # map/zip/filterfalse run per commit in C; only the walks below are Python loops.
    commits = list(map(COMMIT, results))
    parents = list(map(PARENTS, commits))
    merges = compress(range(len(parents)), map((1).__lt__, map(len, parents)))  # 2+ parents
    requests = {commits[i].sha for i in merges if results[i].pr is not None}
    if not requests:
        return {}
    shas = list(map(SHA, commits))
    parents_of = dict(zip(shas, parents))
    parents_seen = set(chain.from_iterable(parents))
    seen: set[str] = set()
    owner: dict[str, str] = {}
    for tip in list(filterfalse(parents_seen.__contains__, shas)):
        line = []  # the first-parent chain from this tip, newest first
        sha: str | None = tip
        while sha in parents_of and sha not in seen:
            line.append(sha)
            above = parents_of[sha]
            sha = above[0] if above else None
        seen.update(line)
        for sha in [sha for sha in reversed(line) if len(parents_of[sha]) > 1]:
            is_request = sha in requests
            stack = list(parents_of[sha][1:])
            while stack:
                current = stack.pop()
                if current in seen or current not in parents_of:
                    continue
                seen.add(current)
                if is_request:
                    owner[current] = sha
                stack.extend(parents_of[current])
    return owner


def _cancel_reverts(changes: list[Change]) -> tuple[list[Change], list[tuple[ParsedCommit, ParsedCommit]]]:
    """Drop each revert together with the change it reverts when both are in the range.

    Newest first, so that a revert of a revert cancels the first revert and the original
    change stays, as in git itself. A revert names its commit by sha, else by its subject.
    """
    kinds = list(map(HEAD_TYPE, changes))  # C-level passes: most ranges have no revert at all
    if "revert" not in kinds:
        return changes, []
    reverts = list(compress(range(len(kinds)), map("revert".__eq__, kinds)))
    alive = [True] * len(changes)
    named = {changes[i].headline.reverts for i in reverts} - {None}
    index_of: dict[str, int] = {}
    if named:
        shas = list(map(HEAD_SHA, changes))
        if min(map(len, named)) < 40:  # an abbreviated sha: matched by prefix, below
            index_of = dict(zip(shas, range(len(shas))))
        else:  # only the commits some revert names are indexed, found in C
            for j in compress(range(len(shas)), map(named.__contains__, shas)):
                index_of[shas[j]] = j
    wanted = {_key_of_quoted(changes[i].headline.reverted_header) for i in reverts
              if not changes[i].headline.reverts} - {None}
    by_key: dict[tuple, list[int]] = {}
    if wanted:  # only the subjects some revert quotes are indexed
        texts = {key[-1] for key in wanted}  # a description, or the header a revert quotes
        # Found in C: the changes whose description is one of those texts, and the reverts
        # (only they have a reverted_header) that quote one.
        described = map(texts.__contains__, map(HEAD_DESCRIPTION, changes))
        found = set(compress(range(len(changes)), described))
        found.update(i for i in reverts if changes[i].headline.reverted_header in texts)
        for j in sorted(found):
            key = _key(changes[j].headline)
            if key in wanted:
                by_key.setdefault(key, []).append(j)
    pairs = []
    for i in reverts:
        head = changes[i].headline
        if not alive[i]:
            continue
        if head.reverts:
            target = index_of.get(head.reverts)
            if target is None and len(head.reverts) < 40:
                target = next((j for sha, j in index_of.items() if sha.startswith(head.reverts)), None)
        else:
            candidates = by_key.get(_key_of_quoted(head.reverted_header), ())
            target = next((j for j in candidates if j > i and alive[j]), None)
        if target is not None and target > i and alive[target]:
            alive[i] = alive[target] = False
            pairs.append((changes[target].headline, head))
    return list(compress(changes, alive)), pairs


def _key(parsed: ParsedCommit) -> tuple:
    """What identifies a change's header: type, scope and description (PR suffix dropped)."""
    if parsed.type == "revert":
        return ("revert", parsed.reverted_header)
    return (parsed.type, parsed.scope, parsed.description)


def _key_of_quoted(quoted: str | None) -> tuple | None:
    """The key of the header a revert quotes, or None when it is not conventional."""
    if not quoted:
        return None
    if quoted.startswith("Revert "):
        inner = GIT_REVERT_RE.fullmatch(quoted)
        return ("revert", split_pr(inner["subject"].strip())[0]) if inner else None
    header = parse_header(quoted)
    return (header.type, header.scope, header.description) if header else None
