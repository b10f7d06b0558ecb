"""Item sizes the way DynamoDB counts them, from items in DynamoDB's JSON form
(``{"member_id": {"S": "m-000001"}, ...}``): what the 400 KB item limit, read units and write
units are measured in ("DynamoDB item sizes and formats",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).

Each attribute's name in UTF-8 bytes plus its value: strings in UTF-8 bytes, numbers about one
byte per two significant digits plus one, binary its raw bytes, booleans and nulls one byte,
lists and maps 3 bytes plus one byte per element plus their elements, sets the sum of their
elements. Used by the local cloud's AWS rules and by the benchmarks.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from typing import Any

CONTAINER_OVERHEAD_BYTES = 3
CONTAINER_ELEMENT_BYTES = 1


def item_bytes(item: Mapping[str, Mapping[str, Any]]) -> int:
    """The size DynamoDB gives one item. ``ValueError`` for a value DynamoDB has no type for."""
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
    mantissa = str(text).strip().lstrip("+-").split("e")[0].split("E")[0]
    digits = mantissa.replace(".", "").lstrip("0").rstrip("0") or "0"
    return math.ceil(len(digits) / 2) + 1


def _binary(content: bytes | str) -> bytes:
    return content if isinstance(content, bytes | bytearray) else base64.b64decode(content, validate=True)
