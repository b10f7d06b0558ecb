"""docs/capacity.md is computed, not written: its arithmetic, checked on numbers a person can follow."""

import pytest

from docs.capacity import compute


def test_a_thousand_small_members_cost_one_page_of_reads():
    # GIVEN 1,000 members of the default item size (250 bytes), in one segment
    figures = compute({"members": 1000})
    # THEN the read units are those DynamoDB charges for one page of a one-pass, eventually
    # consistent scan: 250,000 bytes are 62 blocks of 4 KB, half a unit each
    assert figures["segments"] == 1
    assert figures["pages"] == 1
    assert figures["read_units_per_sweep"] == 31.0


def test_one_page_costs_two_updates_a_read_and_three_queue_requests():
    # GIVEN a run of one segment read in one page by one worker turn
    figures = compute({"members": 1000})
    # THEN the page takes 3 progress-table calls: 2 conditional updates of its segment item
    # (1 write unit each, items under 1 KB) and 1 strongly consistent read of the run item
    assert figures["progress_calls_per_page"] == 3
    assert figures["progress_write_units_per_page"] == 2
    assert figures["progress_read_units_per_page"] == 1
    # AND the run adds its record and marking it finished; it reads the run item for the page,
    # the run and the checkpoint for the turn, the run once when it starts, and the segment's
    # 2 items (run and segment, 2 KB at most) in one Query when it is done
    assert figures["progress_write_units"] == 2 + 2
    assert figures["totals_query_read_units"] == 1
    assert figures["progress_read_units"] == 1 + 2 + 1 + 1
    # AND the queue carries one message: sent (one batch), received and deleted
    assert figures["sqs_messages"] == 1
    assert figures["sqs_requests"] == 3
    assert figures["hand_offs_per_segment"] == 0


def test_the_progress_table_writes_two_units_a_page():
    # GIVEN items small enough (200 bytes) for SweepPageSize's 5,000 members to fill a page
    figures = compute({"members": 200_000_000, "activity_item_bytes": 200})
    # THEN 67 segments of 2,985,075 members take 598 pages each: 40,066 pages, each reserved and
    # then moved on, 2 write units a page, and 2 for the run
    assert figures["pages"] == 67 * 598 == 40_066
    assert figures["progress_page_write_units"] == 2 * figures["pages"]
    assert figures["progress_write_units"] == 2 * figures["pages"] + 2
    # each of the 67 segments, once done, queries the run's 68 items: 68 KB at most, 17 read units
    assert figures["totals_query_read_units"] == 17
    assert figures["progress_read_units"] == figures["pages"] + 2 * figures["worker_turns"] + 67 * 17 + 1
    assert figures["progress_dollars_per_sweep"] == pytest.approx(
        figures["progress_write_units"] * 0.625e-6 + figures["progress_read_units"] * 0.125e-6
    )


def test_bigger_progress_items_cost_a_write_unit_per_kilobyte():
    figures = compute({"members": 1000, "progress_item_bytes": 1500})
    assert figures["progress_write_units_per_page"] == 4
    assert figures["progress_read_units_per_page"] == 1


def test_the_run_item_is_read_once_a_page_well_within_a_partition():
    figures = compute({"members": 200_000_000})
    # every page of every running worker reads the run item once (one read unit), nothing writes it
    assert figures["run_item_read_units_per_second"] == pytest.approx(figures["pages_per_second"])
    assert figures["run_item_read_units_per_second"] < 3000
    assert figures["run_item_within_partition_read_limit"]
    # the segment items, all under the run's partition key, take 2 write units a page together
    assert figures["run_partition_write_units_per_second"] == pytest.approx(2 * figures["pages_per_second"])
    assert figures["run_partition_within_write_limit"]


def test_a_page_round_trip_counts_three_progress_calls():
    # one page of 0.1 s, then 3 progress-table calls of 0.01 s each
    figures = compute({"members": 1000, "page_round_trip_seconds": 0.1, "progress_call_seconds": 0.01})
    assert figures["segment_round_trip_seconds"] == pytest.approx(0.1 + 3 * 0.01)


def test_segments_come_from_members_per_segment_capped_by_max_segments():
    # 200 million members ÷ 3 million a segment (the template's default) is 66.7: 67 segments
    assert compute({"members": 200_000_000})["segments"] == 67
    # a small table is one segment, a huge one at most SweepMaxSegments
    assert compute({"members": 10})["segments"] == 1
    assert compute({"members": 1_000_000_000, "members_per_segment": 1_000_000})["segments"] == 256


def test_the_read_cap_is_shared_by_the_workers_running_at_once():
    # 8 segments run at once: each worker reads at most an eighth of the 20,000 read units a second
    eight = compute({"members": 24_000_000})
    assert eight["segments"] == 8
    assert eight["worker_read_units_per_second"] == 2500.0
    # 67 segments, at most 64 at once: a 64th each, and the last 3 segments wait for a second wave
    default = compute({"members": 200_000_000})
    assert default["running_at_once"] == 64
    assert default["worker_read_units_per_second"] == 312.5
    assert default["waves"] == 2
    assert default["wall_seconds"] == 2 * default["segment_seconds"]


def test_the_whole_sweep_reads_no_faster_than_the_cap():
    # GIVEN a client so fast that the cap alone sets the pace
    figures = compute(
        {
            "members": 200_000_000,
            "members_per_segment": 3_200_000,
            "client_cpu_seconds_per_million_members": 0,
            "page_round_trip_seconds": 0,
            "progress_call_seconds": 0,
        }
    )
    # THEN the 63 segments, in one wave, read every unit at 20,000 a second
    assert figures["segments"] == 63
    assert figures["wall_seconds"] == pytest.approx(figures["read_units_per_sweep"] / 20_000)


def test_a_segment_longer_than_a_turn_is_handed_on():
    # GIVEN one segment that takes 30 minutes at its share of the cap (and less unhindered)
    base = {
        "members": 1_000_000,
        "client_cpu_seconds_per_million_members": 0,
        "page_round_trip_seconds": 0,
        "progress_call_seconds": 0,
    }
    read_units = compute(base)["read_units_per_sweep"]
    figures = compute({**base, "read_units_per_second_cap": read_units / 1800})
    assert figures["segment_seconds"] == pytest.approx(1800)
    # THEN with 900 s invocations handing on 60 s before the end (840 s turns) it takes 3 turns:
    # 2 hand-offs, each one more message, and 3 worker invocations besides the starter
    assert figures["turns_per_segment"] == 3
    assert figures["hand_offs_per_segment"] == 2
    assert figures["sqs_messages"] == 3
    assert figures["lambda_invocations"] == 4


def test_more_members_cost_proportionally_more_and_more_segments_finish_sooner():
    small = compute({"members": 10_000_000, "members_per_segment": 10_000_000})
    large = compute({"members": 20_000_000, "members_per_segment": 10_000_000})
    wider = compute({"members": 20_000_000, "members_per_segment": 1_000_000})
    assert 1.9 < large["read_units_per_sweep"] / small["read_units_per_sweep"] < 2.1
    assert wider["segments"] == 20
    assert wider["wall_seconds"] < large["wall_seconds"]


def test_a_worker_holds_one_page_whatever_the_size_of_the_table():
    one_million = compute({"members": 1_000_000})
    two_hundred_million = compute({"members": 200_000_000})
    assert one_million["page_mib_per_worker"] == two_hundred_million["page_mib_per_worker"]
    assert two_hundred_million["page_share_of_lambda_memory"] < 0.1


def test_the_sweep_costs_less_than_exporting_the_table_to_s3_each_night():
    figures = compute({"members": 200_000_000})
    assert figures["sweep_dollars"] == pytest.approx(
        figures["read_dollars_per_sweep"]
        + figures["lambda_dollars_per_sweep"]
        + figures["sqs_dollars_per_sweep"]
        + figures["progress_dollars_per_sweep"]
    )
    assert figures["export_to_sweep_cost_ratio"] > 1


def test_a_day_of_plays_is_priced_per_unit_and_per_event():
    # GIVEN a million viewers, ten plays each, a write a viewer and a tenth of a read unit a play
    figures = compute({"daily_viewers": 1_000_000, "plays_per_viewer": 10.0, "viewing_write_units_per_viewer": 1.0,
                       "viewing_read_units_per_play": 0.1})
    # THEN the naive consumer pays ten million write units; this one a million, and a million reads
    assert figures["viewing_plays_per_day"] == 10_000_000
    assert figures["viewing_naive"]["write_units"] == 10_000_000
    assert figures["viewing_ours"]["write_units"] == 1_000_000
    assert figures["viewing_ours"]["read_units"] == pytest.approx(1_000_000)
    # AND in dollars: $0.625 a million write units, $0.125 a million read units
    assert figures["viewing_naive"]["dynamodb_dollars"] == pytest.approx(6.25)
    assert figures["viewing_ours"]["dynamodb_dollars"] == pytest.approx(0.625 + 0.125)
    # AND every play is an EventBridge event ($1 a million) and 1.2 SQS requests ($0.40 a million)
    assert figures["viewing_delivery_per_play"]["eventbridge_dollars"] == pytest.approx(10.0)
    assert figures["viewing_delivery_per_play"]["sqs_dollars"] == pytest.approx(12 * 0.40)
    assert figures["viewing_delivery_per_play"]["lambda_invocations"] == 100_000
    # AND a feed sending one event a viewer a day pays the delivery a tenth as often
    assert figures["viewing_delivery_per_viewer"]["eventbridge_dollars"] == pytest.approx(1.0)
    assert figures["viewing_daily_events_dollars_per_day"] < figures["viewing_dollars_per_day"]
    assert figures["viewing_dollars_per_day"] < figures["viewing_naive_dollars_per_day"]
