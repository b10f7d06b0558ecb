"""The synthetic population (``ops.population``) as the items the rehearsal writes: activity
items exactly as ``ops.rehearsal.load_members`` builds them (profiles live in the member-data
table, not in the activity item), captured without any server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ops.population import generate
from ops.rehearsal import load_members, parse_time

POPULATION_SEED = 7
POPULATION_START = datetime(2026, 1, 1, tzinfo=UTC)
ACTIVITY_TABLE = "ActivityTable"
MEMBER_DATA_TABLE = "MemberDataTable"


class _CapturedWrites:
    """Stands in for the local cloud: ``load_members`` writes into lists instead of a table."""

    def __init__(self) -> None:
        self.items: dict[str, list[dict[str, Any]]] = {ACTIVITY_TABLE: [], MEMBER_DATA_TABLE: []}

    def table_name(self, logical_id: str) -> str:
        return logical_id

    def client(self, service: str) -> _CapturedWrites:
        return self

    def batch_write_item(self, RequestItems: dict[str, list[dict]]) -> dict:  # boto3 names the keyword so
        for table, requests in RequestItems.items():
            self.items[table].extend(request["PutRequest"]["Item"] for request in requests)
        return {}


def population_rows(members: int, seed: int = POPULATION_SEED, months: int = 1) -> list[dict[str, Any]]:
    """Member rows of the synthetic population on its first day."""
    rows, _ = generate(members, seed, POPULATION_START, months)
    return rows


def table_items(rows: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """(activity items, member-data items) in DynamoDB's JSON form, as the rehearsal writes them."""
    members = [
        {
            **row,
            "joined_at": parse_time(row["joined_at"], "joined_at"),
            "last_watched_at": None
            if row["last_watched_at"] is None
            else parse_time(row["last_watched_at"], "last_watched_at"),
        }
        for row in rows
    ]
    captured = _CapturedWrites()
    load_members(captured, members)
    return captured.items[ACTIVITY_TABLE], captured.items[MEMBER_DATA_TABLE]
