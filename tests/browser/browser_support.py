"""What the browser tests share (the stack on the local cloud is ``tests/stack.py``'s): the steps
and checks a member's browser goes through: following a button-link in a rendered email,
submitting a page's form, reading the page's security headers, forging a link.

Screenshots of each page kind are written to ``/tmp/browser-<kind>.png`` when the environment
variable ``BROWSER_SCREENSHOTS`` is set (to look at the pages; never asserted on).
"""

from __future__ import annotations

import os

from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Response, expect

# A notice opened at the first sweep (1 June 2026) is to be answered by 1 July 2026.
RESPOND_BY = {"fr": "1 juillet 2026", "de": "1. Juli 2026", "es": "1 de julio de 2026", "en": "July 1, 2026"}

# What each language's pages and emails call the two choices.
KEEP_LABEL = {
    "en": "Keep my membership",
    "fr": "Conserver mon abonnement",
    "de": "Mitgliedschaft behalten",
    "es": "Mantener mi membresía",
}
CANCEL_LABEL = {
    "en": "Cancel my membership",
    "fr": "Résilier mon abonnement",
    "de": "Mitgliedschaft kündigen",
    "es": "Cancelar mi membresía",
}

PAGE_CARD_COLOUR = "rgb(255, 255, 255)"  # the stylesheet's card background, in the light scheme
ACCENT_COLOUR = "rgb(29, 78, 216)"


def is_page_load(response: Response) -> bool:
    """A response that is a page, not a favicon or a subresource (these pages have no frames)."""
    return response.request.is_navigation_request() and response.request.resource_type == "document"


def follow_email_button(context: BrowserContext, email: Page, label: str) -> tuple[Page, Response]:
    """Clicks a button-link of an email rendered in ``email``; the links open a new tab. Returns
    that tab, loaded, and the response that brought its page."""
    with context.expect_page() as opened, context.expect_event("response", predicate=is_page_load) as answered:
        email.get_by_role("link", name=label, exact=True).click()
    page = opened.value
    page.wait_for_load_state()
    return page, answered.value


def submit(page: Page, button_label: str, *, by: str = "click") -> Response:
    """Sends the page's form with one of its buttons - a mouse click, a tap, or Enter on the
    button once it has the keyboard's focus - and returns the response of the page that answers."""
    button = page.get_by_role("button", name=button_label, exact=True)
    with page.expect_response(lambda r: is_page_load(r) and r.request.method == "POST") as answered:
        if by == "click":
            button.click()
        elif by == "tap":
            button.tap()
        else:
            expect(button).to_be_focused()
            page.keyboard.press(by)
    page.wait_for_load_state()
    return answered.value


# Every control a page has, in the order of its document (these pages set no tabindex).
CONTROLS = "a[href], button, input, select, textarea"

# The focused element: its name, how its focus ring shows against the card it sits on (WCAG
# 2.4.7 asks that it be visible: a solid ring of at least 2 px, 3:1 against the card, is), and
# whether all of it is on the screen (2.4.11: the focus is not hidden).
FOCUSED = """() => {
    const node = document.activeElement, style = getComputedStyle(node);
    const rgb = value => (value.match(/[\\d.]+/g) || []).slice(0, 3).map(Number);
    const luminance = ([r, g, b]) => [r, g, b].map(c => c / 255)
        .map(c => c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)
        .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
    let card = node.parentElement;
    while (card && getComputedStyle(card).backgroundColor === "rgba(0, 0, 0, 0)") card = card.parentElement;
    const ring = luminance(rgb(style.outlineColor));
    const behind = luminance(rgb(getComputedStyle(card || document.body).backgroundColor));
    const box = node.getBoundingClientRect();
    return {
        name: node === document.body ? null : node.textContent.trim(),
        ring: style.outlineStyle, width: parseFloat(style.outlineWidth),
        contrast: (Math.max(ring, behind) + 0.05) / (Math.min(ring, behind) + 0.05),
        // within a pixel: Chromium scrolls a focused control into view in whole device pixels
        on_screen: box.left >= -1 && box.top >= -1 && box.right <= innerWidth + 1 && box.bottom <= innerHeight + 1,
    };
}"""


def tab_through(page: Page) -> list[dict]:
    """Presses Tab from the top of the page once for each control it has, and says what had the
    focus after each press (``FOCUSED``)."""
    reached = []
    for _ in range(page.locator(CONTROLS).count()):
        page.keyboard.press("Tab")
        reached.append(page.evaluate(FOCUSED))
    return reached


def assert_reached_in_order_visibly(page: Page) -> list[str]:
    """Tab from the top reaches every control in the page's order, each with a visible focus
    ring, on the screen; returns their names in that order."""
    reached = tab_through(page)
    names = [focus["name"] for focus in reached]
    assert names == [text.strip() for text in page.locator(CONTROLS).all_text_contents()], reached
    for focus in reached:
        assert focus["ring"] == "solid" and focus["width"] >= 2 and focus["contrast"] >= 3, focus
        assert focus["on_screen"], focus
    return names


def content_security_policy(response: Response) -> dict[str, list[str]]:
    """The page's Content-Security-Policy header, directive by directive."""
    header = response.all_headers().get("content-security-policy", "")
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *values = part.split() or [""]
        if name:
            directives[name.lower()] = values
    return directives


def assert_strict_page_headers(response: Response) -> None:
    """No script may run, nothing may be loaded, the page's own stylesheet only by its hash, no
    framing, forms only to the page's own origin, and the link never leaks through Referer."""
    policy = content_security_policy(response)
    assert policy.get("default-src") == ["'none'"], policy
    assert policy.get("script-src", ["'none'"]) == ["'none'"], policy
    [style_source] = policy.get("style-src", [])
    assert style_source.startswith("'sha256-"), policy
    assert policy.get("frame-ancestors") == ["'none'"], policy
    assert policy.get("base-uri") == ["'none'"], policy
    assert policy.get("form-action") == ["'self'"], policy
    loose = {"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "data:", "blob:", "http:", "https:"}
    assert not loose & {value for values in policy.values() for value in values}, policy
    headers = response.all_headers()
    assert headers.get("referrer-policy") == "no-referrer"
    assert headers.get("x-frame-options") == "DENY"
    assert headers.get("cache-control") == "no-store"


def policy_violations(console: list[ConsoleMessage]) -> list[str]:
    """What the browser refused because of the page's Content-Security-Policy."""
    return [m.text for m in console if "Content Security Policy" in m.text or "Refused to" in m.text]


def forged(link: str) -> str:
    """The link with one character of its signature changed (a link altered on the way)."""
    address, separator, query = link.partition("?")
    base, _, token = address.rpartition("/")
    payload, _, signature = token.rpartition(".")
    middle = len(signature) // 2
    replacement = "A" if signature[middle] != "A" else "B"
    altered = f"{payload}.{signature[:middle]}{replacement}{signature[middle + 1 :]}"
    assert altered != token
    return f"{base}/{altered}{separator}{query}"


def without_query(link: str) -> str:
    return link.split("?", 1)[0]


def snapshot(page: Page, kind: str) -> None:
    """A full-page screenshot at /tmp/browser-<kind>.png, when BROWSER_SCREENSHOTS is set."""
    if os.environ.get("BROWSER_SCREENSHOTS"):
        page.screenshot(path=f"/tmp/browser-{kind}.png", full_page=True)
