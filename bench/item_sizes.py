"""Read units the way DynamoDB counts them, from item sizes (``local.dynamodb_sizes``, the
rule the local cloud's 400 KB limit uses too). A Scan reads pages of at most 1 MB of items,
whatever the ProjectionExpression or FilterExpression keep, and each page costs one read unit
per 4 KB read, rounded up, and half that when eventually consistent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from local.dynamodb_sizes import item_bytes

__all__ = ["PAGE_BYTES", "item_bytes", "page_read_units", "pages_of", "scan_read_units", "split_by_counts"]

PAGE_BYTES = 1024 * 1024  # a Scan page reads at most 1 MB of items
READ_UNIT_BYTES = 4096
EVENTUALLY_CONSISTENT_SHARE = 0.5  # an eventually consistent read costs half a strongly consistent one


def page_read_units(page_bytes: int, eventually_consistent: bool = True) -> float:
    """Read units of one Scan page that read ``page_bytes`` bytes of items."""
    units = math.ceil(page_bytes / READ_UNIT_BYTES)
    return units * EVENTUALLY_CONSISTENT_SHARE if eventually_consistent else float(units)


def pages_of(sizes: Iterable[int], page_limit: int = PAGE_BYTES) -> list[int]:
    """Bytes read by each page of a Scan over items of these sizes, in table order: a page
    stops before the item that would take it past the limit."""
    pages, current = [], 0
    for size in sizes:
        if current and current + size > page_limit:
            pages.append(current)
            current = 0
        current += size
    if current:
        pages.append(current)
    return pages


def split_by_counts(sizes: list[int], counts: Iterable[int]) -> list[int]:
    """Bytes read by each page, given how many items each page scanned (its ``ScannedCount``)
    and every item's size in table order."""
    pages, first = [], 0
    for count in counts:
        pages.append(sum(sizes[first : first + count]))
        first += count
    return pages


def scan_read_units(page_sizes: Iterable[int], eventually_consistent: bool = True) -> float:
    return sum(page_read_units(size, eventually_consistent) for size in page_sizes)
