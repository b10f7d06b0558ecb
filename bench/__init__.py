"""Benchmarks of the nightly sweep at scale: client CPU and read units per million members,
peak memory of page processing, handler cold starts and the local rehearsal's speed, each
beside a baseline measured in the same run (``python -m bench.run``).

Importing the package puts the shared layer (``layers/common``) on the import path, as the
Lambda runtime and the tests do, so ``lifecycle`` imports the same way everywhere.
"""

import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAYER_ROOT = PROJECT_ROOT / "layers" / "common"

for _path in (LAYER_ROOT, PROJECT_ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
