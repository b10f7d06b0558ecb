"""Fixtures of the API tests: one deployment of the real stack per test module, with the small
campaign of ``api_support`` in it (members with open, kept and cancelled notices). Every test
names the members it works on and checks that bad input changed nothing, so a module's tests
and all their generated examples share one deployment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_support import Campaign, deployed_campaign


@pytest.fixture(scope="module")
def campaign() -> Iterator[Campaign]:
    with deployed_campaign() as deployed:
        yield deployed
