"""The member id, carried in SES message tags so that a bounce or a complaint finds its member.

SES allows only ASCII letters, digits, ``_`` and ``-`` in a tag value, 256 characters at most
(API Reference, "MessageTag"), and refuses the whole email otherwise; real member ids hold
anything (``auth0|5f7c…``, ``acct:…``, an email address, non-ASCII). So the id is written with
every byte outside letters, digits and ``-`` as ``_`` and two hex digits (``auth0|5f`` is
``auth0_7C5f``: still readable in the SES console), split over as many tags as it needs
(``member``, ``member-2``, …), and read back exactly.
"""

from __future__ import annotations

import re
import string

MEMBER_TAG = "member"
MAX_TAG_VALUE = 256  # SES: "Contain 256 characters or fewer."
_KEPT = frozenset((string.ascii_letters + string.digits + "-").encode("ascii"))
_ESCAPED = re.compile(r"_([0-9A-F]{2})")
_TAG_VALUE = re.compile(r"[A-Za-z0-9_-]{1,256}")


def member_tags(member_id: str) -> list[dict[str, str]]:
    """SES message tags that carry ``member_id``."""
    encoded = "".join(chr(byte) if byte in _KEPT else f"_{byte:02X}" for byte in member_id.encode("utf-8"))
    # never split an escape: a chunk ends before a "_" that has fewer than two characters after it
    chunks, start = [], 0
    while start < len(encoded):
        end = min(start + MAX_TAG_VALUE, len(encoded))
        if end < len(encoded):
            underscore = encoded.rfind("_", max(start, end - 2), end)
            if underscore != -1:
                end = underscore
        chunks.append(encoded[start:end])
        start = end
    return [{"Name": _tag_name(index), "Value": chunk} for index, chunk in enumerate(chunks)]


def member_from_tags(tags: dict[str, list[str]]) -> str | None:
    """The member id that ``member_tags`` wrote, from the tags SES hands back with an event
    (``{"member": ["…"], "member-2": ["…"], …}``); None when they hold none, or not as written."""
    chunks, index = [], 0
    while isinstance(values := tags.get(_tag_name(index)), list) and values and isinstance(values[0], str):
        chunks.append(values[0])
        index += 1
    if not chunks or not all(_TAG_VALUE.fullmatch(chunk) for chunk in chunks):
        return None
    encoded = "".join(chunks)
    if "_" in _ESCAPED.sub("", encoded):
        return None  # an underscore that escapes nothing: not written by member_tags
    raw, at = bytearray(), 0
    for escape in _ESCAPED.finditer(encoded):
        raw += encoded[at : escape.start()].encode("ascii")
        raw.append(int(escape.group(1), 16))
        at = escape.end()
    raw += encoded[at:].encode("ascii")
    try:
        return raw.decode("utf-8") or None
    except UnicodeDecodeError:
        return None


def _tag_name(index: int) -> str:
    return MEMBER_TAG if index == 0 else f"{MEMBER_TAG}-{index + 1}"
