"""Member data as real systems write it, for every tier's tests: member ids of every shape, and
addresses. One place, so every test meets the same real world."""

from __future__ import annotations

import string

from hypothesis import strategies as st

HEX = "0123456789abcdef"
BASE62 = string.digits + string.ascii_letters

# ids the way subscription, payment and identity systems write them (the first nine are the
# ones a review found broken), and ids that are awkward in a URL path
MEMBER_IDS = [
    "00000000-0000-0000-0000-000000000042",
    "member-000000000000000000000123",
    "m-000000000000000000007",
    "user_0000000000000000000000000000001234",
    "acct:00000000000000000000000000000001",
    "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
    "cus_NffrFeUfNV2Hib",
    "1234567890123456789",
    "9b2f7c1e-4d3a-4f6b-8e2d-1a5c7b9e0f13",
    "auth0|5f7c8ec7c33c6c004bbafe82",
    "jane.doe+tv@example.com",
    "müller-7",
    "会員-0042",
    "team/42/ana",  # a "/" in an id: one path segment, sent as %2F
    "50%off",
    "%41",  # decoded twice it would name "A"
    "a_5F",  # looks like an escape of the SES tag encoding
]


def member_ids(max_size: int = 128) -> st.SearchStrategy[str]:
    """Any member id a real system writes, and any text DynamoDB can hold as a key (1 to
    ``max_size`` characters, non-ASCII and punctuation included)."""
    padded = st.integers(0, 10**9)
    return st.one_of(
        st.sampled_from(MEMBER_IDS),
        st.uuids().map(str),
        padded.map(lambda n: f"00000000-0000-0000-0000-{n:012d}"),
        st.integers(10**17, 2**63 - 1).map(str),  # snowflakes
        st.text(BASE62, min_size=14, max_size=24).map("cus_".__add__),
        st.text(HEX, min_size=24, max_size=24).map("auth0|".__add__),
        st.text(string.digits, min_size=21, max_size=21).map("google-oauth2|".__add__),
        st.emails(),  # an email address used as the id
        padded.map(lambda n: f"member-{n:024d}"),
        padded.map(lambda n: f"m-{n:021d}"),
        padded.map(lambda n: f"user_{n:034d}"),
        padded.map(lambda n: f"acct:{n:032d}"),
        st.integers(1, max_size).map(lambda n: "a" * n),  # a run of one letter
        st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=max_size),
    )


def addresses() -> st.SearchStrategy[str]:
    """Addresses SES can send to: ASCII before the @, any domain (Unicode ones go out in Punycode)."""
    local = st.from_regex(r"[a-z0-9]([a-z0-9._+-]{0,30}[a-z0-9])?", fullmatch=True).filter(lambda s: ".." not in s)
    domain = st.sampled_from(["example.com", "Mail.Example.ORG", "bücher.example", "xn--bcher-kva.example", "例え.jp"])
    return st.tuples(local, domain).map(lambda parts: f"{parts[0]}@{parts[1]}")
