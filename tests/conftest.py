"""Fixtures every test tier shares: the real stack on the local cloud (``tests/stack.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.stack import Stack, deployed_stack


@pytest.fixture
def stack() -> Iterator[Stack]:
    with deployed_stack() as deployed:
        yield deployed
