"""Fixtures of the security tests: the real stack on the local cloud (the integration tests'
``stack`` fixture)."""

from __future__ import annotations

from permissions_support import stack

__all__ = ["stack"]
