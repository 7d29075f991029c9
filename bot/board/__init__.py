"""The environments board: what is deployed where, locks, recent deploys and releases, queue health."""
from __future__ import annotations


def add_routes(app) -> None:
    """Register `/board`, `/board/login`, `/board/logout` and `/api/board` on the app."""
    from bot.board.views import add_routes as register

    register(app)
