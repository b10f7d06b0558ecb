"""The README's folder layout names every module, so a newcomer finds each one from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
README = (ROOT / "README.md").read_text()
LAYOUT = README[README.index("## Folder layout") : README.index("## Dependencies and why")]


def modules() -> list[str]:
    domain = ROOT / "layers/common/lifecycle"
    found = [str(p.relative_to(domain).with_suffix("")) for p in domain.rglob("*.py") if p.stem != "__init__"]
    for folder in ("local", "ops"):
        found += [p.stem for p in (ROOT / folder).glob("*.py") if not p.stem.startswith("__")]
    found += [p.parent.name for p in (ROOT / "functions").glob("*/app.py")]
    return sorted(found)


@pytest.mark.parametrize("module", modules())
def test_the_folder_layout_names_every_module(module):
    assert re.search(rf"`\s*{re.escape(module)}`", LAYOUT), f"README's folder layout does not name {module}"
