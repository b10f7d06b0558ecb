"""The member API's reading of what a request carries: which form posts come from our own page."""

import pytest

from functions.member_api.web import from_another_site

HOST = "abc123.execute-api.us-east-1.amazonaws.com"


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({"Sec-Fetch-Site": "same-origin", "Origin": "null", "Host": HOST}, False),  # our own form, no-referrer
        ({"Sec-Fetch-Site": "none"}, False),  # typed or bookmarked by the member
        ({"Sec-Fetch-Site": "cross-site", "Origin": f"https://{HOST}", "Host": HOST}, True),
        ({"Sec-Fetch-Site": "same-site", "Host": HOST}, True),
        ({"Origin": f"https://{HOST}", "Host": HOST}, False),  # an older browser, our page
        ({"origin": f"https://{HOST.upper()}", "HOST": HOST}, False),  # names in any case
        ({"Origin": "https://evil.example", "Host": HOST}, True),
        ({"Origin": "null", "Host": HOST}, True),
        ({"Origin": "https://evil.example"}, True),  # no Host to compare with: cannot be shown to be ours
        ({"Origin": "http://[", "Host": HOST}, True),  # not a URL
        ({"Host": HOST}, False),  # no browser's page: curl, an app
        ({}, False),
    ],
)
def test_a_form_post_counts_only_from_our_own_page(headers, refused):
    assert from_another_site(headers) is refused
