"""Everything a member reads: the notice, reminder and cancellation emails, and the pages
their links open, in the member's language with dates and prices written their way.

The copy lives in ``templates/`` (Jinja2) and its translations in ``locales/<lang>.po``;
this module picks the language, formats dates and prices for the member's region, and
renders. Every page carries the same single inline stylesheet, and the
Content-Security-Policy it goes with allows that stylesheet and nothing else. Dates, times and
prices are written with no-break spaces: a line never splits "9. / Dezember" (in HTML a date
and time may break between the two, never inside either).

A cancellation's confirmation (the email and the page after "Cancel") is its record, as
§312k BGB asks: what was cancelled, the date and time it was made (in the member's time zone
where the business knows it, else UTC), and when access and billing end.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any, TypeGuard
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_time, get_timezone_gmt
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from markupsafe import Markup

SUPPORTED_LANGUAGES = ("en", "fr", "de", "es", "pt", "it", "nl", "pl", "sv", "tr", "ja", "ko", "ar")

_TEMPLATES = Path(__file__).parent / "templates"
_LOCALES = Path(__file__).parent / "locales"

# Email kind -> the values its text cannot do without.
_EMAILS: dict[str, tuple[str, ...]] = {
    "notice": ("respond_by", "keep_url", "cancel_url"),
    "reminder": ("respond_by", "keep_url", "cancel_url"),
    "cancelled": ("cancelled_at", "retained_until", "rejoin_url"),
}

# Page name -> (HTTP status, the values its text cannot do without).
_PAGES: dict[str, tuple[int, tuple[str, ...]]] = {
    "choice": (200, ("respond_by", "form_action")),
    "kept": (200, ()),
    "cancelled": (200, ("cancelled_at", "retained_until", "rejoin_url")),
    "already_answered": (409, ("outcome",)),
    "expired": (410, ()),
    "invalid": (400, ()),
    "bad_request": (400, ()),
    "not_found": (404, ()),
    "method_not_allowed": (405, ()),
    "error": (500, ()),
}

# Optional page values, so templates can test them without tripping StrictUndefined.
_PAGE_DEFAULTS: dict[str, Any] = dict.fromkeys(
    (
        "preselected",
        "outcome",
        "monthly_price",
        "currency",
        "retention_months",
        "retained_until",
        "rejoin_url",
        "detail",
        "cancelled_at",
        "ends_at",
        "time_zone",
        "help_url",
        "paid_until",
    )
)

_ALLOWED = {"preselected": (None, "keep", "cancel"), "outcome": ("kept", "cancelled")}

_BREAKABLE_SPACE = re.compile(r"[^\S\u00a0\u202f]+")
_NO_BREAK = str.maketrans({" ": "\u00a0"})


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str
    lang: str


@dataclass(frozen=True)
class RenderedPage:
    html: str
    lang: str
    status: int
    content_security_policy: str


def negotiate_locale(locale: str | None, accept_language: str | None = None, default: str = "en-US") -> Locale:
    """The member's locale: its region decides how dates and prices look, its language which
    catalog speaks. The browser's Accept-Language only counts when the member has no usable
    locale of their own; a language without a catalog gets ``default``. Never raises."""
    chosen = _parse(locale)
    if chosen is None:
        chosen = next(
            (found for found in map(_parse, _preferred(accept_language)) if _speaks(found)),
            None,
        )
    if _speaks(chosen):
        return chosen
    fallback = _parse(default)
    return fallback if _speaks(fallback) else Locale("en", "US")


def render_email(
    kind: str,
    *,
    locale: str | None,
    service_name: str,
    respond_by: date | None = None,
    keep_url: str | None = None,
    cancel_url: str | None = None,
    monthly_price: str | None = None,
    currency: str | None = None,
    rejoin_url: str | None = None,
    retained_until: date | datetime | None = None,
    retention_months: int | None = None,
    cancelled_at: datetime | None = None,
    ends_at: datetime | None = None,
    time_zone: str | None = None,
    help_url: str | None = None,
    replies_read: bool = False,
) -> RenderedEmail:
    """The ``notice``, ``reminder`` or ``cancelled`` email, as subject, HTML and plain text.
    ``ends_at``: when access and billing end (the cancellation itself when None); ``help_url``
    and ``replies_read`` (a Reply-To that people read) say where a member gets answers."""
    if kind not in _EMAILS:
        raise ValueError(f"unknown email kind {kind!r}; expected one of {', '.join(_EMAILS)}")
    loc = negotiate_locale(locale)
    context: dict[str, Any] = {
        "kind": kind,
        "respond_by": respond_by,
        "keep_url": keep_url,
        "cancel_url": cancel_url,
        "rejoin_url": rejoin_url,
        "retained_until": retained_until,
        "retention_months": retention_months,
        "cancelled_at": cancelled_at,
        "ends_at": _ends_at(cancelled_at, ends_at),
        "time_zone": time_zone,
        "help_url": help_url or None,
        "replies_read": replies_read,
    }
    _require(f"the {kind} email", context, _EMAILS[kind])
    context |= _common(loc, service_name, monthly_price, currency)
    env = _environment(loc.language)
    context["subject"] = _one_line(env.get_template("email/subject.txt").render(context))
    return RenderedEmail(
        subject=context["subject"],
        html=env.get_template(f"email/{kind}.html").render(context),
        text=env.get_template(f"email/{kind}.txt").render(context),
        lang=loc.language,
    )


def render_page(
    name: str, *, locale: str | None, accept_language: str | None = None, service_name: str, **context: Any
) -> RenderedPage:
    """A page a member's link leads to, with the HTTP status and the CSP it goes with."""
    if name not in _PAGES:
        raise ValueError(f"unknown page {name!r}; expected one of {', '.join(_PAGES)}")
    status, required = _PAGES[name]
    context = _PAGE_DEFAULTS | context
    _require(f"the {name} page", context, required)
    for key, allowed in _ALLOWED.items():
        if context[key] is not None and context[key] not in allowed:
            raise ValueError(f"{key} must be one of {allowed}, got {context[key]!r}")
    context["ends_at"] = _ends_at(context["cancelled_at"], context["ends_at"])
    loc = negotiate_locale(locale, accept_language)
    style, policy = _stylesheet()
    html = (
        _environment(loc.language)
        .get_template(f"page/{name}.html")
        .render(context | _common(loc, service_name, context["monthly_price"], context["currency"]), style=style)
    )
    return RenderedPage(html=html, lang=loc.language, status=status, content_security_policy=policy)


@lru_cache(maxsize=512)
def _parse(tag: object) -> Locale | None:
    if not isinstance(tag, str) or not tag.strip():
        return None
    identifier = tag.strip().replace("-", "_")
    # An unknown region ("fr-XX") still says which language the member reads.
    for candidate in (identifier, identifier.split("_")[0]):
        try:
            return Locale.parse(candidate)
        except (ValueError, TypeError, UnknownLocaleError):
            continue
    return None


def _speaks(loc: Locale | None) -> TypeGuard[Locale]:
    return loc is not None and loc.language in SUPPORTED_LANGUAGES


# Browsers send a handful of languages (under 200 characters); a header far longer is not a
# browser's, and reading all of it would cost CPU for nothing: only this much of it counts.
MAX_ACCEPT_LANGUAGE_CHARACTERS = 1024
MAX_ACCEPT_LANGUAGE_TAGS = 32


def _preferred(accept_language: str | None) -> list[str]:
    """The tags of an Accept-Language header, most wanted first (RFC 9110, section 12.5.4);
    only the first ``MAX_ACCEPT_LANGUAGE_TAGS`` within its first ``MAX_ACCEPT_LANGUAGE_CHARACTERS``."""
    ranked = []
    items = (accept_language or "")[:MAX_ACCEPT_LANGUAGE_CHARACTERS].split(",")[:MAX_ACCEPT_LANGUAGE_TAGS]
    for position, item in enumerate(items):
        tag, *params = (part.strip() for part in item.split(";"))
        weight = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if tag and tag != "*" and weight > 0:
            ranked.append((-weight, position, tag))
    return [tag for *_, tag in sorted(ranked)]


def _one_line(text: str) -> str:
    # A line break in a value must never reach a mail header; no-break spaces are typography, they stay.
    return _BREAKABLE_SPACE.sub(" ", text).strip()


def _require(what: str, context: dict[str, Any], names: tuple[str, ...]) -> None:
    missing = [name for name in names if context.get(name) in (None, "")]
    if missing:
        raise ValueError(f"{what} needs {', '.join(missing)}")


def _common(loc: Locale, service_name: str, monthly_price: Any, currency: str | None) -> dict[str, Any]:
    right_to_left = loc.character_order == "right-to-left"
    return {
        "lang": loc.language,
        "locale": loc,
        "direction": "rtl" if right_to_left else "ltr",
        "start": "right" if right_to_left else "left",  # the side a line starts on, for the emails' inline styles
        "service_name": service_name,
        "price": _price(monthly_price, currency, loc),
    }


def _price(monthly_price: Any, currency: str | None, loc: Locale) -> str | None:
    if monthly_price in (None, "") or not currency:
        return None
    try:
        amount = Decimal(str(monthly_price))
    except InvalidOperation:
        raise ValueError(f"monthly_price must be a decimal amount, got {monthly_price!r}") from None
    return format_currency(amount, currency, locale=loc).translate(_NO_BREAK)


def _ends_at(cancelled_at: datetime | None, ends_at: datetime | None) -> datetime | None:
    """When access and billing end: never before the cancellation itself."""
    if cancelled_at is None or ends_at is None or ends_at < cancelled_at:
        return cancelled_at
    return ends_at


@pass_context
def _long_date(context: Any, value: date | datetime) -> str:
    if isinstance(value, datetime):  # the day it is where the member is
        value = value.astimezone(_zone(context.get("time_zone"))).date()
    return format_date(value, format="long", locale=context["locale"]).translate(_NO_BREAK)


@pass_context
def _moment(context: Any, value: datetime) -> str:
    """A date and time as the member's language joins them, in their time zone (UTC when the
    business does not know it), the zone named: "December 9, 2026, 4:00 AM GMT+01:00". In HTML a
    line may break between the date and the time (at a ``<wbr>``), never inside either: written
    whole, "3 de junio de 2026, 11:30 CEST" is wider than a phone's column at 400% zoom."""
    loc, zone = context["locale"], _zone(context.get("time_zone"))
    day = format_date(value.astimezone(zone).date(), format="long", locale=loc)
    clock = format_time(value, format="short", tzinfo=zone, locale=loc)
    zone_name = "UTC" if zone is UTC else _zone_name(value, zone, loc)
    pattern, parts = str(loc.datetime_formats["long"]), {"{1}": day, "{0}": f"{clock} {zone_name}"}

    def written(piece: str) -> str:
        for placeholder, text in parts.items():
            piece = piece.replace(placeholder, text)
        return piece.translate(_NO_BREAK)

    second = max(parts, key=pattern.find)  # the part the locale writes second, date or time
    if not context.eval_ctx.autoescape or pattern.find(second) <= 0:
        return written(pattern)
    at = pattern.find(second)
    return Markup("<wbr>").join((written(pattern[:at]), written(pattern[at:])))


def _zone_name(value: datetime, zone: Any, loc: Locale) -> str:
    """The zone's short name where the language has one ("MEZ", "EST"), else its offset the
    language's way ("GMT+01:00", "UTC+01:00"): never a bare "+0100"."""
    short = format_datetime(value, "z", tzinfo=zone, locale=loc)
    if short[:1] not in "+-":
        return short
    return get_timezone_gmt(value.astimezone(zone), width="long", locale=loc)


def _zone(name: Any) -> Any:
    if not isinstance(name, str) or not name.strip():
        return UTC
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):  # a zone the business wrote wrong: UTC, named so
        return UTC


@cache
def _translations(lang: str) -> Translations:
    with (_LOCALES / f"{lang}.po").open("rb") as po:
        catalog = read_po(po, locale=lang)
    # gettext reads only the binary catalog format; build it in memory from the .po.
    mo = BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    return Translations(mo)


@cache
def _environment(lang: str) -> Environment:
    # One environment per language: gettext callables are installed environment-wide.
    env = Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    translations = _translations(lang)
    # Newstyle gettext escapes the %(name)s values it fills in, in HTML templates.
    env.install_gettext_callables(  # type: ignore[attr-defined]  # added by jinja2.ext.i18n, which jinja2 does not type
        translations.gettext, translations.ngettext, newstyle=True
    )
    env.filters["long_date"] = _long_date
    env.filters["moment"] = _moment
    return env


@cache
def _stylesheet() -> tuple[Markup, str]:
    """The pages' one stylesheet, and the CSP that allows exactly it (by hash) and nothing else."""
    css = (_TEMPLATES / "page" / "style.css").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    policy = (
        f"default-src 'none'; style-src 'sha256-{digest}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    return Markup(css), policy
