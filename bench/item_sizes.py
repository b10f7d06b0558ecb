"""Item sizes and read units the way DynamoDB counts them, from items in DynamoDB's JSON form
(``{"member_id": {"S": "m-000001"}, ...}``).

Size: each attribute's name in UTF-8 bytes plus its value (strings in UTF-8 bytes, numbers
about one byte per two significant digits plus one, booleans and nulls one byte, lists and maps
3 bytes plus one byte per element plus their elements). A Scan reads pages of at most 1 MB of
items, whatever the ProjectionExpression or FilterExpression keep, and each page costs one read
unit per 4 KB read, rounded up, and half that when eventually consistent.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping
from typing import Any

PAGE_BYTES = 1024 * 1024  # a Scan page reads at most 1 MB of items
READ_UNIT_BYTES = 4096
EVENTUALLY_CONSISTENT_SHARE = 0.5  # an eventually consistent read costs half a strongly consistent one
CONTAINER_OVERHEAD_BYTES = 3
CONTAINER_ELEMENT_BYTES = 1


def item_bytes(item: Mapping[str, Mapping[str, Any]]) -> int:
    """The size DynamoDB bills for one item."""
    return sum(len(name.encode("utf-8")) + value_bytes(value) for name, value in item.items())


def value_bytes(value: Mapping[str, Any]) -> int:
    ((kind, content),) = value.items()
    match kind:
        case "S":
            return len(content.encode("utf-8"))
        case "N":
            return _number_bytes(content)
        case "B":
            return len(_binary(content))
        case "BOOL" | "NULL":
            return 1
        case "SS":
            return sum(len(text.encode("utf-8")) for text in content)
        case "NS":
            return sum(_number_bytes(number) for number in content)
        case "BS":
            return sum(len(_binary(blob)) for blob in content)
        case "L":
            return CONTAINER_OVERHEAD_BYTES + sum(CONTAINER_ELEMENT_BYTES + value_bytes(element) for element in content)
        case "M":
            return CONTAINER_OVERHEAD_BYTES + sum(
                CONTAINER_ELEMENT_BYTES + len(name.encode("utf-8")) + value_bytes(element)
                for name, element in content.items()
            )
    raise ValueError(f"not a DynamoDB attribute value type: {kind!r}")


def _number_bytes(text: str) -> int:
    digits = text.lstrip("+-").replace(".", "").lstrip("0").rstrip("0") or "0"
    return math.ceil(len(digits) / 2) + 1


def _binary(content: bytes | str) -> bytes:
    return content if isinstance(content, bytes) else base64.b64decode(content)


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
