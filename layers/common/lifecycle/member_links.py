"""The member's side of an email link: which page a link shows, and what a choice on that page
does.

Opening a link (GET) only reads; only the form's POST acts. A link names one notice: once
that notice is answered or settled, the same link shows what happened instead of acting again.
Pages are decided here as a ``PageSpec`` (which page, in whose language, with what facts) so
the rules can be tested without HTTP; the API handler only renders them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lifecycle.campaign import Choice, Outcome, answer_notice
from lifecycle.errors import ExpiredLink, InvalidLink, MemberNotFound, NoOpenNotice
from lifecycle.membership import Membership
from lifecycle.observability import logger
from lifecycle.policy import cancellation_ends_at, respond_by
from lifecycle.settings import Settings
from lifecycle.store import Store
from lifecycle.tokens import LinkClaims, LinkSigner, SigningKeys


@dataclass(frozen=True)
class PageSpec:
    name: str
    locale: str | None
    context: dict[str, Any] = field(default_factory=dict)


def link_page(store: Store, token: str, preselected: str | None, now: datetime, settings: Settings) -> PageSpec:
    """The page a link opens. Changes nothing."""
    try:
        member, claims = _read_link(store, token, now)
    except (InvalidLink, ExpiredLink) as problem:
        return _problem_page(store, problem, settings)
    if not _notice_open(member, claims):
        return _answered_page(member, settings)
    opened_at = member.view.notice_opened_at
    if opened_at is None:  # a hand-edited row: no date can be promised from it
        return PageSpec("error", None)
    return PageSpec(
        "choice",
        member.locale,
        {
            "respond_by": respond_by(opened_at, settings.policy),
            "form_action": token,  # relative: posts back to the link's own path, without its ?choice=
            "preselected": preselected if preselected in (Choice.KEEP, Choice.CANCEL) else None,
            "monthly_price": member.monthly_price,
            "currency": member.currency,
            # what cancelling now would leave the member: the period already paid for, if any
            "paid_until": _paid_through(member, now, settings),
            "time_zone": member.time_zone,
        },
    )


def link_choice(store: Store, token: str, choice: str | None, now: datetime, settings: Settings) -> PageSpec:
    """The member chose on the page: keep or cancel now."""
    try:
        member, claims = _read_link(store, token, now)
    except (InvalidLink, ExpiredLink) as problem:
        return _problem_page(store, problem, settings)
    if choice not in (Choice.KEEP, Choice.CANCEL):
        return PageSpec("bad_request", member.locale)
    member_id = member.view.member_id
    try:
        outcome = answer_notice(store, member_id, claims.notice_id, Choice(choice), now, settings.policy)
    except NoOpenNotice:
        return _answered_page(store.members.snapshot(member_id), settings)
    member = store.members.snapshot(member_id)
    if outcome is Outcome.KEPT:
        return PageSpec("kept", member.locale)
    retained_until = member.view.retained_until
    if retained_until is None or member.view.cancelled_at is None:  # changed again at once: nothing true to say
        return PageSpec("error", None)
    return PageSpec(
        "cancelled",
        member.locale,
        {
            "cancelled_at": member.view.cancelled_at,
            "ends_at": member.ends_at,
            "time_zone": member.time_zone,
            "retained_until": retained_until,
            "rejoin_url": settings.rejoin_url,
        },
    )


def _paid_through(member: Membership, now: datetime, settings: Settings) -> datetime | None:
    ends_at = cancellation_ends_at(now, member.paid_until, settings.policy)
    return ends_at if ends_at > now else None


def _read_link(store: Store, token: str, now: datetime) -> tuple[Membership, LinkClaims]:
    keys, problems = SigningKeys.with_problems(store.link_keys.secret())
    for problem in problems:
        logger.error("link-signing secret: " + problem)
    claims = LinkSigner(keys).verify(token, now)
    member_id = store.lifecycle.member_of_notice(claims.notice_id)
    if member_id is None:
        raise InvalidLink("link names no notice")
    try:
        return store.members.snapshot(member_id), claims
    except MemberNotFound:
        raise InvalidLink("link names no member") from None


def _notice_open(member: Membership, claims: LinkClaims) -> bool:
    return member.view.status == "active" and member.view.notice_id == claims.notice_id


def _answered_page(member: Membership, settings: Settings) -> PageSpec:
    if member.view.status == "cancelled":
        retained_until = member.view.retained_until
        return PageSpec(
            "already_answered",
            member.locale,
            {
                "outcome": "cancelled",
                "retained_until": retained_until.date() if retained_until else None,
                "rejoin_url": settings.rejoin_url,
            },
        )
    return PageSpec("already_answered", member.locale, {"outcome": "kept"})


def _problem_page(store: Store, problem: Exception, settings: Settings) -> PageSpec:
    if isinstance(problem, ExpiredLink):
        return PageSpec("expired", _locale_of(store, problem.notice_id), {"rejoin_url": settings.rejoin_url})
    return PageSpec("invalid", None)


def _locale_of(store: Store, notice_id: str | None) -> str | None:
    """The language of the member whose notice it was, while the links table still says."""
    member_id = store.lifecycle.member_of_notice(notice_id) if notice_id else None
    if member_id is None:
        return None
    try:
        return store.members.snapshot(member_id).locale
    except MemberNotFound:
        return None
