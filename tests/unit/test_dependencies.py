"""The functions ship what the tests run: the layer's lock pins every package (with its hashes),
boto3 and botocore among them as a pair boto3 accepts, and this environment has each at the very
version the layer ships."""

from __future__ import annotations

import re
from importlib.metadata import requires, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s\\;]+)")


def locked(path: Path) -> dict[str, str]:
    """Package → version of a pip-compile lock, each pin checked to carry a hash."""
    pins: dict[str, str] = {}
    entries = re.split(r"\n(?=\S)", path.read_text())
    for entry in entries:
        pin = PIN.match(entry)
        if pin:
            assert "--hash=sha256:" in entry, f"{path.name}: {pin[1]} has no hash"
            pins[canonicalize_name(pin[1])] = pin[2]
    return pins


LAYER = locked(ROOT / "layers/common/requirements.txt")
DEV = locked(ROOT / "requirements-dev.txt")


def test_the_layer_ships_boto3_with_the_botocore_it_was_released_for():
    # Lambda's runtime has a boto3 of its own; shipping both keeps the two from meeting
    assert {"boto3", "botocore"} <= LAYER.keys()
    wanted = next(Requirement(r) for r in requires("boto3") or [] if Requirement(r).name == "botocore")
    assert wanted.specifier.contains(LAYER["botocore"]), f"boto3 {LAYER['boto3']} wants botocore{wanted.specifier}"


@pytest.mark.parametrize("package", sorted(LAYER))
def test_the_tests_run_the_version_the_layer_ships(package):
    assert DEV.get(package) == LAYER[package]
    assert version(package) == LAYER[package]


def test_every_direct_dependency_of_the_layer_is_in_its_lock():
    direct = [
        Requirement(line).name
        for line in (ROOT / "layers/common/requirements.in").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert {canonicalize_name(name) for name in direct} <= LAYER.keys()
