"""Reduce a range of commits to the changes a release contains: merges, reverts, squashes.

Three rules sit between "the commits git lists" and "what was released":
- a merged PR/MR is one change: when its title is a Conventional Commit, the commits it
  brought are folded into it (they still count for the bump, they are not listed twice);
- a commit and its revert inside the same range cancel out (a revert of a revert restores);
- bullets of a squash-merge body count only when the repository opts in.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from bot.sansio.commits import (
    PR_SUFFIX_RE, Commit, ParsedCommit, ParseError, parse_commit, squashed_commits)


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of a release: a commit, or a merged PR/MR and the commits it brought."""

    headline: ParsedCommit
    members: tuple[ParsedCommit, ...] = ()

    @property
    def breaking(self) -> bool:
        """True when the headline or any folded commit is a breaking change."""
        return self.headline.breaking or any(member.breaking for member in self.members)

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


@dataclass(frozen=True, slots=True)
class History:
    """What a range of commits amounts to, newest first, with what was left out and why."""

    changes: tuple[Change, ...]
    unparsed: tuple[ParseError, ...] = ()
    cancelled: tuple[tuple[ParsedCommit, ParsedCommit], ...] = ()  # (commit, its revert)

    def parsed(self) -> Iterable[ParsedCommit]:
        """Every parsed commit that still counts, folded ones included."""
        for change in self.changes:
            yield from change.commits()


def collect_changes(commits: Sequence[Commit], *, squash_bullets: bool = False) -> History:
    """Parse `commits` (newest first, as `git log` lists them) into a release's changes."""
    results = [parse_commit(commit) for commit in commits]
    merged_by = _merge_owners(commits, results)
    by_sha = {result.sha: result for result in results}
    folded: dict[str, list[ParsedCommit]] = {}
    changes: list[Change] = []
    unparsed: list[ParseError] = []
    merges = [by_sha.get(merged_by.get(result.sha, "")) for result in results]
    for result, merge in zip(results, merges):
        if isinstance(merge, ParsedCommit) and isinstance(result, ParsedCommit):
            folded.setdefault(merge.sha, []).append(result)  # into the merged PR/MR's entry
    for result, merge in zip(results, merges):
        if isinstance(merge, ParsedCommit):
            continue
        if merge is not None and result.pr is None and not result.commit.is_merge:
            # Listed on its own (the PR title is free text) but still linked to its PR.
            result = replace(result, pr=merge.pr)
        bullets = squashed_commits(result.commit, result.pr) if squash_bullets else ()
        if isinstance(result, ParsedCommit):
            members = tuple(folded.get(result.sha, ())) + bullets
            changes.append(Change(result, members))
        elif bullets:
            changes.extend(Change(bullet) for bullet in bullets)
        elif not (result.commit.is_merge and result.pr is None):
            # A plain "Merge branch 'main' into topic" is plumbing, not an unparsed commit.
            unparsed.append(result)
    kept, cancelled = _cancel_reverts(changes)
    return History(tuple(kept), tuple(unparsed), tuple(cancelled))


def _merge_owners(commits: Sequence[Commit], results: Sequence[ParsedCommit | ParseError],
                  ) -> dict[str, str]:
    """Map each commit a PR/MR merge commit brought in to that merge's sha.

    Walk the first-parent chain oldest first; a merge owns what its other parents reach that
    no earlier commit on the chain reached. Linear in the size of the range.
    """
    by_sha = {commit.sha: commit for commit in commits}
    if len(by_sha) == len(commits) and not any(commit.is_merge for commit in commits):
        return {}
    requests = {r.sha for r in results if r.commit.is_merge and r.pr is not None}
    parents_seen = {parent for commit in commits for parent in commit.parents}
    tips = [commit.sha for commit in commits if commit.sha not in parents_seen]
    seen: set[str] = set()
    owner: dict[str, str] = {}
    for tip in tips:
        chain = []
        sha: str | None = tip
        while sha in by_sha and sha not in seen:
            chain.append(sha)
            seen.add(sha)
            parents = by_sha[sha].parents
            sha = parents[0] if parents else None
        for sha in reversed(chain):
            stack = list(by_sha[sha].parents[1:])
            while stack:
                current = stack.pop()
                if current in seen or current not in by_sha:
                    continue
                seen.add(current)
                if sha in requests:
                    owner[current] = sha
                stack.extend(by_sha[current].parents)
    return owner


def _cancel_reverts(changes: list[Change]) -> tuple[list[Change], list[tuple[ParsedCommit, ParsedCommit]]]:
    """Drop each revert together with the change it reverts when both are in the range.

    Newest first, so that a revert of a revert cancels the first revert and the original
    change stays, as in git itself.
    """
    alive = [True] * len(changes)
    index_of = {change.headline.sha: i for i, change in enumerate(changes)}
    pairs = []
    for i, change in enumerate(changes):
        head = change.headline
        if not alive[i] or head.type != "revert":
            continue
        target = _revert_target(head, changes, index_of, alive, i)
        if target is not None:
            alive[i] = alive[target] = False
            pairs.append((changes[target].headline, head))
    return [change for i, change in enumerate(changes) if alive[i]], pairs


def _revert_target(revert: ParsedCommit, changes: list[Change], index_of: dict[str, int],
                   alive: list[bool], position: int) -> int | None:
    """Index of the older, still counted change that `revert` names (by sha, else by subject)."""
    if revert.reverts:
        index = index_of.get(revert.reverts)
        if index is None and len(revert.reverts) < 40:
            index = next((i for sha, i in index_of.items() if sha.startswith(revert.reverts)), None)
        return index if index is not None and index > position and alive[index] else None
    for index in range(position + 1, len(changes)):
        if alive[index] and _same_subject(changes[index].headline, revert.reverted_header or ""):
            return index
    return None


def _same_subject(parsed: ParsedCommit, quoted: str) -> bool:
    """True when `quoted` (the subject a revert names) is this commit's subject."""
    return PR_SUFFIX_RE.sub("", parsed.subject).strip() == PR_SUFFIX_RE.sub("", quoted).strip()
