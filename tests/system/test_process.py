"""Whole `shipbot` processes: start-up messages, a crash between accepting and processing, the CLI."""
from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time

from tests.peers import body_of, gitlab_headers, gitlab_payload
from tests.system.procs import ROOT, SHIPBOT, clean_env, free_port, post, start, stop, wait_ready


def log_lines(path) -> list[dict]:
    lines = []
    for raw in path.read_text().splitlines():
        try:
            lines.append(json.loads(raw))
        except json.JSONDecodeError:
            lines.append({"event": raw})
    return lines


def help_note() -> bytes:
    payload = gitlab_payload("note_merge_request.json")
    payload["object_attributes"]["note"] = "/shipbot help"
    return body_of(payload)


class TestStartUp:
    def test_no_credentials_starts_in_dry_run_and_says_so_first(self, tmp_path):
        """With nothing configured the bot starts on SQLite, in dry-run, and its first log line says so."""
        port, log = free_port(), tmp_path / "out.log"
        proc = start(port, clean_env(SHIPBOT_DATABASE_URL=f"sqlite:///{tmp_path}/s.db"), log)
        try:
            wait_ready(port, proc)
        finally:
            assert stop(proc) == 0
        first = log_lines(log)[0]
        assert "dry-run" in first["event"] and "no forge or chat credentials" in first["event"]

    def test_bad_setting_stops_start_up_with_one_line(self, tmp_path):
        """A wrong value exits 2 with one line naming the variable."""
        result = subprocess.run([*SHIPBOT, "serve", "--port", str(free_port())], cwd=ROOT, capture_output=True,
                                text=True, env=clean_env(SHIPBOT_DRY_RUN="perhaps"), timeout=60)
        assert result.returncode == 2
        assert result.stderr.strip().count("\n") == 0 and "SHIPBOT_DRY_RUN" in result.stderr

    def test_heroku_with_sqlite_is_refused(self):
        """On an ephemeral disk the bot refuses SQLite and says what to set."""
        result = subprocess.run([*SHIPBOT, "serve"], cwd=ROOT, capture_output=True, text=True,
                                env=clean_env(DYNO="web.1"), timeout=60)
        assert result.returncode == 2 and "SHIPBOT_DATABASE_URL" in result.stderr


class TestCrash:
    def test_killed_between_accept_and_processing_then_processed_once(self, tmp_path):
        """kill -9 after the 202 and before any worker ran: the restarted bot processes it exactly once."""
        db = tmp_path / "s.db"
        env = clean_env(SHIPBOT_DATABASE_URL=f"sqlite:///{db}", GITLAB_WEBHOOK_SECRET="t")
        port, log_a, log_b = free_port(), tmp_path / "a.log", tmp_path / "b.log"
        accepting = start(port, dict(env, SHIPBOT_WORKERS="0"), log_a)  # ingress only
        try:
            wait_ready(port, accepting)
            status = post(port, "/webhooks/gitlab", help_note(), gitlab_headers("Note Hook", "t", uuid_="crash-1"))
            assert status == 202
        finally:
            stop(accepting, signal.SIGKILL)
        with sqlite3.connect(db) as conn:
            assert conn.execute("select status from jobs").fetchall() == [("pending",)]

        for round_ in range(2):  # a second restart must not run it again
            port = free_port()
            proc = start(port, env, log_b)
            try:
                wait_ready(port, proc)
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    with sqlite3.connect(db) as conn:
                        if conn.execute("select status from jobs").fetchone()[0] == "done":
                            break
                    time.sleep(0.05)
            finally:
                assert stop(proc) == 0
        writes = [line for line in log_lines(log_b) if line.get("event") == "dry_run_write"]
        assert len(writes) == 1 and writes[0]["action"] == "create_comment"
        with sqlite3.connect(db) as conn:
            assert conn.execute("select status, attempts from jobs").fetchall() == [("done", 1)]


class TestCommands:
    def test_replay_prints_what_would_be_sent(self, tmp_path):
        """`shipbot replay` on a real GitLab note prints the comment it would post, and sends nothing."""
        note = tmp_path / "note.json"
        note.write_bytes(help_note())
        result = subprocess.run([*SHIPBOT, "replay", str(note), "--source", "gitlab", "--event", "Note Hook"],
                                cwd=tmp_path, capture_output=True, text=True, env=clean_env(), timeout=60)
        assert result.returncode == 0, result.stderr
        assert "1 write(s) that would be sent" in result.stdout and '"action": "create_comment"' in result.stdout
        assert not (tmp_path / "shipbot.db").exists(), "a replay leaves no database behind"

    def test_replay_of_an_ignored_event(self, tmp_path):
        """An event no handler takes is reported as ignored."""
        emoji = tmp_path / "emoji.json"
        emoji.write_bytes(body_of(gitlab_payload("emoji.json")))
        result = subprocess.run([*SHIPBOT, "replay", str(emoji), "--source", "gitlab", "--event", "Emoji Hook"],
                                cwd=tmp_path, capture_output=True, text=True, env=clean_env(), timeout=60)
        assert result.returncode == 0 and "no handler takes" in result.stdout

    def test_jobs_list_show_and_retry(self, tmp_path):
        """Dead-lettered jobs are listed with their error and can be retried from the CLI."""
        db = tmp_path / "s.db"
        env = clean_env(SHIPBOT_DATABASE_URL=f"sqlite:///{db}")
        assert subprocess.run([*SHIPBOT, "migrate"], cwd=ROOT, env=env, capture_output=True, timeout=60).returncode == 0
        with sqlite3.connect(db) as conn:
            conn.execute("insert into jobs (delivery_key, source, event, name, repo, payload, status, attempts, run_at,"
                         " created_at, last_error) values ('github:x', 'github', 'push', 'push', 'github:o/r', '{}',"
                         " 'dead', 8, 0, 0, 'forge answered 502 eight times')")
        listing = subprocess.run([*SHIPBOT, "jobs"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert "dead: 1" in listing.stdout and "forge answered 502" in listing.stdout
        shown = subprocess.run([*SHIPBOT, "jobs", "show", "1"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert "github:x" in shown.stdout
        retried = subprocess.run([*SHIPBOT, "jobs", "retry", "1"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert retried.returncode == 0 and "queued again" in retried.stdout
        with sqlite3.connect(db) as conn:
            assert conn.execute("select status, attempts from jobs").fetchone() == ("pending", 0)
        missing = subprocess.run([*SHIPBOT, "jobs", "retry", "99"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert missing.returncode == 1 and "no job 99" in missing.stdout
