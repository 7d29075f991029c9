"""/shipbot audit answers with the repository's recent commands and decisions."""
from __future__ import annotations

from tests.conftest import deliver
from tests.handlers.test_release import arrange, comment


class TestAuditCommand:
    async def test_writers_see_recent_decisions(self, fake_services):
        """After a refused and an accepted command, the audit answer lists both with who and what."""
        services = fake_services()
        forge = services.forges["github"]
        arrange(forge)
        await deliver(services, "github", "issue_comment", comment("/release", "dev"))
        await deliver(services, "github", "issue_comment", comment("/release --dry-run", "maintainer"))
        await deliver(services, "github", "issue_comment", comment("/shipbot audit", "dev"))
        answer = forge.writes("create_comment")[-1]["body"]
        assert "| github:maintainer | `/release --dry-run` | release-dry-run |" in answer
        assert "| github:dev | `/release` | refused |" in answer

    async def test_readers_are_refused(self, fake_services):
        """Without write access the audit log is not shown."""
        services = fake_services()
        forge = services.forges["github"]
        arrange(forge)
        await deliver(services, "github", "issue_comment", comment("/shipbot audit", "visitor"))
        assert "shown to people with write access; visitor has none" in forge.writes("create_comment")[-1]["body"]
