"""Record the writes shipbot would make, for dry-run and `shipbot replay`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import structlog

log = structlog.get_logger("shipbot.dry_run")


@dataclass(frozen=True)
class Write:
    """One write that was recorded instead of sent."""

    target: str  # "github" | "gitlab" | "slack"
    action: str
    data: dict[str, Any]


@dataclass
class WriteLog:
    """Every recorded write, in order; each is also logged."""

    writes: list[Write] = field(default_factory=list)
    keep: int = 1000

    def record(self, target: str, action: str, **data: Any) -> Write:
        write = Write(target, action, {k: v for k, v in data.items() if v is not None})
        self.writes.append(write)
        del self.writes[:-self.keep]
        log.info("dry_run_write", target=target, action=action, **{k: _short(v) for k, v in write.data.items()})
        return write


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 200:
        return value[:200] + "…"
    return value
