"""Email link tokens: short, signed, expiring, single purpose, with key rotation."""

from datetime import UTC, datetime, timedelta

import pytest

from lifecycle.errors import ExpiredLink, InvalidLink
from lifecycle.tokens import LinkSigner, SigningKeys

KEY = "k" * 48
OTHER_KEY = "o" * 48
NOW = datetime(2026, 6, 1, tzinfo=UTC)
LATER = NOW + timedelta(days=40)


def test_a_token_names_its_member_and_notice_and_nothing_else():
    # GIVEN a token for one member's notice
    token = LinkSigner(SigningKeys(current=KEY)).sign("m-42", "n-abc", LATER)
    # THEN it verifies to exactly that member and notice, is short, and holds no email address
    claims = LinkSigner(SigningKeys(current=KEY)).verify(token, NOW)
    assert (claims.member_id, claims.notice_id, claims.expires_at) == ("m-42", "n-abc", LATER)
    assert len(token) < 120
    assert "@" not in token


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
    token = LinkSigner(SigningKeys(current=KEY)).sign("m-42", "n-abc", LATER)
    with pytest.raises(InvalidLink):
        LinkSigner(SigningKeys(current=KEY)).verify(tamper(token), NOW)


def test_a_token_signed_with_another_key_or_for_another_purpose_is_invalid():
    forged = LinkSigner(SigningKeys(current=OTHER_KEY)).sign("m-42", "n-abc", LATER)
    other_purpose = LinkSigner(SigningKeys(current=KEY), purpose="password-reset").sign("m-42", "n-abc", LATER)
    for token in (forged, other_purpose):
        with pytest.raises(InvalidLink):
            LinkSigner(SigningKeys(current=KEY)).verify(token, NOW)


def test_an_expired_token_says_so_and_whose_it_was():
    token = LinkSigner(SigningKeys(current=KEY)).sign("m-42", "n-abc", LATER)
    with pytest.raises(ExpiredLink) as expired:
        LinkSigner(SigningKeys(current=KEY)).verify(token, LATER)
    assert expired.value.member_id == "m-42"


def test_rotation_keeps_old_links_working_until_the_previous_key_ends():
    # GIVEN a link signed before the key rotated
    old_token = LinkSigner(SigningKeys(current=OTHER_KEY)).sign("m-42", "n-abc", LATER)
    rotated = SigningKeys(current=KEY, previous=OTHER_KEY, previous_valid_until=NOW + timedelta(days=7))
    # THEN it verifies while the previous key is valid, and not after
    assert LinkSigner(rotated).verify(old_token, NOW).member_id == "m-42"
    with pytest.raises(InvalidLink):
        LinkSigner(rotated).verify(old_token, NOW + timedelta(days=8))
    # AND new links are signed with the current key only
    new_token = LinkSigner(rotated).sign("m-42", "n-abc", LATER)
    assert LinkSigner(SigningKeys(current=KEY)).verify(new_token, NOW).notice_id == "n-abc"


def test_the_secret_must_hold_a_real_key():
    with pytest.raises(ValueError, match="at least 32"):
        SigningKeys.from_secret({"current": "short"})
    keys = SigningKeys.from_secret(
        {"current": KEY, "previous": OTHER_KEY, "previous_valid_until": "2026-07-01T00:00:00Z"}
    )
    assert keys.verifying(NOW) == [OTHER_KEY, KEY]


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
    token = LinkSigner(SigningKeys(current=KEY)).sign("m-42", "n-abc", LATER)
    # THEN only the exact spelling verifies
    with pytest.raises(InvalidLink):
        LinkSigner(SigningKeys(current=KEY)).verify(respell(token), NOW)
