"""`.shipbot.yml`: defaults with no file, schema validation with line numbers, environment rules."""
from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest

from bot.errors import ConfigError
from bot.sansio.repoconfig import DEFAULTS, SCHEMA_PATH, RepoConfig, duration_seconds, parse

DESIGN_EXAMPLE = """
chat:
  slack_channels: [C0123DEPLOY]
release:
  tag_format: "v{version}"
  branches: [main]
  mode: tag
  version_files: [pyproject.toml]
  changelog: CHANGELOG.md
  initial_version: 0.1.0
  major_on_zero: false
  types: {feat: minor, fix: patch, perf: patch, deps: patch}
  paths: []
  allow: ["github:octocat"]
  announce: "#releases"
test_report:
  comment: always
  junit: ["**/junit*.xml"]
  notify: "#ci"
deploy:
  method: deployment
  workflow: deploy.yml
  lock_ttl: 4h
  confirm_ttl: 5m
  timeout: 1h
  environments:
    staging:
      allow: ["*"]
    production:
      aliases: [prod]
      allow: ["github:octocat", "github-team:org/ops", "gitlab:jdoe", "gitlab-group:org/ops",
              "slack:U0123ABC", "slack-group:S0456DEF"]
      confirm: true
      branches: [main]
      require_checks: true
"""


class TestSchema:
    def test_schema_is_valid_and_defaults_pass_it(self):
        """The published schema is itself valid, and the defaults satisfy it."""
        schema = json.loads(SCHEMA_PATH.read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        jsonschema.validate({k: v for k, v in DEFAULTS.items() if k != "deploy"}, schema)

    def test_design_example_is_valid(self):
        """The example in DESIGN.md parses, with its values."""
        config = parse(DESIGN_EXAMPLE)
        assert config.section("release")["allow"] == ["github:octocat"]
        prod = config.environment("prod")
        assert prod.name == "production" and prod.confirm and prod.require_checks and prod.branches == ("main",)

    def test_empty_file_and_no_file_use_defaults(self):
        """An empty file is the defaults, like no file."""
        assert parse("").data == RepoConfig().data
        assert parse("# only a comment\n").section("test_report")["comment"] == "always"


class TestErrors:
    def test_every_problem_with_its_line(self):
        """Each problem names file, line, key and what is allowed, typos get a suggestion."""
        text = "release:\n  mode: tags\ndeploy:\n  lock_ttl: 4 hours\n  enviroments:\n    staging: {}\n"
        with pytest.raises(ConfigError) as err:
            parse(text)
        lines = err.value.message.splitlines()
        assert lines[0] == ".shipbot.yml:2: release.mode: 'tags' is not one of 'tag', 'pr'"
        assert lines[1].startswith(".shipbot.yml:4: deploy.lock_ttl: '4 hours' is not a duration")
        assert lines[2].startswith(".shipbot.yml:5: deploy: unknown key 'enviroments' (did you mean 'environments'?)")

    def test_bad_principal(self):
        """A bare login in allow is explained with the accepted forms."""
        with pytest.raises(ConfigError, match="'octocat' is not a principal; use"):
            parse("release:\n  allow: [octocat]\n")

    @pytest.mark.parametrize("text, fragment", [
        ("deploy: [\n", "not valid YAML"),
        ("- just\n- a list\n", "must be a mapping"),
        ("deploy:\n  environments:\n    prod:\n      confrim: true\n", "did you mean 'confirm'"),
    ])
    def test_broken_files(self, text, fragment):
        """Broken YAML, a list at top level and typos in environments are clear errors."""
        with pytest.raises(ConfigError, match=fragment):
            parse(text)


class TestEnvironments:
    def test_listed_environments_only(self):
        """With environments listed, a typo names the known ones and suggests the closest."""
        config = parse("deploy:\n  environments:\n    staging: {}\n    production: {aliases: [prod]}\n")
        with pytest.raises(LookupError) as err:
            config.environment("stagign")
        assert str(err.value) == "unknown environment 'stagign'; known: staging, production; did you mean 'staging'?"

    def test_no_file_production_needs_allow_and_confirmation(self):
        """Without config any environment exists, but production/prod needs an explicit allow and confirms."""
        config = RepoConfig()
        assert config.environment("staging").allow is None and not config.environment("staging").confirm
        prod = config.environment("prod")
        assert prod.name == "production" and prod.allow == () and prod.confirm

    def test_listed_production_confirms_by_default(self):
        """A listed production environment confirms unless told otherwise."""
        config = parse("deploy:\n  environments:\n    production:\n      allow: ['github:octocat']\n")
        assert config.environment("production").confirm

    def test_production_environments_for_dora(self):
        """By name (production, prod) unless `production:` says otherwise; with no list, the names themselves."""
        config = parse("deploy:\n  environments:\n    staging: {}\n    live: {production: true}\n"
                       "    production: {production: false, allow: ['*']}\n")
        assert config.production_environments == {"live"}
        assert RepoConfig().production_environments == {"production", "prod"}
        assert config.environment("live").confirm and config.environment("live").allow == ()

    def test_production_false_keeps_the_guards(self):
        """`production: false` only leaves the metrics: an environment named production still confirms."""
        config = parse("deploy:\n  environments:\n    production: {production: false}\n")
        assert config.environment("production").confirm and config.environment("production").allow == ()

    def test_dora_section(self):
        """The dora section has defaults, takes durations and ref patterns, and refuses typos."""
        assert RepoConfig().section("dora") == {"hotfix_window": "24h", "hotfix_refs": ["hotfix/*", "hotfix-*"]}
        assert parse("dora:\n  hotfix_window: 2h\n").section("dora")["hotfix_window"] == "2h"
        with pytest.raises(ConfigError, match="unknown key 'hotfix_windw' \\(did you mean 'hotfix_window'"):
            parse("dora:\n  hotfix_windw: 2h\n")
        with pytest.raises(ConfigError, match="'soon' is not a duration"):
            parse("dora:\n  hotfix_window: soon\n")

    def test_durations(self):
        """Durations read as seconds."""
        assert [duration_seconds(d) for d in ("30s", "10m", "4h", "2d")] == [30, 600, 14400, 172800]


class TestCheckConfigCommand:
    def test_exit_codes_and_messages(self, tmp_path):
        """check-config exits 0 on a valid file and 1 with line-numbered reasons on an invalid one."""
        good, bad = tmp_path / "good.yml", tmp_path / "bad.yml"
        good.write_text(DESIGN_EXAMPLE)
        bad.write_text("test_report:\n  comment: sometimes\n")
        ok = subprocess.run([sys.executable, "-m", "bot", "check-config", str(good)], capture_output=True, text=True)
        assert ok.returncode == 0 and "valid" in ok.stdout
        ko = subprocess.run([sys.executable, "-m", "bot", "check-config", str(bad)], capture_output=True, text=True)
        assert ko.returncode == 1 and f"{bad}:2: test_report.comment: 'sometimes'" in ko.stderr


def laughs(levels: int) -> str:
    """Nine copies of nine copies of …: a few hundred bytes that stand for 9**levels values."""
    doc = "anchors:\n  - &l0 [" + ",".join(["[1]"] * 9) + "]\n"
    for i in range(1, levels):
        doc += f"  - &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]\n"
    return doc + f"release:\n  paths: *l{levels - 1}\n"


class TestHostileFiles:
    def test_alias_bomb_is_refused_before_it_is_walked(self):
        """YAML aliases expanding to 387 million values are refused at once, in one short line."""
        with pytest.raises(ConfigError) as caught:
            parse(laughs(9))
        assert caught.value.message == (".shipbot.yml:1: the file holds more than 50,000 values, "
                                        "counting each use of a YAML alias")

    def test_aliases_within_reason_still_work(self):
        """Sharing a list of principals between environments with an anchor is fine."""
        config = parse("deploy:\n  environments:\n    staging:\n      allow: &ops ['github:a', 'github:b']\n"
                       "    production:\n      allow: *ops\n")
        assert config.environment("production").allow == ("github:a", "github:b")

    @pytest.mark.parametrize("text, message", [
        ("a: &a [*a]\n", ".shipbot.yml:1: an alias refers to a value that contains it"),
        ("[" * 5000 + "]" * 5000, ".shipbot.yml:1: the file nests lists or mappings too deeply"),
        ("# " + "x" * 300_000, ".shipbot.yml:1: the file is larger than 256 KB"),
    ])
    def test_cycles_depth_and_size(self, text, message):
        """A self-containing alias, 5,000 nested lists and a 300 KB file are each one clear line."""
        with pytest.raises(ConfigError) as caught:
            parse(text)
        assert caught.value.message.startswith(message)

    def test_many_problems_are_listed_briefly(self):
        """Hundreds of wrong values give at most 20 lines, none longer than 300 characters."""
        text = "release:\n  paths:\n" + "".join(f"    - [{'x, ' * 100}x]\n" for _ in range(100))
        with pytest.raises(ConfigError) as caught:
            parse(text)
        lines = caught.value.message.splitlines()
        assert len(lines) == 21 and lines[-1] == "… and more; fix these first"
        assert all(len(line) <= 300 for line in lines)

    def test_huge_durations_are_refused(self):
        """A duration too large to add to a clock is a validation error, not an overflow later."""
        with pytest.raises(ConfigError, match="deploy.lock_ttl: '99999999999999999999d' is not a duration"):
            parse("deploy:\n  lock_ttl: 99999999999999999999d\n")
        assert duration_seconds(parse("deploy:\n  lock_ttl: 999999d\n").section("deploy")["lock_ttl"]) > 0

    @pytest.mark.parametrize("environments, message", [
        ("    staging:\n      aliases: [prod]\n    prod: {}\n",
         ".shipbot.yml:4: deploy.environments.staging.aliases: 'prod' is already the name of environment 'prod'"),
        ("    a:\n      aliases: [x]\n    b:\n      aliases: [y, x]\n",
         ".shipbot.yml:6: deploy.environments.b.aliases: 'x' is already an alias of environment 'a'"),
    ])
    def test_an_alias_names_one_environment_only(self, environments, message):
        """An alias that is another environment's name or alias would send `/deploy prod` to the wrong place."""
        with pytest.raises(ConfigError) as caught:
            parse("deploy:\n  environments:\n" + environments)
        assert caught.value.message == message
