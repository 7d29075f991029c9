"""Load a repository's `.shipbot.yml` from its default branch through the Forge, with a short cache."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bot.errors import ConfigError
from bot.forge.base import Forge
from bot.sansio.events import RepoRef
from bot.sansio.repoconfig import CONFIG_PATHS, RepoConfig, parse

# Replicas do not share the cache: a push seen by one replica clears only its own copy, so entries
# also expire on their own after this long.
CACHE_SECONDS = 300.0


class ConfigLoader:
    """Read, validate and cache repository configs; invalid ones raise ConfigError every time."""

    def __init__(self, ttl: float = CACHE_SECONDS, clock=time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[str, tuple[float, RepoConfig | ConfigError]] = {}

    async def load(self, forge: Forge, repo: RepoRef) -> RepoConfig:
        key = str(repo)
        cached = self._cache.get(key)
        if cached and self.clock() - cached[0] < self.ttl:
            result = cached[1]
        else:
            result = await self._read(forge, repo)
            self._cache[key] = (self.clock(), result)
        if isinstance(result, ConfigError):
            raise result
        return result

    async def _read(self, forge: Forge, repo: RepoRef) -> RepoConfig | ConfigError:
        for path in CONFIG_PATHS:
            text = await forge.read_file(repo, path)
            if text is not None:
                try:
                    return parse(text, path)
                except ConfigError as exc:
                    return ConfigError(f"shipbot's configuration in {repo} is invalid, so nothing was done:\n"
                                       f"{exc.message}\nFix it on the default branch; "
                                       f"`shipbot check-config {path}` checks it locally.")
        return RepoConfig()

    def invalidate(self, repo: RepoRef) -> None:
        self._cache.pop(str(repo), None)


def check_config_main(args: argparse.Namespace) -> int:
    """`shipbot check-config [FILE]`: exit 0 when valid, 1 with `file:line: key: reason` lines otherwise."""
    if args.file:
        candidates = [Path(args.file)]
    else:
        candidates = [Path(p) for p in CONFIG_PATHS if Path(p).exists()]
        if not candidates:
            print("no .shipbot.yml or .github/shipbot.yml here; the defaults apply")
            return 0
    path = candidates[0]
    try:
        text = path.read_text()
    except OSError as exc:
        print(f"shipbot: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        config = parse(text, str(path))
    except ConfigError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    envs = ", ".join(e.name for e in config.environments) or "any (none listed)"
    print(f"{path}: valid. release tag format {config.section('release')['tag_format']!r}, "
          f"mode {config.section('release')['mode']}; deploy environments: {envs}")
    return 0
