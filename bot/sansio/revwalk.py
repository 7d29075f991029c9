"""Cut git's unlimited walk of `git log <base> <tip>` down to the range base..tip, as git does.

Why: `git log base..tip` prints nothing until it has walked the whole range (a "limited"
walk: revision.c's limit_list, https://github.com/git/git/blob/v2.39.0/revision.c), so a
reader first waits for git and then races it. The same walk without the `^base` limit prints
from its first commit, in the same order: both pop commits by committer date from one queue
seeded with base and tip. Every commit popped before `base` is in the range, unless it is an
ancestor of `base`, which takes a commit dated no later than one of its parents.

From `base` on, `RangeTail` applies limit_list's own rule to the rest of the stream: the
ancestors of `base` are uninteresting, and the walk ends once only uninteresting commits are
queued and five more (git's SLOP) were popped. git knows the parents of the commits it has
queued, this only those of the commits it has been shown, so the stream is read on until
the commits git had queued have come by. The two agree while every commit comes after its
children; at any sign that one did not (a commit dated later than the one before it, a
parent seen before its child, an ancestor of `base` already given out) it raises
`WalkUncertain`, and the caller asks git for the limited walk after all. Clock skew does
that; commits of the same second (a rebase, a script) mostly do not.
"""
from __future__ import annotations

from itertools import chain

SLOP = 5  # revision.c: commits popped after only uninteresting ones are queued


class WalkUncertain(Exception):
    """The stream cannot be cut as git would cut it: use `git log base..tip` itself."""


class RangeTail:
    """The part of the walk from `base` on: which commits are in the range, and where to stop.

    `given_out` maps each commit popped before `base` (all in the range, and already given
    to the reader) to its parents, and `their_parents` holds those parents: both are built
    chunk by chunk while git still prints, and taken over here. `last_date` is the committer
    date of the last commit popped before `base`.
    """

    def __init__(self, base: str, tip: str, given_out: dict[str, tuple[str, ...]],
                 their_parents: set[str], last_date: int | None) -> None:
        self.parents_of = given_out  # grows with the commits popped from here on
        self.their_parents = their_parents
        self.queued = their_parents.union((base, tip)).difference(given_out)
        self.uninteresting = {base}
        self.kept: list[tuple[str, object]] = []  # in the range, so far, from base on
        self.popped_since_base: set[str] = set()  # popped from base on (the others were given out)
        self.last_interesting = last_date  # revision.c's `date`: None is its TIME_MAX
        self.previous = last_date
        self.slop = SLOP
        self.judge_next = False
        self.unsettled: set[str] | None = None  # queued when git would have stopped

    def pop(self, sha: str, parents: tuple[str, ...], date: int, item: object) -> bool:
        """Take the next commit git popped; False when git would have stopped before it."""
        if self.judge_next and not self._still_interesting(date):
            return False
        if self.previous is not None and date > self.previous:
            raise WalkUncertain(f"{sha} is dated later than the commit before it")
        self.previous = date
        self.queued.discard(sha)
        for parent in parents:
            if parent in self.parents_of:
                raise WalkUncertain(f"{parent} was shown before its child {sha}")
            self.queued.add(parent)
        self.parents_of[sha] = parents
        self.popped_since_base.add(sha)
        if sha in self.uninteresting:
            self._mark(parents)
            self.judge_next = True
        else:
            self.kept.append((sha, item))
            self.last_interesting = date
            self.judge_next = False
        return True

    def settle(self, sha: str, parents: tuple[str, ...]) -> bool:
        """Take a commit git pops after the point where it would have stopped; True when
        every commit then queued has come by.

        git has read the parents of the commits it queued, and marks them uninteresting
        with their child; here they are known once popped. Seeing none of them already
        popped, git marked nothing this walk kept.
        """
        if self.unsettled is None:
            self.unsettled = set(self.queued)
        if sha in self.unsettled:
            self.unsettled.discard(sha)
            if any(parent in self.parents_of for parent in parents):
                raise WalkUncertain(f"a parent of {sha} was popped before it")
        return not self.unsettled

    def in_range(self) -> list[object]:
        """The commits from `base` on that are in the range, in git's order."""
        return [item for sha, item in self.kept if sha not in self.uninteresting]

    def boundary(self) -> set[str]:
        """The uninteresting parents of the commits in the range (git log --boundary)."""
        kept_parents = [self.parents_of[sha] for sha, _ in self.kept if sha not in self.uninteresting]
        return self.uninteresting & self.their_parents.union(chain.from_iterable(kept_parents))

    def _still_interesting(self, head_date: int) -> bool:
        # revision.c's still_interesting, with the next commit popped as the queue's head.
        if self.last_interesting is not None and self.last_interesting <= head_date:
            self.slop = SLOP
        elif not self.queued <= self.uninteresting:
            self.slop = SLOP
        else:
            self.slop -= 1
        return self.slop > 0

    def _mark(self, parents: tuple[str, ...]) -> None:
        """Mark ancestors uninteresting, through every commit already popped (revision.c's
        mark_parents_uninteresting)."""
        stack = list(parents)
        while stack:
            sha = stack.pop()
            if sha in self.uninteresting:
                continue
            self.uninteresting.add(sha)
            if sha in self.parents_of and sha not in self.popped_since_base:
                raise WalkUncertain(f"{sha} was given out but is an ancestor of the base")
            stack.extend(self.parents_of.get(sha, ()))
