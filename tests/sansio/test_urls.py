"""The one guard every adapter asks before it sends a request to a URL it did not build."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from bot.sansio.urls import allowed_url, origin, shown

GITHUB = "https://api.github.com"
GHES = "https://ghe.example.com/api/v3"


class TestAllowedURL:
    @pytest.mark.parametrize("url, bases", [
        ("https://api.github.com/repos/o/r", [GITHUB]),
        ("https://API.github.com:443/x", [GITHUB]),
        ("https://ghe.example.com/api/v3/repos/o/r", [GHES]),
        ("https://ghe.example.com/api/v3", [GHES]),
        ("https://hooks.slack.com/commands/T1/2/abc", ["https://hooks.slack.com", "https://slack.com"]),
        ("http://127.0.0.1:8123/commands/x", ["http://127.0.0.1:8123"]),
    ])
    def test_urls_on_a_configured_base_pass(self, url, bases):
        """Same scheme, host and port, and under the base's path."""
        assert allowed_url(url, bases)

    @pytest.mark.parametrize("url, bases", [
        ("https://evil.example/repos", [GITHUB]),
        ("http://api.github.com/repos", [GITHUB]),  # another scheme
        ("https://api.github.com:8443/repos", [GITHUB]),  # another port
        ("https://api.github.com.evil.example/", [GITHUB]),
        ("https://api.github.com@evil.example/", [GITHUB]),  # user info: the host is evil.example
        ("https://evil.example@api.github.com/", [GITHUB]),  # user info at all: refused
        ("https://ghe.example.com/login", [GHES]),  # outside the API's path
        ("https://ghe.example.com/api/v30/x", [GHES]),
        ("http://127.0.0.1:8124/commands/x", ["http://127.0.0.1:8123"]),  # another loopback port
        ("/repos/o/r", [GITHUB]),  # not absolute: callers build their own URLs from a base
        ("//evil.example/x", [GITHUB]),
        ("https:\\\\evil.example\\x", [GITHUB]),
        ("https://api.github.com\\@evil.example/", [GITHUB]),
        ("https://api.github.com:99999/", [GITHUB]),
        ("https://[::1/", [GITHUB]),
        ("javascript:alert(1)", [GITHUB]),
        ("https://hooks.slack.com/x", []),
    ])
    def test_everything_else_is_refused(self, url, bases):
        """Other hosts, ports, schemes, paths and ambiguous spellings are refused."""
        assert not allowed_url(url, bases)

    def test_shown_hides_path_and_query(self):
        """Logs and messages show the origin only: a response_url's path is a credential."""
        assert shown("https://hooks.slack.com/commands/T1/2/secret?x=1") == "https://hooks.slack.com"
        assert shown("http://127.0.0.1:8123/x") == "http://127.0.0.1:8123"
        assert origin("https://[::1/") == ("", "", None)

    @settings(max_examples=300, derandomize=True, deadline=None)
    @given(st.text(max_size=80))
    def test_never_raises_and_never_admits_another_host(self, text):
        """Any string at all: a bool, and True only for a URL on the API host."""
        for url in (text, "https://" + text, GITHUB + "/" + text, "https://api.github.com" + text):
            if allowed_url(url, [GITHUB]):
                assert origin(url) == ("https", "api.github.com", 443)
                assert url.startswith("https://api.github.com") or url.lower().startswith("https://api.github.com")
