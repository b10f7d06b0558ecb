"""A synthetic, seeded population of members and what they do during a rehearsed campaign.

Owns the two JSONL inputs of ``python -m ops rehearse``:

* member rows: who the service has on the first day of the rehearsal (locale, currency and
  price, when they joined and last watched, their profiles);
* action rows: what those members do afterwards, in time order (watch, open the link in
  their latest email, keep or cancel on its page, keep through the app, rejoin).

The mix follows the real campaign: almost everybody watches; under 1% of members are
inactive by each rule on day one; a few cross a threshold during the rehearsal; some do
not pay and some have already left (neither may ever get a notice). Inactive members answer
the way people plausibly do, drawn from one ``random.Random(seed)``: the same seed gives
the same population, byte for byte. Nothing here does I/O except the two JSONL helpers.
"""

from __future__ import annotations

import json
import math
import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from dateutil.relativedelta import relativedelta

# The policy's defaults; the rehearsal may run other values, these only shape the population.
NEVER_WATCHED_MONTHS = 12
DORMANT_MONTHS = 24
RESPONSE_WINDOW_DAYS = 30
RETENTION_MONTHS = 10
SWEEP_HOUR_UTC = 3

# Share of members inactive on day one by each rule: under 1%, as in the real campaign.
INACTIVE_SHARE_PER_RULE = 0.006
# Members who cross a threshold during the rehearsal, per rule.
BOUNDARY_SHARE_PER_RULE = 0.003
NON_PAYING_SHARE = 0.03
ALREADY_CANCELLED_SHARE = 0.05
# Active members who also show up watching during the rehearsal (realism, not load).
WATCHING_SAMPLE_SHARE = 0.25
MAX_WATCHES_PER_ACTIVE_MEMBER = 3

ACTIONS = ("watch", "open", "keep", "cancel", "app_keep", "rejoin")
# what the business sends through the inbound bus during a rehearsal (the population makes none)
BUSINESS_ACTIONS = ("join", "change", "cancel_elsewhere", "rejoin_elsewhere", "play")

# What an inactive member does with the notice, and how likely it is.
RESPONSES: tuple[tuple[str, float], ...] = (
    ("keep", 0.20),
    ("app_keep", 0.10),
    ("open", 0.10),
    ("cancel", 0.15),
    ("watch", 0.05),
    ("no_answer", 0.40),
)
REJOIN_SHARE = 0.10
KEEPERS_WHO_WATCH_AFTERWARDS = 0.5

# Member ids in the forms real subscription systems write them, and how common each is here:
# UUIDs (random and zero-padded), numeric snowflakes, payment-provider and identity-provider
# ids, an email address used as the id, and zero-padded sequences of several systems.
ID_FORMATS: tuple[tuple[str, float], ...] = (
    ("uuid", 0.30),
    ("padded_uuid", 0.05),
    ("snowflake", 0.15),
    ("stripe", 0.15),
    ("auth0", 0.10),
    ("email", 0.05),
    ("acct", 0.05),
    ("user", 0.05),
    ("member", 0.05),
    ("short", 0.05),
)
FIRST_NAMES = ("anna", "lucas", "sofia", "noah", "mia", "leon", "emma", "mateo", "lea", "hugo", "ines", "jonas")
LAST_NAMES = ("martin", "garcia", "muller", "rossi", "dubois", "schmidt", "lopez", "bernard", "weber", "moreau")
# reserved-looking domains (.example is reserved: never a real mailbox), one of them internationalised
MAIL_DOMAINS = ("mail.example", "post.example", "correo.example", "bücher.example")
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Market:
    locale: str
    currency: str
    prices: tuple[str, ...]  # monthly plans, cheapest first
    weight: int
    first_names: tuple[str, ...]
    subtitles: str  # the subtitle language a profile here usually picks


MARKETS: tuple[Market, ...] = (
    Market("en-US", "USD", ("6.99", "15.49", "22.99"), 30,
           ("James", "Mary", "Robert", "Linda", "Tyler", "Ashley", "Marcus", "Jasmine"), "en"),
    Market("en-GB", "GBP", ("4.99", "10.99", "17.99"), 10,
           ("Oliver", "Amelia", "Harry", "Isla", "George", "Poppy", "Alfie", "Freya"), "en"),
    Market("fr-FR", "EUR", ("5.99", "13.49", "19.99"), 10,
           ("Camille", "Louis", "Chloé", "Hugo", "Léa", "Gabriel", "Manon", "Jules"), "fr"),
    Market("fr-CA", "CAD", ("5.99", "16.49", "20.99"), 4,
           ("Félix", "Florence", "Samuel", "Rosalie", "Émile", "Maëlle", "Olivier", "Juliette"), "fr"),
    Market("de-DE", "EUR", ("4.99", "13.99", "19.99"), 10,
           ("Lukas", "Anna", "Felix", "Lena", "Jonas", "Marie", "Paul", "Sophie"), "de"),
    Market("de-AT", "EUR", ("5.99", "13.99", "19.99"), 3,
           ("Tobias", "Katharina", "Florian", "Johanna", "Matthias", "Theresa", "Sebastian", "Magdalena"), "de"),
    Market("es-ES", "EUR", ("5.49", "12.99", "17.99"), 7,
           ("Lucía", "Hugo", "Martina", "Pablo", "Sofía", "Álvaro", "Carmen", "Javier"), "es"),
    Market("es-MX", "MXN", ("119.00", "219.00", "299.00"), 8,
           ("Santiago", "Valentina", "Mateo", "Ximena", "Diego", "Regina", "Emiliano", "Fernanda"), "es"),
    # Languages without a catalog: their emails fall back to the default language.
    Market("pt-BR", "BRL", ("20.90", "44.90", "59.90"), 2,
           ("João", "Ana", "Pedro", "Beatriz", "Lucas", "Larissa", "Gustavo", "Camila"), "pt"),
    Market("it-IT", "EUR", ("6.99", "12.99", "19.99"), 2,
           ("Lorenzo", "Giulia", "Matteo", "Chiara", "Alessandro", "Francesca", "Davide", "Elena"), "it"),
)

_TITLE_OPENINGS = (
    "The Last", "Midnight", "Beyond the", "Return to the", "Secrets of the", "A Winter at the", "The Quiet",
    "Letters from the", "Under the", "The Long", "Echoes of the", "Children of the",
)
_TITLE_ENDINGS = (
    "Lighthouse", "Orchard", "Harbour", "Glass Mountain", "Northern Line", "Salt Flats", "Paper Moon",
    "Copper Valley", "Tidewater", "Hollow Pines", "Silver Coast", "Lantern Street",
)
_TITLE_SUFFIXES = ("", "", "", ": Season 2", ": Season 3", " (Director's Cut)", ": The Series")
_KIDS_PROFILE_NAMES = {"en": "Kids", "fr": "Enfants", "de": "Kinder", "es": "Niños", "pt": "Infantil", "it": "Bambini"}


def generate(members: int, seed: int, start: datetime, months: int = 14) -> tuple[list[dict], list[dict]]:
    """The member rows and the action rows of a rehearsal starting at ``start`` and lasting ``months``.

    Every action happens in ``[start, start + months)`` and names a member of the rows; the
    actions are sorted by time. The same arguments always give the same rows.
    """
    if members < 0:
        raise ValueError(f"members must not be negative, got {members}")
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    if start.tzinfo is None:
        raise ValueError(f"start {start.isoformat()} has no time zone")
    start = start.astimezone(UTC)
    end = start + relativedelta(months=months)
    builder = _PopulationBuilder(random.Random(seed), start, end, months)
    return builder.build(members)


def write_jsonl(rows: Iterable[dict], path: Path | str) -> Path:
    """Write one JSON object per line (UTF-8, keys in the order given); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
    return path


def read_jsonl(path: Path | str) -> list[dict]:
    """The objects of a JSONL file, skipping blank lines."""
    with Path(path).open(encoding="utf-8") as source:
        return [json.loads(line) for line in source if line.strip()]


def iso_z(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, to the second: the format of every time in the rows."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def first_sweep_at_or_after(moment: datetime) -> datetime:
    """When the nightly sweep (03:00 UTC) first sees a member who became inactive at ``moment``."""
    moment = moment.astimezone(UTC)
    sweep = datetime.combine(moment.date(), time(SWEEP_HOUR_UTC), tzinfo=UTC)
    return sweep if sweep >= moment else sweep + timedelta(days=1)


class _PopulationBuilder:
    """Draws every member and action from one RNG, in a fixed order, so a seed replays exactly."""

    def __init__(self, rng: random.Random, start: datetime, end: datetime, months: int) -> None:
        self.rng = rng
        # who members are (ids, names, addresses) draws from its own stream: the same seed gives
        # the same people whatever the dates
        self.identities = random.Random(rng.getrandbits(64))
        self.start = start
        self.end = end
        self.months = months
        self.actions: list[dict] = []

    # ------------------------------------------------------------ the whole population
    def build(self, members: int) -> tuple[list[dict], list[dict]]:
        segments = self._segments(members)
        rows = [self._member(index, segment) for index, segment in enumerate(segments, start=1)]
        self.actions.sort(key=lambda action: (action["at"], action["member_id"], action["do"]))
        return rows, self.actions

    def _segments(self, members: int) -> list[str]:
        """Which kind of member each index is, with the small groups spread through the ids."""
        inactive = _under_one_percent(members, INACTIVE_SHARE_PER_RULE)
        boundary = min(math.ceil(members * BOUNDARY_SHARE_PER_RULE), max(0, (members - 2 * inactive) // 4))
        counts = {
            "never_watched": inactive,
            "dormant": inactive,
            "almost_never_watched": boundary,
            "almost_dormant": boundary,
            "non_paying": round(members * NON_PAYING_SHARE),
            "already_cancelled": round(members * ALREADY_CANCELLED_SHARE),
        }
        special = [segment for segment, count in counts.items() for _ in range(count)][:members]
        segments = special + ["active"] * (members - len(special))
        self.rng.shuffle(segments)
        return segments

    def _identity(self, index: int) -> tuple[str, str]:
        """A member id in one of the real-world forms, and an address of the member's own."""
        first, last = self.identities.choice(FIRST_NAMES), self.identities.choice(LAST_NAMES)
        email = f"{first}.{last}{index}@{self.identities.choice(MAIL_DOMAINS)}"
        form = self.identities.choices([name for name, _ in ID_FORMATS], weights=[share for _, share in ID_FORMATS])[0]
        bits = self.identities.getrandbits(128)
        member_id = {
            "uuid": lambda: str(uuid.UUID(int=bits, version=4)),
            "padded_uuid": lambda: f"00000000-0000-0000-0000-{index:012d}",
            "snowflake": lambda: str(1_100_000_000_000_000_000 + (index << 22) + (bits & 0x3FFFFF)),
            "stripe": lambda: "cus_" + "".join(_BASE62[(bits >> (6 * n)) % 62] for n in range(14)) + f"{index:x}",
            "auth0": lambda: f"auth0|{bits & ((1 << 96) - 1):024x}",
            "email": lambda: email,
            "acct": lambda: f"acct:{index:032d}",
            "user": lambda: f"user_{index:034d}",
            "member": lambda: f"member-{index:024d}",
            "short": lambda: f"m-{index:06d}",
        }[form]()
        return member_id, email

    def _member(self, index: int, segment: str) -> dict:
        member_id, email = self._identity(index)
        market = self.rng.choices(MARKETS, weights=[market.weight for market in MARKETS])[0]
        joined_at, last_watched_at = getattr(self, f"_history_{segment}")(member_id)
        price = "0.00" if segment == "non_paying" else self.rng.choice(market.prices)
        row: dict = {
            "member_id": member_id,
            "email": email,
            "locale": market.locale,
            "joined_at": iso_z(joined_at),
            "last_watched_at": None if last_watched_at is None else iso_z(last_watched_at),
            "status": "cancelled" if segment == "already_cancelled" else "active",
            "monthly_price": price,
            "currency": market.currency,
        }
        if self.rng.random() < 0.9:  # some accounts never set up a profile of their own
            row["profiles"] = self._profiles(market)
        return row

    # ------------------------------------------------------------ histories per segment
    def _history_active(self, member_id: str) -> tuple[datetime, datetime]:
        joined = self.start - timedelta(days=self.rng.randint(30, 8 * 365), seconds=self.rng.randrange(86_400))
        last_watched = self.start - timedelta(days=self.rng.randint(0, 27), seconds=self.rng.randrange(86_400))
        last_watched = max(last_watched, joined + timedelta(hours=1))
        if self.rng.random() < WATCHING_SAMPLE_SHARE:
            for _ in range(self.rng.randint(1, MAX_WATCHES_PER_ACTIVE_MEMBER)):
                self._act(member_id, "watch", self._anytime_in_window())
        return joined, last_watched

    def _history_never_watched(self, member_id: str) -> tuple[datetime, None]:
        joined = self.start - relativedelta(months=NEVER_WATCHED_MONTHS) - timedelta(
            days=self.rng.randint(0, 3 * 365), seconds=self.rng.randrange(86_400)
        )
        self._respond_to_notice(member_id, first_sweep_at_or_after(self.start))
        return joined, None

    def _history_dormant(self, member_id: str) -> tuple[datetime, datetime]:
        last_watched = self.start - relativedelta(months=DORMANT_MONTHS) - timedelta(
            days=self.rng.randint(0, 2 * 365), seconds=self.rng.randrange(86_400)
        )
        joined = last_watched - timedelta(days=self.rng.randint(1, 4 * 365))
        self._respond_to_notice(member_id, first_sweep_at_or_after(self.start))
        return joined, last_watched

    def _history_almost_never_watched(self, member_id: str) -> tuple[datetime, None]:
        joined = self._anchor_that_crosses(NEVER_WATCHED_MONTHS)
        becomes_inactive = joined + relativedelta(months=NEVER_WATCHED_MONTHS)
        self._respond_to_notice(member_id, first_sweep_at_or_after(becomes_inactive))
        return joined, None

    def _history_almost_dormant(self, member_id: str) -> tuple[datetime, datetime]:
        last_watched = self._anchor_that_crosses(DORMANT_MONTHS)
        joined = last_watched - timedelta(days=self.rng.randint(1, 4 * 365))
        becomes_inactive = last_watched + relativedelta(months=DORMANT_MONTHS)
        self._respond_to_notice(member_id, first_sweep_at_or_after(becomes_inactive))
        return joined, last_watched

    def _history_non_paying(self, member_id: str) -> tuple[datetime, datetime | None]:
        # Gift and partner plans: some were never used, which must not earn them a notice.
        joined = self.start - timedelta(days=self.rng.randint(30, 6 * 365), seconds=self.rng.randrange(86_400))
        if self.rng.random() < 0.3:
            return joined, None
        return joined, self._between(joined, self.start)

    def _history_already_cancelled(self, member_id: str) -> tuple[datetime, datetime | None]:
        # Left before the rehearsal, some long dormant: the sweep must leave them alone too.
        joined = self.start - timedelta(days=self.rng.randint(400, 8 * 365), seconds=self.rng.randrange(86_400))
        return joined, self._between(joined, self.start - timedelta(days=30))

    def _anchor_that_crosses(self, threshold_months: int) -> datetime:
        """A join or last-watch time whose threshold falls inside the rehearsal, a few right on it."""
        latest_crossing = max(1, min(6, self.months - 3))
        choice = self.rng.random()
        if choice < 0.15:
            offset = timedelta(seconds=1)  # crosses one second after the rehearsal starts
        elif choice < 0.3:
            offset = timedelta(days=1)
        else:
            offset = relativedelta(months=self.rng.randint(0, latest_crossing - 1)) + timedelta(
                days=self.rng.randint(1, 27), seconds=self.rng.randrange(86_400)
            )
        anchor = self.start - relativedelta(months=threshold_months) + offset
        # Calendar months clip at month ends (a start on 29 February): never cross before the start.
        while anchor + relativedelta(months=threshold_months) <= self.start:
            anchor += timedelta(days=1)
        return anchor

    # ------------------------------------------------------------ answers to a notice
    def _respond_to_notice(self, member_id: str, notice_at: datetime) -> None:
        """Schedule how an inactive member answers the notice sent at ``notice_at``."""
        response = self.rng.choices([name for name, _ in RESPONSES], weights=[share for _, share in RESPONSES])[0]
        answered_at = notice_at + timedelta(days=self.rng.randint(2, 19), seconds=self.rng.randrange(86_400))
        rejoins = self.rng.random() < REJOIN_SHARE
        watches_later = self.rng.random() < KEEPERS_WHO_WATCH_AFTERWARDS
        if response in {"keep", "app_keep"}:
            self._act(member_id, response, answered_at)
            if watches_later:
                self._act(member_id, "watch", answered_at + timedelta(days=self.rng.randint(7, 60)))
        elif response == "watch":
            self._act(member_id, "watch", answered_at)
        elif response == "cancel":
            self._act(member_id, "cancel", answered_at)
            if rejoins:
                self._act(member_id, "rejoin", self._rejoin_after(answered_at))
        else:
            if response == "open":
                self._act(member_id, "open", answered_at)
            if rejoins:
                # Cancelled for no response just after the deadline (noon UTC, the day after the last day).
                cancelled_at = notice_at + timedelta(days=RESPONSE_WINDOW_DAYS + 2)
                self._act(member_id, "rejoin", self._rejoin_after(cancelled_at))

    def _rejoin_after(self, cancelled_at: datetime) -> datetime:
        """Most who come back do so within weeks; a few after months, always inside retention."""
        if self.rng.random() < 0.7:
            delay = timedelta(days=self.rng.randint(14, 60))
        else:
            delay = timedelta(days=self.rng.randint(61, RETENTION_MONTHS * 30 - 10))
        return cancelled_at + delay + timedelta(seconds=self.rng.randrange(86_400))

    # ------------------------------------------------------------ helpers
    def _act(self, member_id: str, do: str, at: datetime) -> None:
        # Behaviour that would fall after the rehearsal ends is simply not seen by it.
        if self.start <= at < self.end:
            self.actions.append({"member_id": member_id, "at": iso_z(at), "do": do})

    def _anytime_in_window(self) -> datetime:
        return self._between(self.start, self.end)

    def _between(self, earliest: datetime, latest: datetime) -> datetime:
        seconds = max(1, int((latest - earliest).total_seconds()))
        return earliest + timedelta(seconds=self.rng.randrange(seconds))

    def _profiles(self, market: Market) -> list[dict]:
        names = self.rng.sample(market.first_names, self.rng.randint(1, 3))
        profiles = [self._profile(name, market, kids=False) for name in names]
        if self.rng.random() < 0.25:
            profiles.append(self._profile(_KIDS_PROFILE_NAMES[market.subtitles], market, kids=True))
        return profiles

    def _profile(self, name: str, market: Market, *, kids: bool) -> dict:
        subtitles = market.subtitles if self.rng.random() < 0.6 else self.rng.choice(("off", "en", "es", "fr"))
        return {
            "name": name,
            "my_list": _distinct_titles(self.rng, self.rng.randint(0, 6)),
            "preferences": {
                "subtitles": subtitles,
                "autoplay": self.rng.choice(("on", "on", "off")),
                "maturity": "kids" if kids else self.rng.choice(("all", "all", "teen")),
            },
        }


def _under_one_percent(members: int, share: float) -> int:
    """``round(members * share)``, but never 1% of the population or more."""
    largest_under_one_percent = max(0, math.ceil(members / 100) - 1)
    return min(round(members * share), largest_under_one_percent)


def _distinct_titles(rng: random.Random, count: int) -> list[str]:
    titles: list[str] = []
    while len(titles) < count:
        title = f"{rng.choice(_TITLE_OPENINGS)} {rng.choice(_TITLE_ENDINGS)}{rng.choice(_TITLE_SUFFIXES)}"
        if title not in titles:
            titles.append(title)
    return titles

