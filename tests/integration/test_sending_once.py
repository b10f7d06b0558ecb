"""Each email goes out once, even when two senders meet on the same lifecycle record (the
stream's notify function and the sweep's catch-up, or a delivery retried while the first is
still sending): a sender holds a lease until its invocation's deadline; another sender meanwhile
sends nothing; a sender that died is replaced by its own retry at once, or by anyone once its
lease has run out."""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from lifecycle.adapters.ses import SesMailer
from lifecycle.campaign import open_notice
from lifecycle.errors import SendInProgress
from lifecycle.membership import NOTICE, Claim, LifecycleChange, SendLease
from lifecycle.models import LifecycleRecord
from lifecycle.notifications import announce, catch_up
from lifecycle.policy import Inactivity
from lifecycle.settings import Settings
from lifecycle.store import Store
from tests.stack import FIRST_SWEEP

NOW = FIRST_SWEEP + timedelta(hours=2)  # the catch-up looks at notices older than an hour
WAIT = 30  # seconds a thread may wait for the other one before the test fails


class SenderInsideSes(SesMailer):
    """SES whose send holds on until the test lets it go: the moment two senders overlap."""

    def __init__(self, settings: Settings):
        super().__init__(settings.sender_address, settings.configuration_set)
        self.sending, self.go_on = threading.Event(), threading.Event()

    def send(self, *args, **kwargs):
        self.sending.set()
        assert self.go_on.wait(WAIT), "the test never let the first sender go on"
        return super().send(*args, **kwargs)


class RefusingSes(SesMailer):
    """SES refusing every send, as when it throttles."""

    def send(self, *args, **kwargs):
        raise RuntimeError("Throttling: Maximum sending rate exceeded")


def notice_without_its_email(stack, member_id: str) -> tuple[Settings, LifecycleChange]:
    """An open notice whose stream record has not been delivered yet (nothing sent so far)."""
    settings = Settings.from_env(dict(stack.cloud.stack.function("NotifyFunction").environment))
    store = Store.on_aws(settings)
    stack.add_inactive_member(member_id)
    assert open_notice(store, store.members.snapshot(member_id), Inactivity.DORMANT, FIRST_SWEEP, settings.policy)
    notice = store.lifecycle.notice(member_id)
    return settings, LifecycleChange("INSERT", member_id, NOTICE, notice, None, event_id="record-1")


def test_two_senders_at_once_send_one_email(stack):
    # GIVEN a notice whose email nobody has sent yet
    settings, change = notice_without_its_email(stack, "m-two-senders")
    inside_ses = SenderInsideSes(settings)
    first = Store.on_aws(settings, mailer=inside_ses)
    with ThreadPoolExecutor(max_workers=1) as pool:
        # WHEN the stream's sender is inside SES with it
        lease = SendLease("stream:record-1", NOW + timedelta(seconds=60))
        sending = pool.submit(announce, first, change, NOW, settings, lease)
        assert inside_ses.sending.wait(WAIT)
        # AND the sweep's catch-up meets the same notice, and a second sender tries it outright
        other = Store.on_aws(settings)
        caught_up = catch_up(
            other, other.members.snapshot("m-two-senders").view, NOW, settings, SendLease("sweep:r:0", NOW)
        )
        with pytest.raises(SendInProgress):
            announce(other, change, NOW, settings, SendLease("stream:record-2", NOW + timedelta(seconds=60)))
        inside_ses.go_on.set()
        assert sending.result(WAIT) == ["notice"]
    # THEN neither of the others sent it
    assert caught_up == []
    # AND when the stream record itself arrives, nothing more goes out: one email in all
    stack.cloud.settle()
    assert stack.email_kinds("m-two-senders") == ["notice"]


def test_a_sender_that_died_is_replaced_by_its_own_retry_at_once(stack):
    # GIVEN a sender that claimed the notice email and died before sending it
    settings, change = notice_without_its_email(stack, "m-crashed-sender")
    store = Store.on_aws(settings)
    dead = SendLease("stream:record-1", NOW + timedelta(seconds=60))
    assert store.lifecycle.claim("m-crashed-sender", NOTICE, "notice_email_at", NOW, dead) is Claim.CLAIMED
    # WHEN another sender comes while the dead one's lease would still run
    with pytest.raises(SendInProgress):
        announce(store, change, NOW, settings, SendLease("sweep:r:0", NOW + timedelta(seconds=900)))
    assert stack.email_kinds("m-crashed-sender") == []
    # AND the same stream record is retried, as Lambda retries a failed batch
    sent = announce(store, change, NOW + timedelta(seconds=5), settings, dead)
    # THEN the retry sends it, once
    assert sent == ["notice"]
    stack.cloud.settle()
    assert stack.email_kinds("m-crashed-sender") == ["notice"]


def test_a_lease_that_ran_out_is_anyones(stack):
    # GIVEN a sender that claimed the notice email and died; its delivery never comes back
    settings, _ = notice_without_its_email(stack, "m-lost-sender")
    store = Store.on_aws(settings)
    assert (
        store.lifecycle.claim("m-lost-sender", NOTICE, "notice_email_at", NOW, SendLease("sweep:r:3", NOW))
        is Claim.CLAIMED
    )
    # WHEN the next night's catch-up meets it, the lease long over
    tomorrow = NOW + timedelta(days=1)
    sent = catch_up(
        store, store.members.snapshot("m-lost-sender").view, tomorrow, settings, SendLease("sweep:s:0", tomorrow)
    )
    # THEN it sends the email, once
    assert sent == ["notice"]
    stack.cloud.settle()
    assert stack.email_kinds("m-lost-sender") == ["notice"]


def test_a_failed_send_gives_its_lease_back_so_the_next_try_need_not_wait(stack):
    # GIVEN SES refusing the first try
    settings, change = notice_without_its_email(stack, "m-throttled")

    with pytest.raises(RuntimeError):
        lease = SendLease("stream:record-1", NOW + timedelta(seconds=60))
        announce(Store.on_aws(settings, mailer=RefusingSes(settings.sender_address)), change, NOW, settings, lease)
    # WHEN another sender tries at once
    store = Store.on_aws(settings)
    sent = announce(store, change, NOW, settings, SendLease("sweep:r:0", NOW + timedelta(seconds=900)))
    # THEN it sends: the failed sender's lease was given back
    assert sent == ["notice"]
    assert LifecycleRecord.get("m-throttled", NOTICE, consistent_read=True).lease_owner is None


@pytest.mark.parametrize(("seconds_left", "held_for"), [(42.5, 42.5), (-3, 0), (3600, 900), (math.inf, 900)])
def test_a_lease_lasts_as_long_as_its_sender_can_live_and_never_beyond_a_lambda_invocation(seconds_left, held_for):
    # GIVEN a sender with this much time left (a worker run outside Lambda has no deadline at all)
    # WHEN it takes a lease for its delivery
    lease = SendLease.for_delivery("sweep:r:0", NOW, seconds_left)
    # THEN others may take the delivery over once that sender is surely gone: 15 minutes at most
    assert lease == SendLease("sweep:r:0", NOW + timedelta(seconds=held_for))


def test_the_catch_up_leaves_a_notice_without_its_opening_time_be(stack):
    # GIVEN a member row that names a notice but lost when it opened (a partial hand edit)
    settings, _ = notice_without_its_email(stack, "m-half-notice")
    stack.cloud.client("dynamodb").update_item(
        TableName=settings.activity_table,
        Key={"member_id": {"S": "m-half-notice"}},
        UpdateExpression="REMOVE notice_opened_at",
    )
    # WHEN the next night's catch-up meets it
    tomorrow = NOW + timedelta(days=1)
    view = Store.on_aws(settings).members.snapshot("m-half-notice").view
    sent = catch_up(Store.on_aws(settings), view, tomorrow, settings, SendLease("sweep:s:0", tomorrow))
    assert view.notice_id is not None and view.notice_opened_at is None
    # THEN it owes nothing for it and goes on (the sweep's plan leaves such a record be too)
    assert sent == []
