"""Parse and validate `.shipbot.yml` against the published JSON Schema, with line numbers in errors."""
from __future__ import annotations

import copy
import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.errors import ConfigError

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema" / "shipbot.schema.json"
CONFIG_PATHS = (".shipbot.yml", ".github/shipbot.yml")
PRODUCTION_NAMES = ("production", "prod")
# The file comes from whoever can push to the default branch. A real one is a few KB; YAML aliases
# can make a small file stand for billions of values ("billion laughs"), so the values it expands
# to are counted before anything walks them, and a broken file gets a readable list of problems.
MAX_CONFIG_CHARS = 256 * 1024
MAX_VALUES = 50_000
MAX_PROBLEMS = 20
MAX_PROBLEM_CHARS = 300

DEFAULTS: dict[str, Any] = {
    "chat": {"slack_channels": []},
    "release": {
        "tag_format": "v{version}", "branches": [], "mode": "tag", "version_files": [], "changelog": "CHANGELOG.md",
        "changelog_template": None, "initial_version": "0.1.0", "major_on_zero": False,
        "types": {"feat": "minor", "fix": "patch", "perf": "patch", "deps": "patch"}, "squash_bullets": False,
        "paths": [], "allow": [], "announce": None, "preview": False,
    },
    "test_report": {"comment": "always", "junit": [], "notify": None, "max_failures": 10},
    "deploy": {"method": None, "workflow": None, "lock_ttl": "4h", "confirm_ttl": "5m", "timeout": "1h",
               "environments": None},
    "dora": {"hotfix_window": "24h", "hotfix_refs": ["hotfix/*", "hotfix-*"]},
}
_schema: dict | None = None


def schema() -> dict:
    """The published JSON Schema (bot/schema/shipbot.schema.json)."""
    global _schema
    if _schema is None:
        _schema = json.loads(SCHEMA_PATH.read_text())
    return _schema


@dataclass(frozen=True)
class Environment:
    """One deploy environment after defaults: who may deploy, whether to confirm, which refs."""

    name: str
    aliases: tuple[str, ...] = ()
    allow: tuple[str, ...] | None = None  # None: the base check
    confirm: bool = False
    branches: tuple[str, ...] = ()
    require_checks: bool = False
    url: str | None = None
    workflow: str | None = None
    job: str | None = None
    production: bool = False


@dataclass(frozen=True)
class RepoConfig:
    """A repository's settings with the defaults filled in; `path` is None when there is no file."""

    data: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(DEFAULTS))
    path: str | None = None
    given: dict[str, Any] = field(default_factory=dict)  # the file as written, without defaults

    def section(self, name: str) -> dict[str, Any]:
        return self.data[name]

    def environment(self, name: str) -> Environment:
        """Resolve a name or alias; LookupError names the known environments for an unknown one."""
        envs = self.data["deploy"]["environments"]
        if envs is None:
            # No environments listed: any name exists; production needs an explicit allow and confirmation.
            if name.lower() in PRODUCTION_NAMES:
                return Environment("production" if name.lower() == "prod" else name, allow=(), confirm=True,
                                   require_checks=True, production=True)
            return Environment(name)
        for env_name, raw in envs.items():
            raw = raw or {}
            if name == env_name or name in (raw.get("aliases") or ()):
                return _environment(env_name, raw)
        known = ", ".join(envs)
        close = difflib.get_close_matches(name, [*envs, *(a for r in envs.values() for a in (r or {}).get("aliases", []))], 1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise LookupError(f"unknown environment '{name}'; known: {known}{hint}")

    @property
    def environments(self) -> list[Environment]:
        envs = self.data["deploy"]["environments"] or {}
        return [_environment(name, raw or {}) for name, raw in envs.items()]

    @property
    def production_environments(self) -> frozenset[str]:
        """Names of the environments the DORA metrics treat as production."""
        if self.data["deploy"]["environments"] is None:
            return frozenset(PRODUCTION_NAMES)  # deploys to `prod` are recorded as `production`
        return frozenset(env.name for env in self.environments if env.production)


def _environment(name: str, raw: dict) -> Environment:
    named_prod = name.lower() in PRODUCTION_NAMES
    is_prod = bool(raw.get("production", named_prod))
    # `production: false` only leaves the metrics; an environment named production keeps its guards.
    strict = is_prod or named_prod
    allow = raw.get("allow")
    return Environment(
        name=name, aliases=tuple(raw.get("aliases") or ()),
        allow=tuple(allow) if allow is not None else (() if strict else None),
        confirm=bool(raw.get("confirm", strict)), branches=tuple(raw.get("branches") or ()),
        require_checks=bool(raw.get("require_checks", False)), url=raw.get("url"),
        workflow=raw.get("workflow"), job=raw.get("job"), production=is_prod)


def duration_seconds(text: str) -> int:
    """`30s`, `10m`, `4h`, `2d` in seconds (the schema guarantees the form)."""
    match = re.fullmatch(r"([1-9][0-9]*)([smhd])", text)
    if not match:
        raise ValueError(f"not a duration: {text!r}")
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def _merge(defaults: dict, given: dict) -> dict:
    merged = copy.deepcopy(defaults)
    for key, value in given.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key not in ("types", "environments"):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _line_of(node: yaml.Node | None, path: list) -> int | None:
    """The 1-based line of the YAML node at `path` (the nearest existing parent if it is missing)."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in path:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if k.value == str(key)), None)
            if found is None:
                break
            line, node = found[0].start_mark.line + 1, found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _describe(error, known_keys: dict[str, list[str]]) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties":
        unexpected = re.findall(r"'([^']+)' (?:was|were) unexpected", error.message) or re.findall(r"'([^']+)'", error.message)
        options = known_keys.get(where, [])
        hints = []
        for key in unexpected:
            close = difflib.get_close_matches(key, options, 1)
            hints.append(f"unknown key '{key}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        allowed = f"; allowed: {', '.join(options)}" if options else ""
        return f"{where}: {', '.join(hints)}{allowed}"
    defs = schema()["$defs"]
    if error.validator == "pattern" and error.schema == defs["principal"]:
        return f"{where}: {error.instance!r} is not a principal; use {defs['principal']['description']}"
    if error.validator == "pattern" and error.schema == defs["duration"]:
        return f"{where}: {error.instance!r} is not a duration; use 30s, 10m, 4h or 2d"
    if error.validator == "pattern" and error.schema.get("pattern") == defs["slack_channel"]["pattern"]:
        return f"{where}: {error.instance!r} is not a Slack channel; use #name or a channel id like C0123ABC"
    if error.validator == "enum":
        return f"{where}: {error.instance!r} is not one of {', '.join(map(repr, error.validator_value))}"
    return f"{where}: {error.message}"


def _known_keys() -> dict[str, list[str]]:
    s = schema()
    keys = {"(top level)": list(s["properties"])}
    for name, sub in s["properties"].items():
        keys[name] = list(sub.get("properties", {}))
    env_keys = list(s["$defs"]["environment"]["properties"])
    return {**keys, "__environment__": env_keys}


def _expanded_size(node: yaml.Node, sizes: dict[int, int | None]) -> int:
    """How many values the node stands for once every alias is expanded; ValueError for a cycle."""
    key = id(node)
    if key in sizes:
        if sizes[key] is None:
            raise ValueError("an alias refers to a value that contains it")
        return sizes[key]  # type: ignore[return-value]
    sizes[key] = None
    if isinstance(node, yaml.SequenceNode):
        total = 1 + sum(_expanded_size(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total = 1 + sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
    else:
        total = 1
    sizes[key] = min(total, MAX_VALUES + 1)
    return sizes[key]  # type: ignore[return-value]


def _load(text: str, path: str) -> tuple[yaml.Node | None, Any]:
    if len(text) > MAX_CONFIG_CHARS:
        raise ConfigError(f"{path}:1: the file is larger than {MAX_CONFIG_CHARS // 1024} KB; "
                          f"shipbot's configuration needs a few KB")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None:
            if _expanded_size(node, {}) > MAX_VALUES:
                raise ConfigError(f"{path}:1: the file holds more than {MAX_VALUES:,} values, "
                                  f"counting each use of a YAML alias")
        return node, yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{line}: not valid YAML: {problem}") from None
    except ValueError as exc:  # a cycle of aliases
        raise ConfigError(f"{path}:1: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}:1: the file nests lists or mappings too deeply") from None


def _alias_clashes(given: dict, node: yaml.Node | None, path: str) -> list[tuple[int, str]]:
    """An alias that is also another environment's name (or alias) would make `/deploy <it>` ambiguous."""
    envs = (given.get("deploy") or {}).get("environments") or {}
    owner: dict[str, str] = {name: name for name in envs}
    problems = []
    for name, raw in envs.items():
        for index, alias in enumerate((raw or {}).get("aliases") or ()):
            if owner.get(alias, name) != name:
                line = _line_of(node, ["deploy", "environments", name, "aliases", index]) or 1
                other = owner[alias]
                what = "the name" if alias == other else "an alias"
                problems.append((line, f"{path}:{line}: deploy.environments.{name}.aliases: '{alias}' is "
                                       f"already {what} of environment '{other}'"))
            owner.setdefault(alias, name)
    return problems


def parse(text: str, path: str = ".shipbot.yml") -> RepoConfig:
    """Validate and fill in defaults; ConfigError names the file, line and key of every problem."""
    node, given = _load(text, path)
    if given is None:
        return RepoConfig(path=path)
    if not isinstance(given, dict):
        raise ConfigError(f"{path}:1: the file must be a mapping of sections (chat, release, test_report, deploy, dora)")
    import jsonschema  # loads only when a repository has a file to check

    validator = jsonschema.Draft202012Validator(schema())
    known = _known_keys()
    problems: list[tuple[int, str]] = []
    for error in validator.iter_errors(given):
        where = [str(p) for p in error.absolute_path]
        if len(where) >= 3 and where[:2] == ["deploy", "environments"]:
            known[".".join(where[:3])] = known["__environment__"]
        at = list(error.absolute_path)
        if error.validator == "additionalProperties":  # point at the unexpected key itself
            at += re.findall(r"'([^']+)' (?:was|were) unexpected", error.message)[:1]
        line = _line_of(node, at) or 1
        problems.append((line, _shorten(f"{path}:{line}: {_describe(error, known)}")))
        if len(problems) > MAX_PROBLEMS:
            break
    if not problems:
        problems = _alias_clashes(given, node, path)
    if problems:
        listed = sorted(problems)[:MAX_PROBLEMS]
        more = ["… and more; fix these first"] if len(problems) > MAX_PROBLEMS else []
        raise ConfigError("\n".join([text for _, text in listed] + more))
    return RepoConfig(_merge(DEFAULTS, given), path, given)


def _shorten(problem: str) -> str:
    # jsonschema quotes the whole offending value, which may be any size.
    return problem if len(problem) <= MAX_PROBLEM_CHARS else problem[:MAX_PROBLEM_CHARS - 1] + "…"
