"""`shipbot sample-data`: what `make run` does on a first start, and `--remove`."""
from __future__ import annotations

import subprocess

from tests.system.procs import SHIPBOT, clean_env


def shipbot(tmp_path, *args, **env):
    return subprocess.run([*SHIPBOT, "sample-data", *args], capture_output=True, text=True, timeout=60,
                          env=clean_env(SHIPBOT_DATABASE_URL=f"sqlite:///{tmp_path}/s.db", **env))


class TestSampleDataCommand:
    def test_first_start_adds_them_once_and_remove_deletes_them(self, tmp_path):
        """--if-new adds the records to a new database in dry-run, never again; --remove deletes them."""
        first = shipbot(tmp_path, "--if-new")
        assert first.returncode == 0 and "shipbot sample-data --remove" in first.stdout
        again = shipbot(tmp_path, "--if-new")
        assert again.returncode == 0 and again.stdout == ""
        removed = shipbot(tmp_path, "--remove")
        assert removed.returncode == 0 and removed.stdout.startswith("removed ")
        assert shipbot(tmp_path, "--if-new").stdout == ""  # removed on purpose: they stay away
        assert shipbot(tmp_path, "--remove").stdout.strip() == "there are no sample records"

    def test_not_in_dry_run_a_first_start_adds_nothing(self, tmp_path):
        """With real credentials `make run` must not put made-up deploys next to real ones."""
        result = shipbot(tmp_path, "--if-new", GITHUB_TOKEN="ghp_x")
        assert result.returncode == 0 and result.stdout == ""
        assert shipbot(tmp_path, "--remove").stdout.strip() == "there are no sample records"

    def test_remove_and_if_new_do_not_mix(self, tmp_path):
        result = shipbot(tmp_path, "--remove", "--if-new")
        assert result.returncode == 2 and "not allowed with" in result.stderr
