"""Fixtures of the local cloud's tests: a started LocalCloud on the small fixture template
(or on the real template.yaml where the point is the real template)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from local_cloud_support import FIXTURE_TEMPLATE, START

from local import LocalCloud


@pytest.fixture
def make_cloud() -> Iterator[Callable[..., LocalCloud]]:
    """Starts LocalClouds (one at a time: moto's state is process-wide) and stops them after the test."""
    started: list[LocalCloud] = []

    def make(start: datetime = START, **options: Any) -> LocalCloud:
        options.setdefault("template", FIXTURE_TEMPLATE)
        options.setdefault("seed", 7)
        cloud = LocalCloud(start, **options).start()
        started.append(cloud)
        return cloud

    yield make
    for cloud in started:
        cloud.stop()


@pytest.fixture
def cloud(make_cloud: Callable[..., LocalCloud]) -> LocalCloud:
    """The fixture template deployed with its defaults, the clock at START."""
    cloud = make_cloud()
    cloud.deploy()
    return cloud
