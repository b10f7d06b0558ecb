"""docs/capacity.md is computed, not written: its arithmetic, checked on numbers a person can follow."""

from docs.capacity import compute


def test_a_thousand_small_members_cost_one_page_of_reads():
    # GIVEN 1,000 members of the default item size, read in one segment
    figures = compute({"members": 1000, "parallel_segments": 1})
    # THEN the read units are those DynamoDB charges for the pages of a one-pass, eventually consistent scan
    assert figures["read_units_per_sweep"] == 31.0


def test_more_members_cost_proportionally_more_and_more_segments_finish_sooner():
    small = compute({"members": 10_000_000, "parallel_segments": 8})
    large = compute({"members": 20_000_000, "parallel_segments": 8})
    wider = compute({"members": 20_000_000, "parallel_segments": 64})
    assert 1.9 < large["read_units_per_sweep"] / small["read_units_per_sweep"] < 2.1
    assert wider["wall_seconds"] < large["wall_seconds"]
