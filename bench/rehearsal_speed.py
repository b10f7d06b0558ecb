"""Wall time of ``ops.rehearsal.rehearse`` on a synthetic population, run in a fresh process
of its own (the local cloud runs its moto server and the handlers in-process, and sets the
process's environment while it runs), quiet. The baseline is the same rehearsal of one
member: what the local cloud's clock, schedules and sweeps cost whatever the population.

``python -m bench.rehearsal_speed MEMBERS MONTHS RESULT.json`` is the child's entry point.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import PROJECT_ROOT

REHEARSAL_SEED = 7


@dataclass(frozen=True)
class RehearsalTiming:
    members: int
    months: int
    wall_seconds: float

    @property
    def seconds_per_thousand_members_per_month(self) -> float:
        return self.wall_seconds / (self.members / 1000) / self.months


def time_rehearsal(members: int, months: int) -> RehearsalTiming:
    """Run the rehearsal in a child process and read back its wall time."""
    with tempfile.TemporaryDirectory() as folder:
        result = Path(folder) / "timing.json"
        child = subprocess.run(
            [sys.executable, "-m", "bench.rehearsal_speed", str(members), str(months), str(result)],
            cwd=PROJECT_ROOT,
            capture_output=True,  # the handlers' JSON logs; shown only when the rehearsal fails
            text=True,
        )
        if child.returncode != 0:
            raise RuntimeError(f"the rehearsal failed (exit code {child.returncode}):\n{child.stderr[-4000:]}")
        return RehearsalTiming(members, months, json.loads(result.read_text())["wall_seconds"])


def _rehearse_here(members: int, months: int) -> float:
    from dateutil.relativedelta import relativedelta

    from bench.population_items import POPULATION_START
    from local.template import DEFAULT_TEMPLATE, Template
    from ops.population import generate, iso_z, write_jsonl
    from ops.rehearsal import read_input, rehearse

    end = POPULATION_START + relativedelta(months=months)
    rows, actions = generate(members, REHEARSAL_SEED, POPULATION_START, months)
    template = Template.load(DEFAULT_TEMPLATE)
    with tempfile.TemporaryDirectory() as folder:
        members_file = write_jsonl(rows, Path(folder) / "members.jsonl")
        actions_file = write_jsonl(actions, Path(folder) / "actions.jsonl")
        plan = read_input(members_file, actions_file, iso_z(POPULATION_START), iso_z(end), {}, template)
        started = time.perf_counter()
        rehearse(plan, template=template, seed=REHEARSAL_SEED)
        return time.perf_counter() - started


if __name__ == "__main__":
    member_count, month_count, result_path = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    result_path.write_text(json.dumps({"wall_seconds": _rehearse_here(member_count, month_count)}))
