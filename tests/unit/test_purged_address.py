"""The keyed hash a purged member's row keeps instead of the address: one value for every way a
person writes the same address (the domain's case, its Unicode or Punycode form, space around
it), another for any other address or key, and the HMAC-SHA256 of the label and the normalised
address, so that anyone holding the key can compute it without this code."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifecycle.addresses import (
    PURGED_ADDRESS,
    AddressKeyProblem,
    address_key,
    normalised_address,
    purged_address_hash,
)
from tests.real_world import addresses

KEY = b"address-hash-key-for-the-tests-only-0000000000000000"
OTHER_KEY = b"another-address-hash-key-for-the-tests-00000000000000"

# the same mailbox as people write it: (stored, told to support)
SAME_ADDRESS = [
    ("anna.schmidt@bücher.example", "anna.schmidt@xn--bcher-kva.example"),
    ("anna.schmidt@xn--bcher-kva.example", "Anna.Schmidt@BÜCHER.example"),
    ("jane.doe+tv@example.com", "  Jane.Doe+TV@Example.COM "),
    ("lucia.garcia@correo.example", "lucia.garcia@correo.example."),  # the root's dot
    ("taro@例え.jp", "taro@xn--r8jz45g.jp"),
    ("max@ｅｘａｍｐｌｅ.com", "max@example.com"),  # full-width letters, as a Japanese keyboard types them
    ("josé@example.com", "jose\u0301@example.com"),  # é composed, and e with its accent apart
]
# addresses that only look alike: each is its own mailbox
OTHER_ADDRESS = [
    ("jane.doe+tv@example.com", "jane.doe@example.com"),
    ("jane.doe@example.com", "janedoe@example.com"),
    ("anna@straße.example", "anna@strasse.example"),  # IDNA 2008: two domains
    ("anna@mail.example", "anna@mail.example.org"),
]


@pytest.mark.parametrize(("stored", "told"), SAME_ADDRESS)
def test_an_address_written_another_way_hashes_the_same(stored, told):
    assert purged_address_hash(told, KEY) == purged_address_hash(stored, KEY)


@pytest.mark.parametrize(("one", "other"), OTHER_ADDRESS)
def test_another_address_hashes_otherwise(one, other):
    assert purged_address_hash(one, KEY) != purged_address_hash(other, KEY)


def test_the_hash_is_hmac_sha256_of_the_label_and_the_normalised_address():
    address = "Anna.Schmidt@Bücher.Example"
    assert normalised_address(address) == "anna.schmidt@xn--bcher-kva.example"
    expected = hmac.new(KEY, b"purged-email:anna.schmidt@xn--bcher-kva.example", hashlib.sha256).hexdigest()
    assert purged_address_hash(address, KEY) == expected
    # the label keeps it apart from an HMAC of the bare address under the same key
    assert PURGED_ADDRESS == "purged-email:"
    assert expected != hmac.new(KEY, b"anna.schmidt@xn--bcher-kva.example", hashlib.sha256).hexdigest()


@given(addresses())
def test_the_domains_case_and_its_punycode_form_do_not_change_the_hash(address):
    local, _, domain = address.rpartition("@")
    stored = purged_address_hash(address, KEY)
    assert purged_address_hash(f"{local}@{domain.upper()}", KEY) == stored
    assert purged_address_hash(f"{local}@{domain.lower()}", KEY) == stored
    assert purged_address_hash(f"{local}@{domain.encode('idna').decode('ascii')}", KEY) == stored
    assert purged_address_hash(f" {address}\n", KEY) == stored


@given(addresses(), addresses())
def test_two_mailboxes_never_share_a_hash(one, other):
    if normalised_address(one) != normalised_address(other):
        assert purged_address_hash(one, KEY) != purged_address_hash(other, KEY)


@given(addresses())
def test_without_the_key_the_hash_is_another(address):
    assert purged_address_hash(address, OTHER_KEY) != purged_address_hash(address, KEY)
    assert len(purged_address_hash(address, KEY)) == 64 and address not in purged_address_hash(address, KEY)


@given(st.text())
def test_whatever_the_business_stored_is_hashed(text):
    """The business's events check only that an address has an @: the purge never fails on one."""
    digest = purged_address_hash(text, KEY)
    assert len(digest) == 64 and int(digest, 16) >= 0


@pytest.mark.parametrize(
    "secret",
    [None, "k" * 64, {}, {"key": None}, {"key": 12345678901234567890123456789012}, {"key": "short"}, ["k" * 64]],
)
def test_a_secret_without_a_usable_key_is_refused(secret):
    with pytest.raises(AddressKeyProblem, match="'key' of 32 characters or more"):
        address_key(secret)


def test_the_secrets_key_is_used_as_written():
    assert address_key({"key": "K" * 32, "key_id": "a1"}) == b"K" * 32
