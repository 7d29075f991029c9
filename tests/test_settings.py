"""Environment settings: validated once, one clear line on a wrong value."""
from __future__ import annotations

import pytest

from bot.settings import Settings, SettingsError, secrets_of


def settings(**env):
    return Settings.from_env(env)


class TestDatabaseUrl:
    @pytest.mark.parametrize("given, expected", [
        ("sqlite:///shipbot.db", "sqlite+aiosqlite:///shipbot.db"),
        ("postgres://u:p@h/db", "postgresql+asyncpg://u:p@h/db"),
        ("postgresql://u@h:5432/db", "postgresql+asyncpg://u@h:5432/db"),
        ("postgresql+psycopg2://u@h/db", "postgresql+asyncpg://u@h/db"),
    ])
    def test_plain_forms_map_to_async_drivers(self, given, expected):
        """The sqlite/postgres/postgresql forms get the async drivers."""
        assert settings(SHIPBOT_DATABASE_URL=given).database_url == expected

    def test_default_is_embedded_sqlite(self):
        """With nothing set, the bot uses sqlite:///shipbot.db."""
        assert settings().database_url == "sqlite+aiosqlite:///shipbot.db"

    def test_heroku_database_url_is_used_when_ours_is_unset(self):
        """DATABASE_URL (Heroku's) is read when SHIPBOT_DATABASE_URL is unset, and loses when it is set."""
        assert settings(DATABASE_URL="postgres://h/db", DYNO="web.1").database_url == "postgresql+asyncpg://h/db"
        assert settings(DATABASE_URL="postgres://h/db", SHIPBOT_DATABASE_URL="postgres://h/other").database_url.endswith("/other")

    @pytest.mark.parametrize("platform_env, name", [({"DYNO": "web.1"}, "Heroku"),
                                                    ({"GAE_APPLICATION": "s~app"}, "Google App Engine")])
    def test_sqlite_refused_on_ephemeral_disks(self, platform_env, name):
        """On Heroku and App Engine SQLite would lose events at the next restart: refused, with the fix."""
        with pytest.raises(SettingsError) as err:
            settings(**platform_env)
        assert name in str(err.value) and "postgresql://" in str(err.value)

    def test_unknown_scheme(self):
        """A MySQL URL is refused with the supported forms."""
        with pytest.raises(SettingsError, match="sqlite:/// or postgresql://"):
            settings(SHIPBOT_DATABASE_URL="mysql://h/db")


class TestSources:
    def test_no_credentials_means_dry_run_with_a_reason(self):
        """With no credentials at all the bot starts in dry-run and can say why."""
        s = settings()
        assert s.dry_run and "no forge or chat credentials" in s.dry_run_reason
        assert s.sources == ()

    def test_a_source_is_enabled_by_its_secret(self):
        """Setting a webhook secret enables that source only."""
        s = settings(GITLAB_WEBHOOK_SECRET="x")
        assert s.sources == ("gitlab",)

    def test_two_secrets_while_rotating(self):
        """A secret may hold old,new while it is rotated; three is a mistake."""
        assert len(settings(GITHUB_WEBHOOK_SECRET="old, new").github.webhook_secrets) == 2
        with pytest.raises(SettingsError, match="at most two"):
            settings(GITHUB_WEBHOOK_SECRET="a,b,c")

    def test_credentials_turn_dry_run_off_unless_asked(self):
        """A token makes writes real; SHIPBOT_DRY_RUN=true keeps them recorded."""
        assert not settings(GITHUB_TOKEN="t").dry_run
        assert settings(GITHUB_TOKEN="t", SHIPBOT_DRY_RUN="true").dry_run

    @pytest.mark.parametrize("env, fragment", [
        ({"SHIPBOT_DRY_RUN": "maybe"}, "SHIPBOT_DRY_RUN"),
        ({"SHIPBOT_RETENTION_DAYS": "ten"}, "SHIPBOT_RETENTION_DAYS"),
        ({"SHIPBOT_RETENTION_DAYS": "0"}, "at least 1"),
        ({"GITHUB_API_URL": "ftp://x"}, "GITHUB_API_URL"),
        ({"GITHUB_APP_ID": "12"}, "GITHUB_PRIVATE_KEY"),
        ({"GITLAB_TOKEN": "t"}, "GITLAB_URL"),
        ({"SHIPBOT_SLACK_CHANNELS": "C1=octo/widget"}, "C0123=github:owner/name"),
        ({"GITHUB_PRIVATE_KEY_PATH": "/nonexistent/key.pem"}, "cannot be read"),
    ])
    def test_wrong_values_stop_start_up_with_one_line(self, env, fragment):
        """Each wrong value is named in a single line."""
        with pytest.raises(SettingsError) as err:
            settings(**env)
        assert fragment in str(err.value) and "\n" not in str(err.value)

    def test_slack_channel_presets(self):
        """SHIPBOT_SLACK_CHANNELS links channels to one or more repositories."""
        s = settings(SHIPBOT_SLACK_CHANNELS="C1=github:o/r, C2=gitlab:g/p,C1=github:o/s")
        assert s.slack.channels == {"C1": "github:o/r,github:o/s", "C2": "gitlab:g/p"}

    def test_secrets_are_hidden_in_reprs_and_listed_for_redaction(self):
        """Secrets never show in a repr; secrets_of lists them for the log redactor."""
        s = settings(GITHUB_WEBHOOK_SECRET="topsecret1", SLACK_BOT_TOKEN="xoxb-123456",
                     SHIPBOT_DATABASE_URL="postgresql://u:dbpass99@h/db")
        assert "topsecret1" not in repr(s) and "xoxb-123456" not in repr(s)
        assert {"topsecret1", "xoxb-123456", "dbpass99"} <= set(secrets_of(s))
