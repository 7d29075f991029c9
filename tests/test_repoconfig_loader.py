"""Repository configs read through the real GitLab adapter: defaults, cache, invalidation on push, errors."""
from __future__ import annotations

import pytest

from bot.errors import ConfigError
from bot.forge.gitlab import GitLabForge
from bot.repoconfig import ConfigLoader
from bot.sansio.events import RepoRef
from bot.settings import GitLabSettings, Secret
from tests.conftest import deliver, make_settings
from tests.peers import gitlab_payload

REPO = RepoRef("gitlab", "acme/api", 42)
RAW = "/api/v4/projects/42/repository/files/{}/raw"
NOT_FOUND = {"message": "404 File Not Found"}


@pytest.fixture
async def gitlab(recorder):
    forge = GitLabForge(GitLabSettings(url=recorder.url, token=Secret("glpat-x")))
    yield forge
    await forge.close()


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class TestLoader:
    async def test_no_file_means_defaults_and_github_path_is_tried(self, gitlab, recorder):
        """With neither .shipbot.yml nor .github/shipbot.yml the defaults apply."""
        recorder.on("GET", RAW.format(".shipbot.yml"), status=404, json=NOT_FOUND)
        recorder.on("GET", RAW.format(".github%2Fshipbot.yml"), status=404, json=NOT_FOUND)
        recorder.on("GET", RAW.format(".github/shipbot.yml"), status=404, json=NOT_FOUND)
        config = await ConfigLoader().load(gitlab, REPO)
        assert config.path is None and config.section("release")["tag_format"] == "v{version}"
        assert len(recorder.requests) == 2

    async def test_cached_until_ttl_or_invalidation(self, gitlab, recorder):
        """A config is read once, then served from the cache until it expires or is invalidated."""
        recorder.on("GET", RAW.format(".shipbot.yml"), body=b"release:\n  tag_format: 'api-v{version}'\n")
        clock = FakeClock()
        loader = ConfigLoader(ttl=60, clock=clock)
        for _ in range(3):
            assert (await loader.load(gitlab, REPO)).section("release")["tag_format"] == "api-v{version}"
        assert len(recorder.requests) == 1
        clock.now = 61
        await loader.load(gitlab, REPO)
        loader.invalidate(REPO)
        await loader.load(gitlab, REPO)
        assert len(recorder.requests) == 3

    async def test_invalid_file_says_where_and_how_to_check(self, gitlab, recorder):
        """An invalid file raises ConfigError naming file, line and key, and the command that checks it."""
        recorder.on("GET", RAW.format(".shipbot.yml"), body=b"deploy:\n  timeout: forever\n")
        with pytest.raises(ConfigError) as err:
            await ConfigLoader().load(gitlab, REPO)
        assert ".shipbot.yml:2: deploy.timeout: 'forever' is not a duration" in err.value.message
        assert "shipbot check-config .shipbot.yml" in err.value.message


class TestInvalidationOnPush:
    async def test_push_to_default_branch_touching_config_clears_cache(self, fake_services):
        """A push to the default branch that changes .shipbot.yml makes the next read fetch it again."""
        services = fake_services(GITLAB_WEBHOOK_SECRET="s")
        forge = services.forges["gitlab"]
        repo = RepoRef("gitlab", "mike/diaspora")
        forge.repo("mike/diaspora").default_branch = "master"
        forge.repo("mike/diaspora").files["master", ".shipbot.yml"] = "release:\n  mode: tag\n"
        assert (await services.configs.load(forge, repo)).section("release")["mode"] == "tag"
        forge.repo("mike/diaspora").files["master", ".shipbot.yml"] = "release:\n  mode: pr\n"
        push = gitlab_payload("push.json")
        push["ref"] = "refs/heads/master"
        push["commits"][0]["modified"] = [".shipbot.yml"]
        assert (await deliver(services, "gitlab", "Push Hook", push))["status"] == "done"
        assert (await services.configs.load(forge, repo)).section("release")["mode"] == "pr"
