"""DryRunForge's optional features: reads pass through or answer neutrally, redeliveries are recorded."""
from __future__ import annotations

import pytest

from bot.forge.base import Artifact, Check, NotFound
from bot.forge.dryrun import DryRunForge
from bot.sansio.events import RepoRef

REPO = RepoRef("github", "octo/hello")


class TestOffline:
    async def test_reads_are_neutral(self):
        """Without credentials there are no artifacts or deliveries, and a check keeps its own annotations."""
        forge = DryRunForge("github")
        check = Check(1, "test", "completed", "failure", annotations=({"message": "boom"},))
        assert await forge.list_artifacts(REPO, 1) == []
        assert await forge.list_deliveries() == []
        assert await forge.list_annotations(REPO, check) == [{"message": "boom"}]
        with pytest.raises(NotFound, match="without credentials"):
            await forge.download_artifact(REPO, Artifact(1, "junit"))

    async def test_redeliver_recorded(self):
        """A redelivery is a write: recorded, not sent."""
        forge = DryRunForge("github")
        await forge.redeliver(77)
        assert [(w.action, w.data) for w in forge.writes.writes] == [("redeliver", {"delivery_id": 77})]


class TestThroughRealAdapter:
    async def test_reads_go_to_inner(self, github_api):
        """With a real adapter inside, reads reach GitHub (here Prism) and redeliveries do not."""
        forge = DryRunForge("github", github_api.forge(app=True))
        assert await forge.list_deliveries()
        await forge.redeliver(1)
        assert [c.path for c in github_api.calls] == ["/app/hook/deliveries"]
