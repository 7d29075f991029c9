"""Parse commit messages as Conventional Commits 1.0.0; a message that does not parse is a value.

The rules quoted below come from https://www.conventionalcommits.org/en/v1.0.0/#specification
("spec §N"). Nothing here raises on bad input: `parse_commit` returns a `ParsedCommit` or a
`ParseError` that says why, so a caller can list the commits it could not read.
"""
from __future__ import annotations

import functools
import re
from typing import NamedTuple

# spec §1-§5: type, optional (scope), optional !, then ": " and a description.
# spec §15: units are case-insensitive, so the type is lower-cased.
HEADER_RE = re.compile(
    r"(?P<type>[A-Za-z][A-Za-z0-9_-]*)(?:\((?P<scope>[^()\r\n]*)\))?(?P<bang>!)?: +(?P<desc>\S.*)"
)
# spec §8-§9: a footer is a word token (dashes for spaces) then ": " or " #";
# spec §16: BREAKING-CHANGE is a synonym of BREAKING CHANGE, which must be upper case.
FOOTER_RE = re.compile(r"(?P<token>BREAKING CHANGE|[A-Za-z][A-Za-z0-9-]*)(?P<sep>: | #)(?P<value>.*)")
BREAKING_TOKENS = frozenset({"BREAKING CHANGE", "BREAKING-CHANGE"})
# A footer begins a paragraph: after a blank line (the text is given two leading newlines).
FOOTER_START_RE = re.compile(r"\n[ \t]*\n(?=(?:BREAKING CHANGE|[A-Za-z][A-Za-z0-9-]*)(?:: | #))")
# GitHub merge commits say "Merge pull request #12 from …"; GitLab's end "See merge request g/p!12".
GITHUB_MERGE_RE = re.compile(r"Merge pull request #(\d+) from \S+")
GITLAB_MERGE_RE = re.compile(r"Merge branch '[^']+' into '[^']+'")
GITLAB_MR_RE = re.compile(r"^See merge request \S*!(\d+)\s*$", re.M)
# git's own revert message: Revert "<subject>" ... This reverts commit <sha>.
GIT_REVERT_RE = re.compile(r'Revert "(?P<subject>.+)"(?:\s*\((?:#|!)\d+\))?\s*$')
REVERTS_SHA_RE = re.compile(r"This reverts commit ([0-9a-f]{7,40})", re.I)
SHA_RE = re.compile(r"\b[0-9a-f]{7,40}\b")
ISSUE_TOKENS = frozenset({"closes", "close", "closed", "fixes", "fix", "fixed", "resolves",
                          "resolve", "resolved", "refs", "ref", "references", "see"})
ISSUE_NUMBER_RE = re.compile(r"(?<![\w/])#(\d+)\b")
# A squash-merge body lists the squashed commits, often as "* feat: …" bullets.
BULLET_RE = re.compile(r"^(?:[*-] +)?(?=[A-Za-z][A-Za-z0-9_-]*(?:\([^()\r\n]*\))?!?: )")


# The per-commit records are NamedTuples: immutable like frozen dataclasses, and several
# times cheaper to build, which matters at 20,000 commits (see bench/changelog.py). Hot loops
# call tuple.__new__ with every field: a NamedTuple's own __new__ is a Python function.
_new = tuple.__new__
class Commit(NamedTuple):
    """One commit as git gives it: the input of every function in this package."""

    sha: str
    message: str
    parents: tuple[str, ...] = ()
    author_name: str = ""
    author_email: str = ""
    date: str = ""  # committer date, seconds since the epoch as git prints it (%ct)

    @property
    def subject(self) -> str:
        """First line of the message."""
        end = self.message.find("\n")
        return (self.message if end < 0 else self.message[:end]).strip()

    @property
    def is_merge(self) -> bool:
        """True for a commit with more than one parent."""
        return len(self.parents) > 1


class ParsedCommit(NamedTuple):
    """A commit read as a Conventional Commit (or a merge read through its PR/MR title).

    The header and the breaking flag are read at once; body, footers, issues and co-authors
    are read from `rest` when asked, since most commits of a large range never are.
    """

    commit: Commit
    type: str
    scope: str | None
    description: str
    breaking: bool
    breaking_notes: tuple[str, ...]
    pr: int | None = None
    reverts: str | None = None  # sha named by a revert, if any
    reverted_header: str | None = None  # the subject a revert quotes
    line: str | None = None  # the body line a squashed commit was read from
    rest: str = ""  # what follows the header line: body and footers

    @property
    def body(self) -> str:
        """The free text between the header and the footers."""
        return split_body(self.rest)[0]

    @property
    def footers(self) -> tuple[tuple[str, str], ...]:
        """(token, value) pairs of the footers, in order."""
        return split_body(self.rest)[1]

    @property
    def issues(self) -> tuple[int, ...]:
        """Issue numbers the Closes/Fixes/Refs footers name."""
        return issue_numbers(self.footers)

    @property
    def co_authors(self) -> tuple[str, ...]:
        """The values of Co-authored-by trailers."""
        return tuple([value for token, value in self.footers if token.lower() == "co-authored-by"])

    @property
    def sha(self) -> str:
        """The commit's full sha."""
        return self.commit.sha

    @property
    def subject(self) -> str:
        """The header as written; for a merge, the title of the merged PR/MR."""
        if self.line is not None:
            return self.line
        if self.commit.is_merge:
            return self.commit.message.partition("\n")[2].strip().split("\n", 1)[0].strip()
        return self.commit.subject


class ParseError(NamedTuple):
    """A commit that is not a Conventional Commit, with the reason; a value, never raised."""

    commit: Commit
    reason: str
    pr: int | None = None
    has_breaking_footer: bool = False  # worth a warning: the author meant a major release

    @property
    def sha(self) -> str:
        """The commit's full sha."""
        return self.commit.sha


class Header(NamedTuple):
    """The parts of a Conventional Commits header line."""

    type: str
    scope: str | None
    breaking: bool
    description: str  # without a trailing "(#123)"
    pr: int | None = None


def parse_header(line: str) -> Header | None:
    """Read `type(scope)!: description (#pr)`, or None when the line is not such a header."""
    match = HEADER_RE.fullmatch(line.strip())
    if match is None:
        return None
    type_, scope, bang, description = match.groups()
    description, pr = split_pr(description)
    return Header(type_.lower(), (scope.strip() or None) if scope else None, bang is not None,
                  description, pr)


@functools.lru_cache(maxsize=1024)  # a changelog entry asks for issues, authors and body
def split_body(text: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Split what follows the header into the free-text body and its footers.

    spec §6-§10: footers start one blank line after the body; a value may run over several
    lines and ends where the next token/separator pair begins. So footers start at the first
    paragraph whose first line is a footer, and everything after belongs to them.
    """
    padded = "\n\n" + text  # so the first line also counts as a paragraph start
    start = FOOTER_START_RE.search(padded)
    if start is None:
        return text.strip(), ()
    footers: list[list[str]] = []
    for line in padded[start.end():].split("\n"):
        match = FOOTER_RE.match(line)
        if match:
            value = match["value"] if match["sep"] == ": " else "#" + match["value"]
            footers.append([match["token"], value])
        else:
            footers[-1][1] += "\n" + line
    body = padded[:start.start()].strip()
    return body, tuple([(token, value.strip()) for token, value in footers])


def parse_message(commit: Commit, message: str | None = None) -> ParsedCommit | ParseError:
    """Parse `message` (default: the commit's own) as a Conventional Commit."""
    # Written for speed (it runs once per commit of a range): no helper calls on the common path.
    text = commit.message if message is None else message
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if text.startswith("\n"):
        text = text.lstrip("\n")
    subject, _, rest = text.partition("\n")
    subject = subject.strip()
    breaking_notes: tuple[str, ...] = ()
    if "BREAKING" in rest:  # both spellings of the token contain it; most bodies do not
        breaking_notes = tuple([value for token, value in split_body(rest)[1]
                                if token in BREAKING_TOKENS])
    match = HEADER_RE.fullmatch(subject)
    revert = None
    if match is not None:
        type_, scope, bang, description = match.groups()
        type_ = type_.lower()
        scope = (scope.strip() or None) if scope else None
        description, pr = split_pr(description) if description[-1] == ")" else (description, None)
    elif subject.startswith("Revert") and (revert := GIT_REVERT_RE.fullmatch(subject)):
        type_, scope, bang = "revert", None, None
        description, pr = split_pr(revert["subject"].strip())[0], pr_number(subject)
    else:
        reason = "empty message" if not subject else "header is not 'type(scope): description'"
        return ParseError(commit, reason, pr_number(subject), bool(breaking_notes))
    reverts = reverted_header = None
    if type_ == "revert":
        shas = REVERTS_SHA_RE.findall(text) or [
            sha for token, value in split_body(rest)[1] if token.lower() == "refs"
            for sha in SHA_RE.findall(value)]
        reverts = shas[0] if shas else None
        reverted_header = description
        if revert is None and len(reverted_header) > 1 and reverted_header[0] == reverted_header[-1] == '"':
            reverted_header = reverted_header[1:-1]  # revert: "fix: x"
    # spec §13: "!" marks a breaking change even without a BREAKING CHANGE footer.
    notes = breaking_notes or ((description,) if bang else ())
    return _new(ParsedCommit, (commit, type_, scope, description, bool(notes), notes, pr, reverts,
                               reverted_header, None, rest))


def parse_commit(commit: Commit) -> ParsedCommit | ParseError:
    """Parse a commit; a merge commit is read through the PR/MR title it carries."""
    if len(commit.parents) > 1:
        return parse_merge(commit)
    return parse_message(commit)


def parse_merge(commit: Commit) -> ParsedCommit | ParseError:
    """Read a GitHub/GitLab merge commit as its PR/MR: the title is the second paragraph."""
    subject = commit.subject
    _, _, body = commit.message.partition("\n")
    title = body.strip().split("\n", 1)[0].strip()
    github = GITHUB_MERGE_RE.match(subject)
    if github:
        pr = int(github[1])
    elif GITLAB_MERGE_RE.match(subject):
        mr = GITLAB_MR_RE.search(body)
        pr = int(mr[1]) if mr else None
    else:
        return ParseError(commit, "merge commit without a pull/merge request", None)
    parsed = parse_message(commit, body) if title else None
    if not isinstance(parsed, ParsedCommit):
        return ParseError(commit, "merged request's title is not a Conventional Commit", pr)
    return parsed._replace(pr=pr)


def squashed_commits(commit: Commit, pr: int | None = None) -> tuple[ParsedCommit, ...]:
    """The Conventional Commit headers a squash-merge body lists, as commits of their own.

    Only called when the repository opts in (`release.squash_bullets`): otherwise free body
    text never counts, whatever it looks like. Everything after the header is read (for a
    merge: after the title), footers included, since "feat: a" alone on a line also reads as
    a footer.
    """
    rest = commit.message.replace("\r\n", "\n").strip("\n").split("\n", 1)[1:]
    lines = rest[0].strip("\n").split("\n") if rest else []
    if commit.is_merge:
        lines = lines[1:]
    found = []
    for line in lines:
        bullet = BULLET_RE.match(line)
        if bullet is None:
            continue
        header = parse_header(line[bullet.end():])
        if header is not None:
            description = header.description
            found.append(ParsedCommit(
                commit, header.type, header.scope, description, header.breaking,
                (description,) if header.breaking else (), pr, line=line[bullet.end():].strip()))
    return tuple(found)


def split_pr(text: str) -> tuple[str, int | None]:
    """('fix: x', 12) for 'fix: x (#12)' (GitHub squash title) or 'fix: x (!12)' (GitLab).

    Plain string operations: this runs once per commit, and a regex search costs more.
    """
    text = text.rstrip()
    if text.endswith(")"):
        start = text.rfind("(")
        number = text[start + 2:-1]
        if start >= 0 and text[start + 1:start + 2] in ("#", "!") and number.isdigit() \
                and number.isascii():
            return text[:start].rstrip(), int(number)
    return text, None


def pr_number(subject: str) -> int | None:
    """The PR/MR number a squash-merge title ends with, as in 'fix: x (#12)'."""
    return split_pr(subject)[1]


def issue_numbers(footers: tuple[tuple[str, str], ...]) -> tuple[int, ...]:
    """Issue numbers named by Closes/Fixes/Refs footers, in order, without repeats."""
    found: list[int] = []
    for token, value in footers:
        if token.lower() in ISSUE_TOKENS:
            for number in ISSUE_NUMBER_RE.findall(value):
                if int(number) not in found:
                    found.append(int(number))
    return tuple(found)
