"""The rehearsal's mailbox of an address is worked out once an address: the same answer as
working it out again, for addresses SES can send to and for those it cannot."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ops.rehearsal import mailbox

ADDRESSES = ["anna@bücher.de", "Anna@Example.COM", "ünïcode@example.com", "no-at-sign", "a@b", "", "x@xn--bcher-kva.de"]


@given(address=st.one_of(st.sampled_from(ADDRESSES), st.emails(), st.text(max_size=12)))
def test_a_mailbox_is_the_same_worked_out_once_or_again(address):
    assert mailbox(address) == mailbox.__wrapped__(address) == mailbox(address)


def test_a_unicode_domain_is_one_mailbox_however_it_is_written():
    assert mailbox("anna@BÜCHER.de") == mailbox("anna@xn--bcher-kva.de") == "anna@xn--bcher-kva.de"
