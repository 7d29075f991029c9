"""Read and write the version in project files, changing nothing else in them.

TOML goes through tomlkit (it keeps comments, spacing and quote style); JSON, setup.cfg,
`__version__` and plain text files get a targeted edit of the one value, located exactly.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import tomlkit
from tomlkit.items import String

PY_VERSION_RE = re.compile(r"""^(__version__\s*(?::\s*str\s*)?=\s*)(['"])([^'"\n]+)\2""", re.M)
CFG_SECTION_RE = re.compile(r"^\[(?P<name>[^\]]+)\]\s*$", re.M)
CFG_VERSION_RE = re.compile(r"^(version[ \t]*[=:][ \t]*)(\S[^\r\n]*?)([ \t]*)\r?$", re.M)
PLAIN_VERSION_RE = re.compile(r"\A(\s*v?)(\d+\.\d+\.\d+[0-9A-Za-z.+-]*)(\s*)\Z")
JSON_TOKEN_RE = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+')


class VersionFileError(ValueError):
    """A file whose version cannot be read or written; the message names the file."""


@dataclass(frozen=True)
class FileEdit:
    """A planned change to one file: its whole text before and after."""

    path: Path
    old_version: str
    before: str
    after: str


def read_version(path: Path) -> str:
    """The version a file holds."""
    text = _read(path)
    return set_version_text(path.name, text, None)[1]


def plan_edit(path: Path, new_version: str) -> list[FileEdit]:
    """The edits that set `path` to `new_version`; package.json brings its package-lock.json."""
    text = _read(path)
    after, old = set_version_text(path.name, text, new_version)
    edits = [FileEdit(path, old, text, after)]
    lock = path.with_name("package-lock.json")
    if path.name == "package.json" and lock.exists():
        lock_text = _read(lock)
        lock_after, lock_old = set_version_text(lock.name, lock_text, new_version)
        edits.append(FileEdit(lock, lock_old, lock_text, lock_after))
    return edits


def _read(path: Path) -> str:
    """A file's text exactly: no newline translation, so CRLF files stay CRLF."""
    return path.read_bytes().decode("utf-8")


def apply_edit(edit: FileEdit) -> None:
    """Write an edit, byte for byte what was planned."""
    edit.path.write_bytes(edit.after.encode("utf-8"))


def set_version_text(name: str, text: str, new: str | None) -> tuple[str, str]:
    """(text with the version set to `new`, old version); `new` None only reads it."""
    if name == "pyproject.toml":
        return _toml(name, text, new, (("project",), ("tool", "poetry")))
    if name == "Cargo.toml":
        return _toml(name, text, new, (("package",), ("workspace", "package")))
    if name == "package.json":
        return _json(name, text, new, (("version",),))
    if name == "package-lock.json":
        # lockfileVersion 2 and 3 repeat the root package's version under packages[""].
        return _json(name, text, new, (("version",), ("packages", "", "version")))
    if name == "setup.cfg":
        return _setup_cfg(name, text, new)
    if name.endswith(".py"):
        return _python(name, text, new)
    return _plain(name, text, new)


def _toml(name: str, text: str, new: str | None, tables: tuple[tuple[str, ...], ...]) -> tuple[str, str]:
    try:
        document = tomlkit.parse(text)
    except Exception as error:  # tomlkit raises several unrelated types
        raise VersionFileError(f"{name}: not valid TOML ({error})") from None
    for keys in tables:
        table = document
        for key in keys:
            table = table.get(key) if hasattr(table, "get") else None
        if table is None or "version" not in table:
            continue
        item = table["version"]
        if not isinstance(item, String):
            # e.g. Cargo's `version.workspace = true`: the version lives in another file.
            raise VersionFileError(f"{name}: [{'.'.join(keys)}] version is not a literal string")
        if new is not None:
            table["version"] = String.from_raw(new, type_=item.type)
        return (tomlkit.dumps(document) if new is not None else text), str(item)
    wanted = " or ".join(f"[{'.'.join(keys)}] version" for keys in tables)
    raise VersionFileError(f"{name}: no {wanted}")


def _json(name: str, text: str, new: str | None, paths: tuple[tuple[str, ...], ...]) -> tuple[str, str]:
    try:
        json.loads(text)
    except ValueError as error:
        raise VersionFileError(f"{name}: not valid JSON ({error})") from None
    spans = _json_string_spans(text, set(paths))
    if paths[0] not in spans:
        raise VersionFileError(f"{name}: no top-level \"version\"")
    old = json.loads(text[slice(*spans[paths[0]])])
    if new is None:
        return text, old
    for start, end in sorted(spans.values(), reverse=True):
        text = text[:start] + json.dumps(new) + text[end:]
    return text, old


def _json_string_spans(text: str, wanted: set[tuple[str, ...]]) -> dict[tuple[str, ...], tuple[int, int]]:
    """Where the string values at the `wanted` key paths sit in `text` (already valid JSON)."""
    spans: dict[tuple[str, ...], tuple[int, int]] = {}
    stack: list[list] = []  # per open container: [is_object, current key]
    expecting_key = False
    for match in JSON_TOKEN_RE.finditer(text):
        token = match.group()
        if token in "{[":
            stack.append([token == "{", None])
            expecting_key = token == "{"
        elif token in "}]":
            stack.pop()
        elif token == ",":
            expecting_key = bool(stack) and stack[-1][0]
        elif token == ":":
            expecting_key = False
        elif stack and stack[-1][0] and expecting_key:
            stack[-1][1] = json.loads(token)
        else:
            path = tuple(frame[1] for frame in stack if frame[0])
            if len(path) == len(stack) and path in wanted and token.startswith('"'):
                spans[path] = match.span()
    return spans


def _setup_cfg(name: str, text: str, new: str | None) -> tuple[str, str]:
    sections = list(CFG_SECTION_RE.finditer(text))
    for index, section in enumerate(sections):
        if section["name"].strip() != "metadata":
            continue
        end = sections[index + 1].start() if index + 1 < len(sections) else len(text)
        match = CFG_VERSION_RE.search(text, section.end(), end)
        if match is None:
            break
        old = match.group(2)
        if old.startswith(("attr:", "file:")):
            raise VersionFileError(f"{name}: [metadata] version is read from elsewhere ({old})")
        if new is None:
            return text, old
        return text[:match.start(2)] + new + text[match.end(2):], old
    raise VersionFileError(f"{name}: no [metadata] version")


def _python(name: str, text: str, new: str | None) -> tuple[str, str]:
    match = PY_VERSION_RE.search(text)
    if match is None:
        raise VersionFileError(f"{name}: no __version__ = \"…\" line")
    if new is None:
        return text, match.group(3)
    return text[:match.start(3)] + new + text[match.end(3):], match.group(3)


def _plain(name: str, text: str, new: str | None) -> tuple[str, str]:
    match = PLAIN_VERSION_RE.match(text)
    if match is None:
        raise VersionFileError(f"{name}: expected a file holding only a version such as 1.2.3")
    if new is None:
        return text, match.group(2)
    return match.group(1) + new + match.group(3), match.group(2)
