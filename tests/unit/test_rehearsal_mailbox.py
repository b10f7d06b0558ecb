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


class _Cloud:
    def __init__(self) -> None:
        self.now, self.sent = 0, []

    def sent_emails(self) -> list:
        return list(self.sent)


class _MailboxReadingEverything:
    """The rehearsal's mailbox as it was: every email sent, read again whenever the clock moved."""

    def __init__(self, cloud: _Cloud) -> None:
        self.cloud, self.by_address, self.read_at = cloud, {}, None

    def refresh(self) -> None:
        if self.read_at != self.cloud.now:
            self.by_address = {}
            for mail in self.cloud.sent_emails():
                for address in mail.to:
                    self.by_address.setdefault(mailbox(address), []).append(mail)
            self.read_at = self.cloud.now

    def to(self, address: str) -> list:
        return self.by_address.get(mailbox(address), [])


@given(steps=st.lists(st.tuples(st.booleans(), st.lists(st.lists(st.sampled_from(ADDRESSES[:3]), min_size=1,
                                                                   max_size=2), max_size=3)), max_size=8))
def test_the_mailbox_reads_only_new_mail_and_finds_what_reading_it_all_again_found(steps):
    from local.outbox import SentEmail
    from ops.rehearsal import _Mailbox

    # GIVEN mail sent as the clock moves (or does not)
    cloud = _Cloud()
    box, before = _Mailbox(cloud), _MailboxReadingEverything(cloud)
    for moved, batch in steps:
        cloud.now += moved
        cloud.sent += [SentEmail(f"id{len(cloud.sent) + n}", "from@x", tuple(to)) for n, to in enumerate(batch)]
        # WHEN both are read again
        box.refresh()
        before.refresh()
        # THEN each address holds the same mail
        for address in ADDRESSES:
            assert box.to(address) == before.to(address)
