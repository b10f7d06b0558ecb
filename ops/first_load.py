"""The first load: millions of members from the business's export into the activity table.

``python -m ops load MEMBERS.jsonl`` (or ``members.csv``) first reads the whole file and checks
every row - the fields of a rehearsal's MEMBERS.jsonl line, each checked as the rehearsal checks
it - and stops with every problem found (file, line, field) before anything is written. Then it
writes the rows in order with BatchWriteItem, 25 items a request, retrying unprocessed items
with full-jitter exponential backoff (as AWS advises), and keeps a checkpoint beside the file:
after a crash, a lost connection or Ctrl-C, the same command carries on from the last row
written. The checkpoint names the file by its SHA-256, so a changed file starts over.

What it writes is what the rehearsal writes: the activity item of each member, and, for a row
with ``profiles``, the member-data item. It is meant for a table the product has not started
on (before the first sweep): a row overwrites the member it names. For a first deployment of
many millions, DynamoDB's import from S3 (README) creates the table from the files instead.
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lifecycle.adapters.dynamodb import backoff_seconds
from ops.rehearsal import KNOWN_MEMBER_FIELDS, RehearsalInputError, _member, activity_item, jsonl_rows, member_data_item

BATCH_ITEMS = 25  # BatchWriteItem's limit a request
MAX_ATTEMPTS = 10  # of one request whose items keep coming back unprocessed
BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS = 0.05, 20.0
CHECKPOINT_EVERY_ROWS = 1_000
MAX_PROBLEMS_SHOWN = 20


class LoadError(ValueError):
    """The file cannot be loaded: every problem, each with its file, line and field."""

    def __init__(self, problems: list[str], rows: int):
        self.problems = problems
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = f"\n… and {len(problems) - len(shown):,} more" if len(problems) > len(shown) else ""
        super().__init__(f"{len(problems):,} problem(s) in {rows:,} rows, nothing written:\n" + "\n".join(shown) + more)


class Unprocessed(RuntimeError):
    """DynamoDB kept handing items back: the table's capacity is far below the load's pace."""


@dataclass
class Summary:
    file: str
    rows: int = 0
    members_written: int = 0
    member_data_written: int = 0
    skipped_as_loaded: int = 0  # rows a checkpoint says an earlier run wrote
    requests: int = 0
    unprocessed_retried: int = 0
    seconds: float = 0.0

    @property
    def members_per_second(self) -> float:
        return self.members_written / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "members_per_second": round(self.members_per_second, 1)}


@dataclass
class Checkpoint:
    """How far a file was written: every row up to ``line`` (the file's own line number)."""

    path: Path
    sha256: str
    line: int = 0
    _saved_at: int = field(default=0, repr=False)

    @classmethod
    def for_file(cls, source: Path, sha256: str) -> Checkpoint:
        path = source.with_name(source.name + ".checkpoint.json")
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return cls(path, sha256)
        line = int(saved.get("line", 0)) if saved.get("sha256") == sha256 else 0  # a changed file starts over
        return cls(path, sha256, line, line)

    def advance(self, line: int, *, force: bool = False) -> None:
        self.line = line
        if force or line - self._saved_at >= CHECKPOINT_EVERY_ROWS:
            temporary = self.path.with_name(self.path.name + ".tmp")
            temporary.write_text(json.dumps({"sha256": self.sha256, "line": line}), encoding="utf-8")
            temporary.replace(self.path)  # atomic: a crash leaves the old checkpoint or the new one
            self._saved_at = line


# ------------------------------------------------------------------ reading
def rows_of(path: Path) -> Iterator[tuple[int, dict[str, Any] | RehearsalInputError]]:
    """(line number, row) of a JSONL or CSV file, as text; a line that cannot be read comes as
    the problem naming it, and the lines after it are read on."""
    return _csv_rows(path) if path.suffix.lower() == ".csv" else jsonl_rows(path)


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | RehearsalInputError]]:
    with path.open(encoding="utf-8", newline="") as text:
        reader = csv.DictReader(text)
        unknown = sorted(set(reader.fieldnames or []) - KNOWN_MEMBER_FIELDS)
        if unknown:
            yield 1, RehearsalInputError(f"{path}:1: column {unknown[0]}: not a member field "
                                         f"(known: {', '.join(sorted(KNOWN_MEMBER_FIELDS))})")
            return
        for row in reader:
            # an empty cell is a field left out (last_watched_at: never watched); profiles is JSON
            cells: dict[str, Any] = {name: value for name, value in row.items() if value not in ("", None)}
            if None in cells:  # more cells than columns
                yield reader.line_num, RehearsalInputError(f"{path}:{reader.line_num}: more cells than columns")
                continue
            if "profiles" in cells:
                try:
                    cells["profiles"] = json.loads(cells["profiles"])
                except json.JSONDecodeError:
                    yield reader.line_num, RehearsalInputError(f"{path}:{reader.line_num}: field profiles: not JSON")
                    continue
            yield reader.line_num, cells


def check(path: Path) -> tuple[int, str]:
    """Reads the whole file and checks every row; (rows, SHA-256 of the file) or ``LoadError``
    with every problem. Memory stays small: a row is checked and dropped, and of each member
    id only an 8-byte digest is kept (to find one given twice)."""
    if not path.is_file():
        raise LoadError([f"{path}: no such file"], 0)
    problems: list[str] = []
    seen: dict[bytes, int] = {}
    rows = 0
    try:
        for number, row in rows_of(path):
            rows += 1
            try:
                if isinstance(row, RehearsalInputError):
                    raise row
                member = _member(row, f"{path}:{number}")
            except RehearsalInputError as problem:
                problems.append(str(problem))
                continue
            digest = hashlib.blake2b(member["member_id"].encode("utf-8", "surrogatepass"), digest_size=8).digest()
            if digest in seen:
                problems.append(f"{path}:{number}: field member_id: {member['member_id']!r} is also on line "
                                f"{seen[digest]}")
            seen[digest] = number
    except UnicodeDecodeError as exc:
        problems.append(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})")
    if rows == 0 and not problems:
        problems.append(f"{path}: no members")
    if problems:
        raise LoadError(problems, rows)
    return rows, _sha256(path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ------------------------------------------------------------------ writing
def items_of(member: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The activity item and, when the row has profiles, the member-data item (DynamoDB JSON),
    as the rehearsal writes them."""
    return activity_item(member), member_data_item(member) if "profiles" in member else None


class BatchWriter:
    """Puts items 25 to a request; what DynamoDB hands back unprocessed is sent again after a
    backoff, until every item is written or ``MAX_ATTEMPTS`` requests in a row came back short."""

    def __init__(self, dynamodb: Any, summary: Summary, sleep: Callable[[float], None] = time.sleep):
        self.dynamodb, self.summary, self.sleep = dynamodb, summary, sleep
        self.pending: list[tuple[str, dict[str, Any]]] = []

    def put(self, table: str, item: dict[str, Any]) -> None:
        self.pending.append((table, item))
        if len(self.pending) == BATCH_ITEMS:
            self.flush()

    def flush(self) -> None:
        requests: dict[str, list[dict[str, Any]]] = {}
        for table, item in self.pending:
            requests.setdefault(table, []).append({"PutRequest": {"Item": item}})
        self.pending = []
        for attempt in range(MAX_ATTEMPTS):
            if not requests:
                return
            self.summary.requests += 1
            requests = self.dynamodb.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}
            if requests:
                self.summary.unprocessed_retried += sum(map(len, requests.values()))
                self.sleep(backoff_seconds(attempt, BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS))
        if requests:
            raise Unprocessed(f"{sum(map(len, requests.values()))} items still unprocessed after {MAX_ATTEMPTS} "
                              "requests: raise the table's write capacity, or load again later (it carries on)")


def load(path: Path, dynamodb: Any, activity_table: str, member_data_table: str,
         progress: Callable[[int], None] = lambda rows: None, checked: tuple[int, str] | None = None) -> Summary:
    """Checks ``path`` (unless ``checked`` is what ``check`` said of it already), then writes it
    from its checkpoint on; the summary of what was done. ``progress(rows)`` is told of the rows
    handled so far."""
    rows, sha256 = checked or check(path)
    summary = Summary(str(path), rows=rows)
    checkpoint = Checkpoint.for_file(path, sha256)
    writer = BatchWriter(dynamodb, summary)
    started = time.perf_counter()
    handled = 0
    for number, row in rows_of(path):
        handled += 1
        if number <= checkpoint.line:
            summary.skipped_as_loaded += 1
            continue
        if isinstance(row, RehearsalInputError):  # the file changed since it was checked
            raise row
        activity, made = items_of(_member(row, f"{path}:{number}"))
        writer.put(activity_table, activity)
        summary.members_written += 1
        if made is not None:
            writer.put(member_data_table, made)
            summary.member_data_written += 1
        if not writer.pending:  # every row up to this one is written
            checkpoint.advance(number)
        if handled % 1000 == 0:
            progress(handled)
    writer.flush()
    checkpoint.advance(number, force=True)
    progress(handled)
    summary.seconds = time.perf_counter() - started
    return summary
