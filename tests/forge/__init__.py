"""Forge adapter tests (a package, so test_github.py does not clash with tests/ingress/test_github.py)."""
