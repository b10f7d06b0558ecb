"""Fixtures every test tier shares: the real stack on the local cloud (``tests/stack.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.stack import Stack, deployed_stack


@pytest.fixture
def stack() -> Iterator[Stack]:
    with deployed_stack() as deployed:
        yield deployed


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long stories first, in their usual order: with xdist's work stealing, the short tests
    then fill whichever core is free, instead of one core ending the run alone on a long story."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
