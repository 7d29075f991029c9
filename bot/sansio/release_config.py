"""Read the `release:` section of a repository's .shipbot.yml into ReleaseSettings, with defaults.

The keys and their defaults are DESIGN.md's contract; keys added here (`squash_bullets`,
`sections`, `changelog_template`, `forge`, `repo_url`) only add meaning. A bad value raises
ReleaseConfigError naming the key, so `check-config` and the CLI can say exactly what is wrong.
"""
from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

import semver

from bot.sansio.versioning import Bump, TagFormat

DEFAULT_TYPES: Mapping[str, Bump] = MappingProxyType(
    {"feat": Bump.MINOR, "fix": Bump.PATCH, "perf": Bump.PATCH, "deps": Bump.PATCH})
# Keep a Changelog's section names (https://keepachangelog.com/en/1.1.0/#how); a type that
# bumps the version but has no section of its own goes under "Changed".
DEFAULT_SECTIONS: Mapping[str, str] = MappingProxyType({
    "feat": "Added", "perf": "Changed", "deps": "Changed", "deprecate": "Deprecated",
    "remove": "Removed", "fix": "Fixed", "security": "Security", "revert": "Reverted"})
MODES = ("tag", "pr")
FORGES = ("github", "gitlab")


class ReleaseConfigError(ValueError):
    """A `release:` value that cannot be used; the message names the key."""


class ReleaseSettings(NamedTuple):
    """How a repository releases: DESIGN.md's `release:` keys, defaults filled in.

    A NamedTuple, not a dataclass: the dataclasses module (and inspect, which it imports)
    would cost `shipbot next-version` ~9 ms while git is already printing commits.
    """

    tag_format: str = "v{version}"
    branches: tuple[str, ...] = ()  # empty: the default branch
    mode: str = "tag"
    version_files: tuple[str, ...] = ("pyproject.toml",)
    changelog: str | None = "CHANGELOG.md"
    initial_version: str = "0.1.0"
    major_on_zero: bool = False
    types: Mapping[str, Bump] = DEFAULT_TYPES  # read-only mappings: shared safely
    paths: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    announce: str | None = None
    squash_bullets: bool = False
    sections: Mapping[str, str] = DEFAULT_SECTIONS
    changelog_template: str | None = None
    forge: str | None = None
    repo_url: str | None = None
    preview: bool = False
    explicit: frozenset[str] = frozenset()  # keys the file set itself

    @property
    def tags(self) -> TagFormat:
        """The tag format as an object that formats and parses tags."""
        return TagFormat(self.tag_format)


def release_settings(mapping: Mapping[str, object] | None) -> ReleaseSettings:
    """Build ReleaseSettings from a parsed `release:` mapping (None or {} gives the defaults)."""
    if mapping is None:
        return ReleaseSettings()
    if not isinstance(mapping, Mapping):
        raise ReleaseConfigError("release: must be a mapping")
    values: dict[str, object] = {}
    for key, value in mapping.items():
        reader = READERS.get(key)
        if reader is None:
            known = ", ".join(sorted(READERS))
            raise ReleaseConfigError(f"release.{key}: unknown key; known: {known}")
        values[key] = reader(f"release.{key}", value)
    return ReleaseSettings(**values, explicit=frozenset(values))


def _text(key: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ReleaseConfigError(f"{key}: expected a non-empty string, got {value!r}")
    return value


def _optional_text(key: str, value: object) -> str | None:
    return None if value is None or value is False else _text(key, value)


def _texts(key: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ReleaseConfigError(f"{key}: expected a list of strings, got {value!r}")
    return tuple(_text(f"{key}[{i}]", item) for i, item in enumerate(value))


def _flag(key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ReleaseConfigError(f"{key}: expected true or false, got {value!r}")
    return value


def _tag_format(key: str, value: object) -> str:
    text = _text(key, value)
    if text.count("{version}") != 1:
        raise ReleaseConfigError(f"{key}: must contain {{version}} exactly once, got {text!r}")
    return text


def _version(key: str, value: object) -> str:
    text = _text(key, str(value) if isinstance(value, (int, float)) else value)
    if not semver.Version.is_valid(text):
        raise ReleaseConfigError(f"{key}: {text!r} is not a semantic version such as 0.1.0")
    return text


def _choice(choices: tuple[str, ...]):
    def read(key: str, value: object) -> str:
        if value not in choices:
            raise ReleaseConfigError(f"{key}: {value!r} is not one of {', '.join(choices)}")
        return str(value)
    return read


def _types(key: str, value: object) -> Mapping[str, Bump]:
    if not isinstance(value, Mapping):
        raise ReleaseConfigError(f"{key}: expected a mapping of commit type to bump")
    types = {}
    for name, bump in value.items():
        label = "none" if bump is None or bump is False else bump
        if label not in Bump.labels():
            choices = ", ".join(Bump.labels())
            raise ReleaseConfigError(f"{key}.{name}: {bump!r} is not one of {choices}")
        types[str(name).lower()] = Bump.from_label(str(label))
    return MappingProxyType(types)


def _sections(key: str, value: object) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        raise ReleaseConfigError(f"{key}: expected a mapping of commit type to section title")
    return MappingProxyType({str(name).lower(): _text(f"{key}.{name}", title)
                             for name, title in value.items() if title is not None})


READERS = {
    "tag_format": _tag_format,
    "branches": _texts,
    "mode": _choice(MODES),
    "version_files": _texts,
    "changelog": _optional_text,
    "initial_version": _version,
    "major_on_zero": _flag,
    "types": _types,
    "paths": _texts,
    "allow": _texts,
    "announce": _optional_text,
    "squash_bullets": _flag,
    "sections": _sections,
    "changelog_template": _optional_text,
    "forge": _choice(FORGES),
    "repo_url": _optional_text,
    "preview": _flag,
}
