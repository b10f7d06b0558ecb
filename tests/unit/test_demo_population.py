"""The synthetic population a rehearsal starts from: its rows, its mix, and what its members do."""

import json
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta

from ops.population import ACTIONS, first_sweep_at_or_after, generate, read_jsonl, write_jsonl

START = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
END = START + relativedelta(months=14)
CURRENCY_OF_LOCALE = {
    "en-US": "USD",
    "en-GB": "GBP",
    "fr-FR": "EUR",
    "fr-CA": "CAD",
    "de-DE": "EUR",
    "de-AT": "EUR",
    "es-ES": "EUR",
    "es-MX": "MXN",
    "pt-BR": "BRL",
    "it-IT": "EUR",
}
MEMBER_FIELDS = {
    "member_id",
    "email",
    "locale",
    "joined_at",
    "last_watched_at",
    "status",
    "monthly_price",
    "currency",
}


def parse(moment: str) -> datetime:
    assert moment.endswith("Z"), moment
    parsed = datetime.fromisoformat(moment)
    assert parsed.utcoffset() == timedelta(0)
    return parsed


def never_watched_rule(row: dict, now: datetime) -> bool:
    return row["last_watched_at"] is None and parse(row["joined_at"]) + relativedelta(months=12) <= now


def dormant_rule(row: dict, now: datetime) -> bool:
    return row["last_watched_at"] is not None and parse(row["last_watched_at"]) + relativedelta(months=24) <= now


def noticeable(row: dict) -> bool:
    """Only live, paid memberships are ever asked (the policy)."""
    return row["status"] == "active" and Decimal(row["monthly_price"]) > 0


def becomes_inactive_at(row: dict) -> datetime:
    if row["last_watched_at"] is None:
        return parse(row["joined_at"]) + relativedelta(months=12)
    return parse(row["last_watched_at"]) + relativedelta(months=24)


@pytest.fixture(scope="module")
def population() -> tuple[list[dict], list[dict]]:
    return generate(3000, seed=20200521, start=START)


@pytest.fixture(scope="module")
def large_population() -> tuple[list[dict], list[dict]]:
    # Large enough that the inactive members' answers show their proportions.
    return generate(20000, seed=7, start=START)


def test_the_same_seed_gives_the_same_population_and_another_seed_does_not(population):
    # GIVEN the population generated for one seed
    members, actions = population
    # WHEN it is generated again with the same seed, and with another one
    again = generate(3000, seed=20200521, start=START)
    other = generate(3000, seed=20200522, start=START)
    # THEN the same seed reproduces every row exactly, and another seed gives other people
    assert json.dumps(again) == json.dumps((members, actions))
    assert other[0] != members


def test_every_member_row_has_the_fields_of_the_contract_with_valid_values(population):
    # GIVEN a population of 3,000 members
    members, _ = population
    # THEN every row has the contract's fields, with values the rehearsal can read
    assert len(members) == 3000
    assert len({row["member_id"] for row in members}) == 3000
    for row in members:
        assert MEMBER_FIELDS <= set(row) <= MEMBER_FIELDS | {"profiles"}
        assert 1 <= len(row["member_id"].encode()) <= 2048  # any id DynamoDB can hold as a key
        assert row["email"].rsplit("@", 1)[1].endswith(".example")  # a reserved domain, never a real mailbox
        assert row["currency"] == CURRENCY_OF_LOCALE[row["locale"]]
        joined = parse(row["joined_at"])
        assert joined <= START
        if row["last_watched_at"] is not None:
            assert joined <= parse(row["last_watched_at"]) <= START
        assert row["status"] in {"active", "cancelled"}
        price = Decimal(row["monthly_price"])
        assert price >= 0
        assert price.as_tuple().exponent == -2  # always written to the cent
        for profile in row.get("profiles", [{"name": "x", "my_list": [], "preferences": {}}]):
            assert isinstance(profile["name"], str) and profile["name"]
            assert all(isinstance(title, str) and title for title in profile["my_list"])
            assert all(isinstance(value, str) for value in profile["preferences"].values())
        assert 1 <= len(row.get("profiles", [None])) <= 4


def test_the_mix_has_every_market_some_unsupported_languages_non_paying_and_cancelled_members(population):
    # GIVEN a population of 3,000 members
    members, _ = population
    # WHEN it is counted by locale, price and status
    locales = Counter(row["locale"] for row in members)
    non_paying = sum(Decimal(row["monthly_price"]) == 0 for row in members)
    cancelled = sum(row["status"] == "cancelled" for row in members)
    # THEN every market is present, languages without a catalog are a few, and the special groups are small
    assert set(locales) == set(CURRENCY_OF_LOCALE)
    assert 0 < locales["pt-BR"] + locales["it-IT"] < 0.1 * len(members)
    assert 0 < non_paying < 0.1 * len(members)
    assert 0 < cancelled < 0.1 * len(members)
    assert sum("profiles" in row for row in members) > 0.8 * len(members)


def test_under_one_percent_of_members_are_inactive_at_the_start_by_each_rule(population):
    # GIVEN a population of 3,000 members
    members, _ = population
    # WHEN the two rules of the policy are applied on the first day to the live, paid memberships
    never_watched = [row for row in members if noticeable(row) and never_watched_rule(row, START)]
    dormant = [row for row in members if noticeable(row) and dormant_rule(row, START)]
    # THEN each rule finds some members, and under 1% of everybody
    assert 0 < len(never_watched) < 0.01 * len(members)
    assert 0 < len(dormant) < 0.01 * len(members)


@pytest.mark.parametrize(
    "awkward_start",
    [datetime(2024, 2, 29, 0, 0, tzinfo=UTC), datetime(2025, 3, 31, 23, 59, 59, tzinfo=UTC)],
    ids=["leap-day", "month-end"],
)
def test_a_start_on_a_leap_day_or_a_month_end_makes_nobody_else_inactive(awkward_start):
    # GIVEN the same seed started on an ordinary day and on a day where calendar months clip
    ordinary, _ = generate(3000, seed=11, start=START)
    awkward, _ = generate(3000, seed=11, start=awkward_start)

    def inactive_ids(rows, now):
        return {row["member_id"] for row in rows if noticeable(row) and becomes_inactive_at(row) <= now}

    # THEN the members inactive on day one are the same ones, still under 1% by each rule
    assert inactive_ids(awkward, awkward_start) == inactive_ids(ordinary, START)
    assert sum(noticeable(row) and never_watched_rule(row, awkward_start) for row in awkward) < 30
    assert sum(noticeable(row) and dormant_rule(row, awkward_start) for row in awkward) < 30


def test_a_small_population_never_reaches_one_percent_inactive():
    # GIVEN populations so small that a single inactive member would be 1% or more
    for size in (1, 10, 100):
        members, _ = generate(size, seed=1, start=START)
        # THEN nobody is inactive by either rule on the first day
        assert not [row for row in members if noticeable(row) and never_watched_rule(row, START)]
        assert not [row for row in members if noticeable(row) and dormant_rule(row, START)]


def test_some_members_cross_a_threshold_during_the_rehearsal_some_right_after_it_starts(population):
    # GIVEN a population of 3,000 members
    members, _ = population
    # WHEN we look for paying members not inactive on day one but inactive before the rehearsal ends
    crossing = [
        row for row in members if noticeable(row) and START < becomes_inactive_at(row) < END - relativedelta(months=3)
    ]
    # THEN there are some by each rule, and some cross within days of the start
    assert any(row["last_watched_at"] is None for row in crossing)
    assert any(row["last_watched_at"] is not None for row in crossing)
    assert any(becomes_inactive_at(row) - START <= timedelta(days=1) for row in crossing)


def test_non_paying_and_cancelled_members_include_some_who_look_inactive(population):
    # GIVEN a population of 3,000 members
    members, _ = population
    # WHEN the rules are applied to memberships the campaign must leave alone
    left_alone = [row for row in members if not noticeable(row)]
    # THEN some of them match a rule, so a rehearsal shows they get no notice
    assert any(never_watched_rule(row, START) or dormant_rule(row, START) for row in left_alone)


def test_actions_fall_inside_the_rehearsal_name_existing_members_and_come_in_time_order(population):
    # GIVEN the population and its actions
    members, actions = population
    ids = {row["member_id"] for row in members}
    # THEN every action is one the rehearsal knows, by a member of the rows, inside [start, start + 14 months)
    assert actions
    assert {action["do"] for action in actions} <= set(ACTIONS)
    assert all(set(action) == {"member_id", "at", "do"} for action in actions)
    assert all(action["member_id"] in ids for action in actions)
    times = [parse(action["at"]) for action in actions]
    assert all(START <= moment < END for moment in times)
    assert times == sorted(times)


def test_the_number_of_actions_stays_modest(population):
    # GIVEN the population of 3,000 members and their actions
    members, actions = population
    per_member = Counter(action["member_id"] for action in actions)
    # THEN there is at most about one action per member, and no member does more than a handful
    assert len(actions) <= len(members)
    assert max(per_member.values()) <= 4


def test_inactive_members_answer_the_notice_in_plausible_proportions(large_population):
    # GIVEN 20,000 members and what they do
    members, actions = large_population
    by_member = defaultdict(list)
    for action in actions:
        by_member[action["member_id"]].append(action)
    inactive = [row for row in members if noticeable(row) and becomes_inactive_at(row) <= START]
    # WHEN we look at the first thing each member inactive on day one does
    first = Counter((by_member[row["member_id"]] or [{"do": "nothing"}])[0]["do"] for row in inactive)
    share = {kind: count / len(inactive) for kind, count in first.items()}
    # THEN about a fifth keep on the page, fewer keep in the app, open only, cancel or watch again,
    # and the largest group never answers
    assert 0.12 <= share["keep"] <= 0.28
    assert 0.04 <= share["app_keep"] <= 0.16
    assert 0.04 <= share["open"] <= 0.16
    assert 0.08 <= share["cancel"] <= 0.22
    assert 0.01 <= share["watch"] <= 0.10
    assert share["nothing"] + share.get("rejoin", 0) >= 0.28
    assert max(share, key=share.get) == "nothing"


def test_answers_come_two_to_twenty_days_after_the_first_sweep(large_population):
    # GIVEN the members inactive on day one, whose notice goes out at the first 03:00 UTC sweep
    members, actions = large_population
    notice_at = first_sweep_at_or_after(START)
    inactive = {row["member_id"] for row in members if noticeable(row) and becomes_inactive_at(row) <= START}
    # WHEN we look at their answers to the notice
    answers = [action for action in actions if action["member_id"] in inactive and action["do"] != "rejoin"]
    first_answers = {}
    for action in answers:
        first_answers.setdefault(action["member_id"], parse(action["at"]))
    # THEN the notice goes out the next night, and every first answer comes 2 to 20 days after it
    assert notice_at == datetime(2025, 1, 16, 3, 0, tzinfo=UTC)
    assert first_answers
    assert all(timedelta(days=2) <= at - notice_at <= timedelta(days=20) for at in first_answers.values())


def test_rejoins_follow_a_cancellation_and_fall_within_the_retention(large_population):
    # GIVEN 20,000 members and what they do
    members, actions = large_population
    by_member = defaultdict(list)
    for action in actions:
        by_member[action["member_id"]].append(action)
    rejoiners = [member_id for member_id, done in by_member.items() if any(a["do"] == "rejoin" for a in done)]
    rows = {row["member_id"]: row for row in members}
    # THEN some cancelled members rejoin; none of them had kept; each rejoins once, after cancelling or
    # after the deadline passed unanswered, and within 10 months of that
    assert rejoiners
    for member_id in rejoiners:
        done = by_member[member_id]
        kinds = [action["do"] for action in done]
        assert kinds.count("rejoin") == 1 and kinds[-1] == "rejoin"
        assert not {"keep", "app_keep", "watch"} & set(kinds)
        notice_at = first_sweep_at_or_after(max(START, becomes_inactive_at(rows[member_id])))
        cancelled_by = parse(done[0]["at"]) if kinds[0] == "cancel" else notice_at + timedelta(days=32)
        rejoined = parse(done[-1]["at"])
        assert cancelled_by + timedelta(days=14) <= rejoined <= cancelled_by + relativedelta(months=10)


def test_a_start_without_a_time_zone_is_refused():
    # GIVEN a naive start time WHEN a population is asked for THEN it is refused rather than guessed
    with pytest.raises(ValueError, match="time zone"):
        generate(10, seed=1, start=datetime(2025, 1, 15))


def test_rows_survive_a_round_trip_through_jsonl(tmp_path, population):
    # GIVEN the rows of a population
    members, actions = population
    # WHEN they are written as JSONL and read back
    members_file = write_jsonl(members, tmp_path / "in" / "members.jsonl")
    actions_file = write_jsonl(actions, tmp_path / "in" / "actions.jsonl")
    # THEN each file holds one JSON object per line and reads back identical
    assert len(members_file.read_text(encoding="utf-8").splitlines()) == len(members)
    assert read_jsonl(members_file) == members
    assert read_jsonl(actions_file) == actions
