"""A whole campaign rehearsed on the local cloud: members and their behaviour in, a report out.

The contract (``python -m ops rehearse``): MEMBERS.jsonl and ACTIONS.jsonl are checked in full
before anything runs, and a problem is reported with its file, line and field. The members are
written into the activity table as the service's own data; the virtual clock then runs from
``start`` to ``end`` while the stack's schedules, TTL and streams do their work; each action
happens at its time through the member's real path (the link in the email they received, the
page, its form; or the app's signed request). The report is read back from the AWS side: the
activity table, the mail SES sent, the events on the billing bus.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from boto3.dynamodb.types import TypeSerializer
from email_validator import EmailNotValidError, validate_email

from local.faults import FaultInjector, Faults
from local.template import Template, TemplateError
from ops.app_calls import SignedAsApp, member_path

# the kinds of action row, one list for the generator and the contract
from ops.population import ACTIONS, BUSINESS_ACTIONS

MAIL_ACTIONS = ("open", "keep", "cancel")  # the member acts through a link in their email
MAX_KEY_BYTES = 2048  # DynamoDB's limit for a partition key
_serializer = TypeSerializer()

STATUSES = ("active", "cancelled")
KNOWN_MEMBER_FIELDS = {
    "member_id",
    "email",
    "locale",
    "joined_at",
    "last_watched_at",
    "status",
    "monthly_price",
    "currency",
    "profiles",
    "paid_until",  # the end of the period already paid for (CancellationTakesEffect)
    "time_zone",  # IANA, for the times the member reads
}


class RehearsalInputError(ValueError):
    """Bad input, found before anything ran: says which file, line and field."""


# ------------------------------------------------------------------ input
@dataclass(frozen=True)
class Action:
    member_id: str
    at: datetime
    do: str
    line: int
    member: dict[str, Any] | None = None  # join: the new member, as a MEMBERS.jsonl line
    fields: dict[str, str] | None = None  # change: the details that change


@dataclass
class RehearsalInput:
    members: list[dict[str, Any]]
    actions: list[Action]
    start: datetime
    end: datetime
    params: dict[str, str]


def parse_time(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise RehearsalInputError(f"{where}: expected an ISO 8601 time, got {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise RehearsalInputError(f"{where}: {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise RehearsalInputError(f"{where}: {value!r} has no time zone (write it in UTC, e.g. ending in Z)")
    return moment.astimezone(UTC)


def jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | RehearsalInputError]]:
    """(line number, object) of each non-blank line, read as it goes; a line that is not a JSON
    object comes as the problem naming it, and the lines after it are read on."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, RehearsalInputError(f"{path}:{number}: not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            if not isinstance(row, dict):
                yield number, RehearsalInputError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
                continue
            yield number, row


def _lines(path: Path) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    try:
        for number, row in jsonl_rows(path):
            if isinstance(row, RehearsalInputError):
                raise row
            rows.append((number, row))
    except FileNotFoundError:
        raise RehearsalInputError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise RehearsalInputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return rows


def read_members(path: Path) -> list[dict[str, Any]]:
    members, seen = [], set()
    for number, row in _lines(path):
        members.append(_member(row, f"{path}:{number}"))
        if members[-1]["member_id"] in seen:
            raise RehearsalInputError(f"{path}:{number}: field member_id: {row['member_id']!r} appears twice")
        seen.add(members[-1]["member_id"])
    if not members:
        raise RehearsalInputError(f"{path}: no members")
    return members


def _member(row: dict[str, Any], where: str) -> dict[str, Any]:
    def text(name: str) -> str:
        value = row.get(name)
        if not isinstance(value, str) or not value.strip():
            raise RehearsalInputError(f"{where}: field {name}: expected a non-empty string, got {value!r}")
        return value

    unknown = set(row) - KNOWN_MEMBER_FIELDS
    if unknown:
        raise RehearsalInputError(
            f"{where}: field {sorted(unknown)[0]}: not a member field (known: {', '.join(sorted(KNOWN_MEMBER_FIELDS))})"
        )
    member = {"member_id": text("member_id"), "email": text("email"), "locale": text("locale")}
    if len(member["member_id"].encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise RehearsalInputError(f"{where}: field member_id: longer than DynamoDB's {MAX_KEY_BYTES} bytes for a key")
    try:
        # the syntax of an address; one SES then refuses (non-ASCII before the @) is the product's to handle
        validate_email(member["email"], check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as problem:
        raise RehearsalInputError(
            f"{where}: field email: {member['email']!r} is not an email address: {problem}"
        ) from None
    member["joined_at"] = parse_time(row.get("joined_at"), f"{where}: field joined_at")
    watched = row.get("last_watched_at")
    member["last_watched_at"] = None if watched is None else parse_time(watched, f"{where}: field last_watched_at")
    if row.get("status") not in STATUSES:
        raise RehearsalInputError(
            f"{where}: field status: expected one of {', '.join(STATUSES)}, got {row.get('status')!r}"
        )
    member["status"] = row["status"]
    price = text("monthly_price")
    try:
        if Decimal(price) < 0 or not Decimal(price).is_finite():
            raise InvalidOperation
    except InvalidOperation:
        raise RehearsalInputError(f'{where}: field monthly_price: {price!r} is not a price like "9.99"') from None
    member["monthly_price"] = price
    currency = text("currency")
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise RehearsalInputError(f'{where}: field currency: {currency!r} is not an ISO 4217 code like "EUR"')
    member["currency"] = currency
    if row.get("paid_until") is not None:
        member["paid_until"] = _iso(parse_time(row["paid_until"], f"{where}: field paid_until"))
    if row.get("time_zone") is not None:
        zone = row["time_zone"]
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise RehearsalInputError(
                f'{where}: field time_zone: {zone!r} is not an IANA time zone like "Europe/Berlin"') from None
        member["time_zone"] = zone
    if "profiles" in row:
        member["profiles"] = _profiles(row["profiles"], where)
    return member


def _profiles(profiles: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(profiles, list):
        raise RehearsalInputError(f"{where}: field profiles: expected a list")
    for index, profile in enumerate(profiles):
        at = f"{where}: field profiles[{index}]"
        if not isinstance(profile, dict) or not isinstance(profile.get("name"), str):
            raise RehearsalInputError(f"{at}: expected an object with a name")
        if not isinstance(profile.get("my_list", []), list) or not all(
            isinstance(title, str) for title in profile.get("my_list", [])
        ):
            raise RehearsalInputError(f"{at}.my_list: expected a list of strings")
        preferences = profile.get("preferences", {})
        if not isinstance(preferences, dict) or not all(isinstance(v, str) for v in preferences.values()):
            raise RehearsalInputError(f"{at}.preferences: expected an object of strings")
    return profiles


CHANGEABLE = ("email", "locale", "monthly_price", "currency")


def read_actions(path: Path, members: Sequence[dict[str, Any]], start: datetime, end: datetime) -> list[Action]:
    rows = _lines(path)
    known = {member["member_id"] for member in members}
    joining = {row.get("member_id") for _, row in rows if row.get("do") == "join"}
    acting = known | joining  # made once: a union per line cost the members file's size per action
    actions = []
    for number, row in rows:
        where = f"{path}:{number}"
        member_id = row.get("member_id")
        if row.get("do") == "join":
            new = row.get("member")
            if not isinstance(new, dict):
                raise RehearsalInputError(f"{where}: field member: expected the new member, as a members file line")
            joined = _member({"status": "active", **new}, f"{where}: field member")
            if joined["member_id"] != member_id or member_id in known:
                raise RehearsalInputError(f"{where}: field member_id: {member_id!r} must be the new member's own id, "
                                          "and not one of the members file")
        elif member_id not in acting:
            raise RehearsalInputError(f"{where}: field member_id: {member_id!r} is not in the members file")
        at = parse_time(row.get("at"), f"{where}: field at")
        if not start <= at <= end:
            raise RehearsalInputError(
                f"{where}: field at: {row['at']} is outside the rehearsal "
                f"({start:%Y-%m-%dT%H:%M:%SZ} to {end:%Y-%m-%dT%H:%M:%SZ})"
            )
        if row.get("do") not in (*ACTIONS, *BUSINESS_ACTIONS):
            raise RehearsalInputError(
                f"{where}: field do: expected one of {', '.join((*ACTIONS, *BUSINESS_ACTIONS))}, got {row.get('do')!r}")
        fields = row.get("fields")
        if row["do"] == "change" and (not isinstance(fields, dict) or not fields or not set(fields) <= set(CHANGEABLE)
                                      or not all(isinstance(v, str) for v in fields.values())):
            raise RehearsalInputError(f"{where}: field fields: expected an object of {', '.join(CHANGEABLE)} (text)")
        actions.append(Action(member_id, at, row["do"], number, joined if row["do"] == "join" else None,
                              fields if row["do"] == "change" else None))
    return sorted(actions, key=lambda action: (action.at, action.line))


def read_input(
    members_path: Path, actions_path: Path | None, start: str, end: str, params: Mapping[str, str], template: Template
) -> RehearsalInput:
    """Everything the rehearsal needs, checked before anything runs."""
    begin, finish = parse_time(start, "--start"), parse_time(end, "--end")
    if finish <= begin:
        raise RehearsalInputError(f"--end ({end}) must come after --start ({start})")
    try:
        template.parameter_values(params)
    except TemplateError as exc:
        raise RehearsalInputError(f"--param: {exc}") from None
    members = read_members(members_path)
    actions = read_actions(actions_path, members, begin, finish) if actions_path else []
    return RehearsalInput(members, actions, begin, finish, dict(params))


# --------------------------------------------------------------- running
@dataclass
class ActionLog:
    counts: Counter = field(default_factory=Counter)

    def record(self, action: Action, result: str) -> None:
        self.counts[f"{action.do}:{result}"] += 1


class _FormFinder(HTMLParser):
    """The POST form of a notice page and the values of its submit buttons."""

    def __init__(self):
        super().__init__()
        self.action: str | None = None
        self.choices: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form" and (values.get("method") or "").lower() == "post":
            self.action = values.get("action") or ""
        elif tag == "button" and values.get("name") and values.get("value"):
            self.choices[values["value"]] = values["name"]


class Member:
    """One member acting: through their email's links and pages, or the app."""

    def __init__(self, cloud: Any, emails_by_address: Callable[[str], list], api_url: str):
        self.cloud = cloud
        self.emails_to = emails_by_address
        self.api = api_url
        self.http = requests.Session()

    def act(self, member: Mapping[str, Any] | None, action: Action) -> str:
        if action.do in BUSINESS_ACTIONS:
            return self._business(action)
        assert member is not None, "read_actions names only members of the file, or joined ones"
        if action.do == "watch":
            return record_viewing(self.cloud, action.member_id, action.at)
        if action.do == "app_keep":
            return self._app("POST", member_path(action.member_id, "keep"))
        if action.do == "rejoin":
            return self._app("POST", member_path(action.member_id, "rejoin"))
        link = self._latest_link(member["email"], "keep" if action.do == "open" else action.do)
        if link is None:
            return "no email"
        page = self._again_if_failed(lambda: self.http.get(link, timeout=30))
        if action.do == "open" or page.status_code != 200:
            return str(page.status_code)
        form = _FormFinder()
        form.feed(page.text)
        if form.action is None or action.do not in form.choices:
            return "no form"
        answer = self._again_if_failed(
            lambda: self.http.post(
                urljoin(page.url, form.action), data={form.choices[action.do]: action.do}, timeout=30
            )
        )
        return str(answer.status_code)

    def _business(self, action: Action) -> str:
        """The business's own systems telling the product, through the inbound bus."""
        kind = {"join": "MemberJoined", "change": "MemberChanged", "cancel_elsewhere": "MembershipEnded",
                "rejoin_elsewhere": "MemberRejoined", "play": "ViewingRecorded"}[action.do]
        detail = _joined(action.member) if action.member else dict(action.fields or {})
        if action.do == "join" and action.member and action.member.get("profiles"):  # the service's own data
            item = {"member_id": action.member_id, "profiles": action.member["profiles"]}
            _batch_put(self.cloud, self.cloud.table_name("MemberDataTable"),
                       [{k: TypeSerializer().serialize(v) for k, v in item.items()}])
        answer = self.cloud.client("events").put_events(Entries=[{
            "Source": "rehearsal.business", "DetailType": kind,
            "EventBusName": self.cloud.outputs["InboundEventBusName"],
            "Detail": json.dumps({"member_id": action.member_id, "occurred_at": _iso(action.at), **detail})}])
        self.cloud.settle()
        return "sent" if not answer.get("FailedEntryCount") else "refused"

    @staticmethod
    def _again_if_failed(request: Callable[[], requests.Response]) -> requests.Response:
        """A person whose click fails with a server error clicks again, once."""
        answer = request()
        return request() if answer.status_code >= 500 else answer

    def _latest_link(self, address: str, choice: str) -> str | None:
        for mail in reversed(self.emails_to(address)):
            if mail.headers.get("X-Membership-Email") in ("notice", "reminder"):
                return next((link for link in mail.links if link.endswith(f"choice={choice}")), None)
        return None

    def _app(self, method: str, path: str, body: Any = None) -> str:
        data = json.dumps(body).encode() if body is not None else b""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        # the service's app signs as its role: the session the deployment's AppPrincipalArns admits
        auth = SignedAsApp(self.cloud.app_credentials())
        answer = self._again_if_failed(
            lambda: self.http.request(method, self.api + path, data=data, headers=headers, auth=auth, timeout=30)
        )
        return str(answer.status_code)


def _joined(member: Mapping[str, Any]) -> dict[str, Any]:
    detail = {name: member[name] for name in ("email", "locale", "monthly_price", "currency")}
    return {**detail, "joined_at": _iso(member["joined_at"])}


def activity_item(member: Mapping[str, Any]) -> dict[str, Any]:
    """A checked member's activity item, in DynamoDB's JSON, as the service keeps it."""
    item = {key: value for key, value in member.items() if key != "profiles" and value is not None}
    item["joined_at"] = _iso(member["joined_at"])
    if member["last_watched_at"] is not None:
        item["last_watched_at"] = _iso(member["last_watched_at"])
    return {name: _serializer.serialize(value) for name, value in item.items()}


def member_data_item(member: Mapping[str, Any]) -> dict[str, Any]:
    """What the member made (profiles, My List, preferences), in DynamoDB's JSON."""
    return {"member_id": {"S": member["member_id"]}, "profiles": _serializer.serialize(member.get("profiles", []))}


def load_members(cloud: Any, members: Sequence[dict[str, Any]]) -> None:
    """Write the members into the activity table, and what they made (profiles, My List,
    preferences) into the member-data table, as the service's own data."""
    _batch_put(cloud, cloud.table_name("ActivityTable"), [activity_item(member) for member in members])
    _batch_put(cloud, cloud.table_name("MemberDataTable"), [member_data_item(member) for member in members])


def _batch_put(cloud: Any, table: str, items: Sequence[dict[str, Any]]) -> None:
    dynamodb = cloud.client("dynamodb")
    for first in range(0, len(items), 25):
        batch = {table: [{"PutRequest": {"Item": item}} for item in items[first : first + 25]]}
        while batch:
            batch = dynamodb.batch_write_item(RequestItems=batch).get("UnprocessedItems") or None


def record_viewing(cloud: Any, member_id: str, at: datetime) -> str:
    """The service's playback back end writing the member's latest viewing into the activity
    table (only ever forward), as it does for every member, noticed or not."""
    try:
        cloud.client("dynamodb").update_item(
            TableName=cloud.table_name("ActivityTable"),
            Key={"member_id": {"S": member_id}},
            UpdateExpression="SET last_watched_at = :at",
            ConditionExpression="attribute_not_exists(last_watched_at) OR last_watched_at < :at",
            ExpressionAttributeValues={":at": {"S": _iso(at)}},
        )
    except cloud.client("dynamodb").exceptions.ConditionalCheckFailedException:
        return "older"
    return "recorded"


class BillingSide:
    """The business's billing, as the rehearsal plays it: each MembershipCancelled (and
    MembershipRejoined) on the billing bus is confirmed with BillingStopped (BillingResumed) on
    the inbound bus ``ack`` after it was published, or never (``ack`` None)."""

    def __init__(self, cloud: Any, ack: timedelta | None):
        self.cloud, self.ack = cloud, ack
        self._answered: set[tuple[str, str, str]] = set()
        # the events not answered yet, in the order published, and how many of the bus's were read:
        # one answered (or not to answer) never will be, so each call reads only what is new
        self._waiting: list[Any] = []  # BusEvents
        self._read = 0

    def answer(self) -> None:
        if self.ack is None:
            return
        now, due = self.cloud.now, []
        events = self.cloud.bus_events("BillingEventBus")
        self._waiting += events[self._read:]
        self._read = len(events)
        waiting, self._waiting = self._waiting, []
        for event in waiting:
            detail = event.detail if isinstance(event.detail, dict) else {}
            kind, changed = {"MembershipCancelled": ("BillingStopped", "cancelled_at"),
                             "MembershipRejoined": ("BillingResumed", "rejoined_at")}.get(event.detail_type, (None, ""))
            key = (str(kind), str(detail.get("member_id")), str(detail.get(changed)))
            if kind is None or key in self._answered:
                continue
            # published as the change was made (the event's own time is the machine's, not the cloud's)
            at = parse_time(detail[changed], "a billing event") + self.ack
            if at <= now:
                self._answered.add(key)
                due.append((kind, {"member_id": detail["member_id"], "occurred_at": _iso(at),
                                   changed: detail[changed]}))
            else:
                self._waiting.append(event)
        for start in range(0, len(due), 10):
            self.cloud.client("events").put_events(Entries=[
                {"Source": "rehearsal.billing", "DetailType": kind, "Detail": json.dumps(detail),
                 "EventBusName": self.cloud.outputs["InboundEventBusName"]} for kind, detail in due[start:start + 10]])
        if due:
            self.cloud.settle()


def rehearse(
    plan: RehearsalInput,
    *,
    template: Template | None = None,
    ttl_delay_hours: float = 48.0,
    seed: int | None = None,
    on_progress: Callable[[datetime], None] | None = None,
    keep_emails: Callable[[list], None] | None = None,
    faults: Faults | None = None,
    billing_ack: timedelta | None = timedelta(hours=1),
    function_logs: Path | None = None,
) -> dict[str, Any]:
    """Run the campaign and return the report (``keep_emails`` gets every email sent; billing
    confirms each cancellation and rejoin ``billing_ack`` after it hears of it, or never; each
    function's log lines go to a JSONL file in ``function_logs``, or to stdout when None)."""
    from local.cloud import LocalCloud

    faults = faults or Faults()

    with LocalCloud(
        plan.start,
        seed=seed,
        max_ttl_delay=timedelta(hours=ttl_delay_hours),
        function_logs=function_logs,
        **({"template": template} if template else {}),
    ) as cloud:
        api_url = cloud.start_api()
        cloud.deploy({"PublicBaseUrl": api_url, **cloud.app_parameters(plan.params), **plan.params})
        load_members(cloud, plan.members)
        injector = FaultInjector(cloud, faults).install()
        by_id = {member["member_id"]: member for member in plan.members}
        mailbox = _Mailbox(cloud)
        member_side = Member(cloud, mailbox.to, api_url)
        log = ActionLog()
        billing = BillingSide(cloud, billing_ack)
        day = plan.start
        for action in plan.actions:
            while day + timedelta(days=1) <= action.at:  # a day at a time, so progress moves
                day += timedelta(days=1)
                cloud.advance_to(day)
                billing.answer()
                if on_progress:
                    on_progress(day)
            cloud.advance_to(action.at)
            billing.answer()
            if action.do in MAIL_ACTIONS:  # the others never read mail: no need to read it all again
                mailbox.refresh()
            log.record(action, member_side.act(by_id.get(action.member_id), action))
        while day < plan.end:
            day = min(day + timedelta(days=1), plan.end)
            cloud.advance_to(day)
            billing.answer()
            if on_progress:
                on_progress(day)
        injector.uninstall()
        if keep_emails:
            keep_emails(cloud.sent_emails())
        report = build_report(cloud, plan, log)
        report["faults"] = {"asked": faults.describe(), "injected": dict(faults.injected)}
        return report


class _Mailbox:
    """Sent mail by recipient, read from SES only when the clock moved since the last read."""

    def __init__(self, cloud: Any):
        self.cloud = cloud
        self._by_address: dict[str, list] = {}
        self._read_at: datetime | None = None
        self._read, self._last = 0, None  # how many emails were read, and the last of them

    def refresh(self) -> None:
        if self._read_at != self.cloud.now:
            sent = self.cloud.sent_emails()  # in the order sent: SES only adds to it
            if self._read and (len(sent) < self._read or sent[self._read - 1] is not self._last):
                self._by_address, self._read = {}, 0  # not what was read before: all of it again
            for mail in sent[self._read:]:  # only what was sent since the last read
                for address in mail.to:
                    self._by_address.setdefault(mailbox(address), []).append(mail)
            self._read, self._last = len(sent), sent[-1] if sent else None
            self._read_at = self.cloud.now

    def to(self, address: str) -> list:
        return self._by_address.get(mailbox(address), [])


@functools.cache  # the mailbox reads every sent email's addresses again whenever the clock moved
def mailbox(address: str) -> str:
    """One mailbox however its address is written: as SES is given it (a Unicode domain in
    Punycode, ``anna@bücher.de`` is ``anna@xn--bcher-kva.de``), the domain in lower case."""
    with suppress(EmailNotValidError):  # one SES cannot send to: no mail will carry it anyway
        address = validate_email(address, check_deliverability=False, allow_smtputf8=False).ascii_email
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


# ---------------------------------------------------------------- report
def build_report(cloud: Any, plan: RehearsalInput, log: ActionLog) -> dict[str, Any]:
    """REPORT.json, read back from the AWS side (:mod:`ops.campaign_report`, shared with the
    stack's report)."""
    from ops.campaign_report import rehearsal_report

    return rehearsal_report(cloud, plan, log)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_report(report: Mapping[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8")
