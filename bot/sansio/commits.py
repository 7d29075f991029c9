"""Parse commit messages as Conventional Commits 1.0.0; a message that does not parse is a value.

The rules quoted below come from https://www.conventionalcommits.org/en/v1.0.0/#specification
("spec §N"). Nothing here raises on bad input: `parse_commit` returns a `ParsedCommit` or a
`ParseError` that says why, so a caller can list the commits it could not read.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

# spec §1-§5: type, optional (scope), optional !, then ": " and a description.
# spec §15: units are case-insensitive, so the type is lower-cased.
HEADER_RE = re.compile(
    r"(?P<type>[A-Za-z][A-Za-z0-9_-]*)(?:\((?P<scope>[^()\r\n]*)\))?(?P<bang>!)?: +(?P<desc>\S.*)"
)
# spec §8-§9: a footer is a word token (dashes for spaces) then ": " or " #";
# spec §16: BREAKING-CHANGE is a synonym of BREAKING CHANGE, which must be upper case.
FOOTER_RE = re.compile(r"(?P<token>BREAKING CHANGE|[A-Za-z][A-Za-z0-9-]*)(?P<sep>: | #)(?P<value>.*)")
BREAKING_TOKENS = frozenset({"BREAKING CHANGE", "BREAKING-CHANGE"})
# GitHub's squash/merge titles end in "(#123)"; GitLab's merge commits name "group/proj!123".
PR_SUFFIX_RE = re.compile(r"\s*\((?:#|!)(\d+)\)\s*$")
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


@dataclass(frozen=True, slots=True)
class Commit:
    """One commit as git gives it: the input of every function in this package."""

    sha: str
    message: str
    parents: tuple[str, ...] = ()
    author_name: str = ""
    author_email: str = ""
    date: str = ""  # ISO 8601 committer date, passed in (sansio reads no clock)

    @property
    def subject(self) -> str:
        """First line of the message."""
        return self.message.split("\n", 1)[0].strip()

    @property
    def is_merge(self) -> bool:
        """True for a commit with more than one parent."""
        return len(self.parents) > 1


@dataclass(frozen=True, slots=True)
class ParsedCommit:
    """A commit read as a Conventional Commit (or a merge read through its PR/MR title)."""

    commit: Commit
    type: str
    scope: str | None
    description: str
    body: str
    footers: tuple[tuple[str, str], ...]
    breaking: bool
    breaking_notes: tuple[str, ...]
    pr: int | None = None
    issues: tuple[int, ...] = ()
    co_authors: tuple[str, ...] = ()
    reverts: str | None = None  # sha named by a revert, if any
    reverted_header: str | None = None  # the subject a revert quotes
    line: str | None = None  # the body line a squashed commit was read from

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


@dataclass(frozen=True, slots=True)
class ParseError:
    """A commit that is not a Conventional Commit, with the reason; a value, never raised."""

    commit: Commit
    reason: str
    pr: int | None = None
    has_breaking_footer: bool = False  # worth a warning: the author meant a major release

    @property
    def sha(self) -> str:
        """The commit's full sha."""
        return self.commit.sha


@dataclass(frozen=True, slots=True)
class Header:
    """The parts of a Conventional Commits header line."""

    type: str
    scope: str | None
    breaking: bool
    description: str


def parse_header(line: str) -> Header | None:
    """Read `type(scope)!: description`, or None when the line is not such a header."""
    match = HEADER_RE.fullmatch(line.strip())
    if match is None:
        return None
    scope = match["scope"]
    return Header(match["type"].lower(), scope.strip() or None if scope is not None else None,
                  match["bang"] is not None, match["desc"].strip())


def split_body(text: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Split what follows the header into the free-text body and its footers.

    spec §6-§10: footers start one blank line after the body; a value may run over several
    lines and ends where the next token/separator pair begins. So footers start at the first
    paragraph whose first line is a footer, and everything after belongs to them.
    """
    lines = text.split("\n")
    start = None
    for index, line in enumerate(lines):
        if (index == 0 or not lines[index - 1].strip()) and FOOTER_RE.match(line):
            start = index
            break
    if start is None:
        return text.strip(), ()
    footers: list[list[str]] = []
    for line in lines[start:]:
        match = FOOTER_RE.match(line)
        if match:
            footers.append([match["token"], match["value"] if match["sep"] == ": " else "#" + match["value"]])
        else:
            footers[-1][1] += "\n" + line
    body = "\n".join(lines[:start]).strip()
    return body, tuple((token, value.strip()) for token, value in footers)


def parse_message(commit: Commit, message: str | None = None) -> ParsedCommit | ParseError:
    """Parse `message` (default: the commit's own) as a Conventional Commit."""
    text = (commit.message if message is None else message).replace("\r\n", "\n").strip("\n")
    first, _, rest = text.partition("\n")
    body, footers = split_body(rest)
    breaking_notes = tuple(value for token, value in footers if token in BREAKING_TOKENS)
    revert = GIT_REVERT_RE.fullmatch(first.strip())
    if revert is not None:
        header = Header("revert", None, False, revert["subject"].strip())
    else:
        header = parse_header(first)
    if header is None:
        reason = "empty message" if not first.strip() else "header is not 'type(scope): description'"
        return ParseError(commit, reason, pr_number(first), bool(breaking_notes))
    reverts = reverted_header = None
    if header.type == "revert":
        shas = REVERTS_SHA_RE.findall(text) or [
            sha for token, value in footers if token.lower() == "refs" for sha in SHA_RE.findall(value)]
        reverts = shas[0] if shas else None
        reverted_header = PR_SUFFIX_RE.sub("", header.description)
        if revert is None and len(reverted_header) > 1 and reverted_header[0] == reverted_header[-1] == '"':
            reverted_header = reverted_header[1:-1]  # revert: "fix: x"
    return ParsedCommit(
        commit=commit,
        type=header.type,
        scope=header.scope,
        description=PR_SUFFIX_RE.sub("", header.description),
        body=body,
        footers=footers,
        # spec §13: "!" marks a breaking change even without a BREAKING CHANGE footer.
        breaking=header.breaking or bool(breaking_notes),
        breaking_notes=breaking_notes or ((header.description,) if header.breaking else ()),
        pr=pr_number(first),
        issues=issue_numbers(footers),
        co_authors=tuple(value for token, value in footers if token.lower() == "co-authored-by"),
        reverts=reverts,
        reverted_header=reverted_header,
    )


def parse_commit(commit: Commit) -> ParsedCommit | ParseError:
    """Parse a commit; a merge commit is read through the PR/MR title it carries."""
    if commit.is_merge:
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
    return _with_pr(parsed, pr)


def _with_pr(parsed: ParsedCommit, pr: int | None) -> ParsedCommit:
    """A copy of `parsed` that names pull/merge request `pr`."""
    return replace(parsed, pr=pr)


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
            description = PR_SUFFIX_RE.sub("", header.description)
            found.append(ParsedCommit(
                commit, header.type, header.scope, description, "", (), header.breaking,
                (description,) if header.breaking else (), pr, line=line[bullet.end():].strip()))
    return tuple(found)


def pr_number(subject: str) -> int | None:
    """The PR/MR number a squash-merge title ends with, as in 'fix: x (#12)'."""
    match = PR_SUFFIX_RE.search(subject)
    return int(match[1]) if match else None


def issue_numbers(footers: tuple[tuple[str, str], ...]) -> tuple[int, ...]:
    """Issue numbers named by Closes/Fixes/Refs footers, in order, without repeats."""
    found: list[int] = []
    for token, value in footers:
        if token.lower() in ISSUE_TOKENS:
            for number in ISSUE_NUMBER_RE.findall(value):
                if int(number) not in found:
                    found.append(int(number))
    return tuple(found)
