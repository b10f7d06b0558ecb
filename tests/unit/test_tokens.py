"""Email link tokens: short, signed, expiring, single purpose, with key rotation."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifecycle.errors import ExpiredLink, InvalidLink
from lifecycle.tokens import MAX_TOKEN_LENGTH, LinkSigner, SigningKeys

KEY = "k" * 48
OTHER_KEY = "o" * 48
NOW = datetime(2026, 6, 1, tzinfo=UTC)
LATER = NOW + timedelta(days=40)


def test_a_token_names_its_notice_and_nothing_else():
    # GIVEN a token for one notice
    token = LinkSigner(SigningKeys(current=KEY)).sign("n-abc", LATER)
    # THEN it verifies to exactly that notice and expiry, and is short
    claims = LinkSigner(SigningKeys(current=KEY)).verify(token, NOW)
    assert (claims.notice_id, claims.expires_at) == ("n-abc", LATER)
    assert len(token) < 100


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1],  # truncated
        lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"),  # altered signature
        lambda t: "x" + t[1:],  # altered payload
        lambda t: "",  # empty
        lambda t: t + "." * 300,  # oversized
        lambda t: t.replace(".", ""),  # no separator
    ],
)
def test_a_damaged_token_is_invalid(tamper):
    token = LinkSigner(SigningKeys(current=KEY)).sign("n-abc", LATER)
    with pytest.raises(InvalidLink):
        LinkSigner(SigningKeys(current=KEY)).verify(tamper(token), NOW)


def test_a_token_signed_with_another_key_or_for_another_purpose_is_invalid():
    forged = LinkSigner(SigningKeys(current=OTHER_KEY)).sign("n-abc", LATER)
    other_purpose = LinkSigner(SigningKeys(current=KEY), purpose="password-reset").sign("n-abc", LATER)
    for token in (forged, other_purpose):
        with pytest.raises(InvalidLink):
            LinkSigner(SigningKeys(current=KEY)).verify(token, NOW)


def test_an_expired_token_says_so_and_whose_it_was():
    token = LinkSigner(SigningKeys(current=KEY)).sign("n-abc", LATER)
    with pytest.raises(ExpiredLink) as expired:
        LinkSigner(SigningKeys(current=KEY)).verify(token, LATER)
    assert expired.value.notice_id == "n-abc"


def test_rotation_keeps_old_links_working_until_the_previous_key_ends():
    # GIVEN a link signed before the key rotated
    old_token = LinkSigner(SigningKeys(current=OTHER_KEY)).sign("n-abc", LATER)
    rotated = SigningKeys(current=KEY, previous=OTHER_KEY, previous_valid_until=NOW + timedelta(days=7))
    # THEN it verifies while the previous key is valid, and not after
    assert LinkSigner(rotated).verify(old_token, NOW).notice_id == "n-abc"
    with pytest.raises(InvalidLink):
        LinkSigner(rotated).verify(old_token, NOW + timedelta(days=8))
    # AND new links are signed with the current key only
    new_token = LinkSigner(rotated).sign("n-abc", LATER)
    assert LinkSigner(SigningKeys(current=KEY)).verify(new_token, NOW).notice_id == "n-abc"


def test_the_secret_must_hold_a_real_key():
    with pytest.raises(ValueError, match="32 characters or more"):
        SigningKeys.from_secret({"current": "short"})
    keys = SigningKeys.from_secret(
        {"current": KEY, "previous": OTHER_KEY, "previous_valid_until": "2026-07-01T00:00:00Z"}
    )
    assert keys.verifying(NOW) == [OTHER_KEY, KEY]


@pytest.mark.parametrize(
    ("previous", "until", "problem"),
    [
        ("short", "2026-07-01T00:00:00Z", "at least 32"),  # a key anyone could guess
        (12345678901234567890123456789012345, "2026-07-01T00:00:00Z", "at least 32"),  # not text
        (OTHER_KEY, "next Tuesday", "previous_valid_until"),  # an end date nobody can read
        (OTHER_KEY, "2026-07-01", "previous_valid_until"),  # no time zone: which midnight?
        (OTHER_KEY, None, "previous_valid_until"),  # no end date: it would verify for ever
        (OTHER_KEY, 1782864000, "previous_valid_until"),
    ],
)
def test_a_previous_key_that_cannot_be_trusted_verifies_nothing_and_links_of_the_current_key_still_work(
    previous, until, problem
):
    # GIVEN a secret whose previous key is too short, or whose end date cannot be read
    secret = {"current": KEY, "previous": previous, "previous_valid_until": until}
    # WHEN the keys are read from it
    keys, problems = SigningKeys.with_problems(secret)
    # THEN the previous key is left out, with the reason, and the current key still verifies
    assert keys.verifying(NOW) == [KEY]
    assert len(problems) == 1 and problem in problems[0]
    token = LinkSigner(SigningKeys(current=KEY)).sign("n-abc", LATER)
    assert LinkSigner(keys).verify(token, NOW).notice_id == "n-abc"
    forged = LinkSigner(SigningKeys(current="short-but-long-enough-for-itsdangerous")).sign("n-abc", LATER)
    with pytest.raises(InvalidLink):
        LinkSigner(keys).verify(forged, NOW)


@pytest.mark.parametrize(
    "respell",
    [
        lambda t: (
            t[:-1] + chr(ord(t[-1]) + 1) if t[-1] not in "z_9-" else t[:-1] + "A"
        ),  # spare bits of the last letter
        lambda t: t[:10] + "é" + t[10:],  # outside the alphabet
        lambda t: t + "\n",  # trailing line break
    ],
)
def test_a_genuine_token_written_any_other_way_is_refused(respell):
    # GIVEN a genuine token and another spelling that base64 would decode to the same bytes
    token = LinkSigner(SigningKeys(current=KEY)).sign("n-abc", LATER)
    # THEN only the exact spelling verifies
    with pytest.raises(InvalidLink):
        LinkSigner(SigningKeys(current=KEY)).verify(respell(token), NOW)


@given(notice_id=st.one_of(st.text(min_size=1, max_size=24), st.sampled_from(["0" * 12, "AAAAAAAAAAAA", "n-sample-1"])))
def test_every_token_signing_writes_verifies_compressed_or_not(notice_id):
    # GIVEN any notice id, those zlib shortens (itsdangerous then writes a leading ".") included
    token = LinkSigner(SigningKeys(current=KEY)).sign(notice_id, LATER)
    # THEN the token verifies to it, and stays short
    assert LinkSigner(SigningKeys(current=KEY)).verify(token, NOW).notice_id == notice_id
    assert len(token) <= MAX_TOKEN_LENGTH


def test_a_compressed_token_verifies_and_an_added_dot_does_not():
    # GIVEN a payload zlib shortens: itsdangerous marks it with a leading "."
    token = LinkSigner(SigningKeys(current=KEY)).sign("0" * 24, LATER)
    assert token.startswith(".")
    # THEN it verifies, and a dot added to or taken from any token breaks it
    assert LinkSigner(SigningKeys(current=KEY)).verify(token, NOW).notice_id == "0" * 24
    plain = LinkSigner(SigningKeys(current=KEY)).sign("n-abc", LATER)
    for altered in (token[1:], "." + plain, ".." + token[1:]):
        with pytest.raises(InvalidLink):
            LinkSigner(SigningKeys(current=KEY)).verify(altered, NOW)
