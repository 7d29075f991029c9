"""Version files: each kind is read and rewritten with nothing but the version changed."""
from __future__ import annotations

import difflib
import re
import shutil
from pathlib import Path

import pytest

from bot.versionfiles import VersionFileError, apply_edit, plan_edit, read_version, set_version_text

GOLDEN = Path(__file__).parent / "golden" / "versionfiles"

# (golden file, name it has in a project, the lines that must change)
CASES = [
    ("pyproject.toml", "pyproject.toml",
     [("version   =   '1.2.0'   # bumped by shipbot", "version   =   '1.3.0'   # bumped by shipbot")]),
    ("poetry.pyproject.toml", "pyproject.toml", [('version = "1.2.0"', 'version = "1.3.0"')]),
    ("Cargo.toml", "Cargo.toml",
     [('version = "1.2.0" # keep this comment', 'version = "1.3.0" # keep this comment')]),
    ("package.json", "package.json", [('    "version" :  "1.2.0",', '    "version" :  "1.3.0",')]),
    ("package-lock.json", "package-lock.json",
     [('  "version": "1.2.0",', '  "version": "1.3.0",'),
      ('      "version": "1.2.0",', '      "version": "1.3.0",')]),
    ("setup.cfg", "setup.cfg", [("version = 1.2.0", "version = 1.3.0")]),
    ("_version.py", "_version.py", [('__version__: str = "1.2.0"', '__version__: str = "1.3.0"')]),
    ("VERSION", "VERSION", [("v1.2.0", "v1.3.0")]),
]


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    """Pairs of (old line, new line) that differ, in order."""
    old = before.splitlines()
    new = after.splitlines()
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new) if a != b]


class TestVersionFiles:
    @pytest.mark.parametrize(("golden", "name", "lines"), CASES, ids=[c[0] for c in CASES])
    def test_only_the_version_changes(self, golden, name, lines):
        """Setting the version changes exactly the version line(s), every other byte is kept."""
        before = (GOLDEN / golden).read_text()
        after, old = set_version_text(name, before, "1.3.0")
        assert old == "1.2.0"
        assert changed_lines(before, after) == lines, "".join(
            difflib.unified_diff(before.splitlines(True), after.splitlines(True)))

    @pytest.mark.parametrize(("golden", "name", "lines"), CASES, ids=[c[0] for c in CASES])
    def test_round_trip(self, golden, name, lines):
        """Setting a new version then the old one again gives back the file byte for byte."""
        before = (GOLDEN / golden).read_text()
        there, _ = set_version_text(name, before, "2.0.0-rc.1")
        back, middle = set_version_text(name, there, "1.2.0")
        assert (middle, back) == ("2.0.0-rc.1", before)

    def test_package_json_brings_its_lock_file(self, tmp_path):
        """Editing package.json also edits the package-lock.json beside it."""
        for name in ("package.json", "package-lock.json"):
            shutil.copy(GOLDEN / name, tmp_path / name)
        edits = plan_edit(tmp_path / "package.json", "1.3.0")
        assert [edit.path.name for edit in edits] == ["package.json", "package-lock.json"]
        for edit in edits:
            apply_edit(edit)
        assert read_version(tmp_path / "package.json") == read_version(tmp_path / "package-lock.json") == "1.3.0"

    def test_crlf_file_keeps_crlf(self, tmp_path):
        """A file with Windows line endings keeps them."""
        path = tmp_path / "setup.cfg"
        path.write_bytes(b"[metadata]\r\nname = x\r\nversion = 1.2.0\r\n")
        (edit,) = plan_edit(path, "1.3.0")
        apply_edit(edit)
        assert path.read_bytes() == b"[metadata]\r\nname = x\r\nversion = 1.3.0\r\n"

    @pytest.mark.parametrize(("name", "text", "message"), [
        ("Cargo.toml", "[package]\nname = 'x'\nversion.workspace = true\n", "not a literal string"),
        ("pyproject.toml", "[project]\nname = 'x'\ndynamic = ['version']\n", "no [project] version"),
        ("package.json", "{\"name\": \"x\"}", "no top-level"),
        ("package.json", "{oops", "not valid JSON"),
        ("setup.cfg", "[metadata]\nversion = attr: demo.__version__\n", "read from elsewhere"),
        ("demo.py", "VERSION = '1.0.0'\n", "no __version__"),
        ("VERSION", "one point two\n", "only a version"),
    ])
    def test_unusable_files_are_refused(self, name, text, message):
        """A file without a literal version is refused with a message naming the file."""
        with pytest.raises(VersionFileError, match=re.escape(message)) as raised:
            set_version_text(name, text, "1.3.0")
        assert str(raised.value).startswith(name)
