"""The first load (``python -m ops load``) into the stack's tables on the local cloud: every row
checked before anything is written, batches retried when DynamoDB hands items back, and a load
cut short carried on from its checkpoint."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ops.__main__ import main
from ops.first_load import CHECKPOINT_EVERY_ROWS, load
from tests.real_world import MEMBER_IDS, addresses, member_ids

LOCALES = ["en-US", "fr-FR", "de-DE", "pt-BR", "ja-JP", "es-MX", "zh-Hant-TW"]


def member_line(member_id: str, n: int, **fields: object) -> dict[str, object]:
    """A member as a business's export writes one: times with their own offsets, prices as text."""
    return {
        "member_id": member_id,
        "email": f"member{n}@bücher.example" if n % 3 == 0 else f"m.{n}+tv@example.com",
        "locale": LOCALES[n % len(LOCALES)],
        "joined_at": f"20{15 + n % 10}-0{1 + n % 9}-1{n % 10}T0{n % 10}:30:00+0{n % 6}:00",
        "last_watched_at": None if n % 4 == 0 else f"2026-0{1 + n % 5}-0{1 + n % 9}T21:15:07.250Z",
        "status": "active",
        "monthly_price": ["9.99", "15.49", "0.00", "1200"][n % 4],
        "currency": ["EUR", "USD", "BRL", "JPY"][n % 4],
        **fields,
    }


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def tables_of(stack) -> list[str]:
    return ["--activity-table", stack.cloud.table_name("ActivityTable"),
            "--member-data-table", stack.cloud.table_name("MemberDataTable")]


def stored_ids(stack) -> set[str]:
    dynamodb, ids, start = stack.cloud.client("dynamodb"), set(), {}
    while True:
        page = dynamodb.scan(TableName=stack.cloud.table_name("ActivityTable"), ProjectionExpression="member_id",
                             **start)
        ids |= {item["member_id"]["S"] for item in page["Items"]}
        if "LastEvaluatedKey" not in page:
            return ids
        start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def test_members_of_every_id_shape_are_loaded_as_the_service_keeps_them_and_a_second_run_writes_nothing(
        stack, tmp_path, capsys):
    # GIVEN an export of members with ids of every shape real systems write, one with profiles
    rows = [member_line(member_id, n) for n, member_id in enumerate(MEMBER_IDS)]
    rows[1]["profiles"] = [{"name": "Zoë", "my_list": ["Dark"], "preferences": {"subtitles": "de"}}]
    export = write_jsonl(tmp_path / "members.jsonl", rows)
    # WHEN it is loaded
    assert main(["load", str(export), *tables_of(stack)]) == 0
    summary = json.loads(capsys.readouterr().out)
    # THEN every member is in the activity table, times in UTC as the product stores them
    assert summary["members_written"] == len(rows) and summary["member_data_written"] == 1
    assert stored_ids(stack) == set(MEMBER_IDS)
    first = stack.member(MEMBER_IDS[1])
    assert first["joined_at"] == "2016-02-11T00:30:00Z"  # 01:30 at +01:00
    assert first["last_watched_at"] == "2026-02-02T21:15:07Z"
    assert first["monthly_price"] == "15.49" and first["currency"] == "USD"
    assert "last_watched_at" not in stack.member(MEMBER_IDS[0])  # never watched
    assert stack.profiles(MEMBER_IDS[1]) == rows[1]["profiles"]
    # AND loading the same file again (the checkpoint says it is all written) writes nothing
    assert main(["load", str(export), *tables_of(stack)]) == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["members_written"], again["skipped_as_loaded"], again["requests"]) == (0, len(rows), 0)


def test_a_csv_export_with_empty_cells_and_profiles_as_json_loads_the_same(stack, tmp_path, capsys):
    rows = [member_line(f"cus_{n:014d}", n) for n in range(40)]
    rows[3]["profiles"] = json.dumps([{"name": "Kai", "my_list": [], "preferences": {}}])
    path = tmp_path / "members.csv"
    with path.open("w", encoding="utf-8", newline="") as text:
        writer = csv.DictWriter(text, fieldnames=[*rows[0], "profiles"])
        writer.writeheader()
        writer.writerows({**row, "last_watched_at": row["last_watched_at"] or ""} for row in rows)
    assert main(["load", str(path), *tables_of(stack)]) == 0
    assert json.loads(capsys.readouterr().out)["members_written"] == 40
    assert stored_ids(stack) == {row["member_id"] for row in rows}
    assert "last_watched_at" not in stack.member("cus_00000000000000")
    assert stack.profiles("cus_00000000000003") == [{"name": "Kai", "my_list": [], "preferences": {}}]


def test_every_bad_row_is_named_by_file_line_and_field_and_nothing_is_written(stack, tmp_path, capsys):
    rows = [member_line(f"auth0|{n:024x}", n) for n in range(10)]
    rows[2]["email"] = "not an address"
    rows[4]["joined_at"] = "2021-03-01 10:00"  # no zone
    rows[6]["member_id"] = rows[5]["member_id"]  # given twice
    rows[8]["plan"] = "premium"  # not a member field
    path = write_jsonl(tmp_path / "members.jsonl", rows)
    with path.open("a", encoding="utf-8") as text:
        text.write('{"member_id": "cut-short"\n')
    assert main(["load", str(path), *tables_of(stack)]) == 2
    problems = capsys.readouterr().err
    assert "5 problem(s) in 11 rows, nothing written" in problems
    for expected in (f"{path}:3: field email", f"{path}:5: field joined_at", f"{path}:7: field member_id",
                     "is also on line 6", f"{path}:9: field plan", f"{path}:11: not valid JSON"):
        assert expected in problems
    assert stored_ids(stack) == set()
    # AND --check-only on a good file writes nothing either
    good = write_jsonl(tmp_path / "good.jsonl", [member_line("m-1", 1)])
    assert main(["load", str(good), "--check-only", *tables_of(stack)]) == 0
    assert stored_ids(stack) == set()


class HandsItemsBack:
    """DynamoDB under a load above its capacity: each request writes only its first half and
    hands the rest back as UnprocessedItems (what BatchWriteItem does when throttled)."""

    def __init__(self, dynamodb):
        self.dynamodb, self.calls = dynamodb, 0

    def batch_write_item(self, RequestItems):
        self.calls += 1
        written, back = {}, {}
        for table, requests in RequestItems.items():
            half = (len(requests) + 1) // 2
            written[table], back[table] = requests[:half], requests[half:]
        self.dynamodb.batch_write_item(RequestItems={t: r for t, r in written.items() if r})
        return {"UnprocessedItems": {t: r for t, r in back.items() if r}}


class CutShort(HandsItemsBack):
    """The connection lost after ``after`` requests."""

    def __init__(self, dynamodb, after: int):
        super().__init__(dynamodb)
        self.after = after

    def batch_write_item(self, RequestItems):
        self.calls += 1
        if self.calls > self.after:
            raise ConnectionError("connection reset by peer")
        return self.dynamodb.batch_write_item(RequestItems=RequestItems)


def test_items_handed_back_are_sent_again_until_all_are_written(stack, tmp_path):
    rows = [member_line(f"google-oauth2|{n:021d}", n) for n in range(60)]
    throttled = HandsItemsBack(stack.cloud.client("dynamodb"))
    summary = load(write_jsonl(tmp_path / "members.jsonl", rows), throttled, stack.cloud.table_name("ActivityTable"),
                   stack.cloud.table_name("MemberDataTable"))
    assert stored_ids(stack) == {row["member_id"] for row in rows}
    assert summary.unprocessed_retried > 0 and summary.requests == throttled.calls > 60 / 25


def test_a_load_cut_short_carries_on_from_its_checkpoint(stack, tmp_path):
    # GIVEN an export of 2,500 members, and a connection lost after 50 requests (1,250 members)
    rows = [member_line(f"{10**17 + n}", n) for n in range(2_500)]
    export = write_jsonl(tmp_path / "members.jsonl", rows)
    tables = stack.cloud.table_name("ActivityTable"), stack.cloud.table_name("MemberDataTable")
    with pytest.raises(ConnectionError):
        load(export, CutShort(stack.cloud.client("dynamodb"), after=50), *tables)
    assert 0 < len(stored_ids(stack)) < len(rows)
    # WHEN the same load is run again
    summary = load(export, stack.cloud.client("dynamodb"), *tables)
    # THEN it starts from the checkpoint (the rows before it are not sent again) and ends with all
    assert summary.skipped_as_loaded == CHECKPOINT_EVERY_ROWS
    assert summary.members_written == len(rows) - CHECKPOINT_EVERY_ROWS
    assert stored_ids(stack) == {row["member_id"] for row in rows}
    # AND a changed file starts over
    write_jsonl(export, [*rows, member_line("m-new", 1)])
    assert load(export, stack.cloud.client("dynamodb"), *tables).skipped_as_loaded == 0


def test_the_tables_can_be_named_by_the_stack_outputs(stack, tmp_path, capsys):
    # GIVEN a CloudFormation stack whose outputs name the tables (as `sam deploy` leaves them)
    outputs = {"ActivityTableName": stack.cloud.table_name("ActivityTable"),
               "MemberDataTableName": stack.cloud.table_name("MemberDataTable")}
    stack.cloud.client("cloudformation").create_stack(StackName="membership-prod", TemplateBody=json.dumps({
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "membership-prod-any"}}},
        "Outputs": {name: {"Value": value} for name, value in outputs.items()}}))
    export = write_jsonl(tmp_path / "members.jsonl", [member_line("m-7", 7)])
    assert main(["load", str(export), "--stack", "membership-prod"]) == 0
    assert stored_ids(stack) == {"m-7"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# a blank id (whitespace only) is refused by the check, with its line: no real system writes one
@given(ids=st.lists(member_ids().filter(str.strip), min_size=1, max_size=30, unique=True), email=addresses())
def test_any_member_id_and_address_loads_and_reads_back(stack, tmp_path_factory, ids, email):
    rows = [member_line(member_id, n, email=email) for n, member_id in enumerate(ids)]
    export = write_jsonl(tmp_path_factory.mktemp("load") / "members.jsonl", rows)
    summary = load(export, stack.cloud.client("dynamodb"), stack.cloud.table_name("ActivityTable"),
                   stack.cloud.table_name("MemberDataTable"))
    assert summary.members_written == len(ids)
    assert set(ids) <= stored_ids(stack)


def test_a_table_that_does_not_exist_is_a_clear_error_and_a_stack_without_the_outputs_too(stack, tmp_path, capsys):
    export = write_jsonl(tmp_path / "members.jsonl", [member_line("m-1", 1)])
    assert main(["load", str(export), "--activity-table", "membership-activity-typo",
                 "--member-data-table", "membership-member-data-typo"]) == 1
    assert "DynamoDB refused the load" in capsys.readouterr().err
    assert main(["load", str(export), "--stack", "no-such-stack"]) == 2
    assert "cannot read the stack no-such-stack" in capsys.readouterr().err
    assert stored_ids(stack) == set()
