"""The member id in SES message tags: only what SES allows in a tag, and read back exactly."""

import re

from hypothesis import given
from hypothesis import strategies as st

from lifecycle.ses_tags import member_from_tags, member_tags
from tests.real_world import member_ids

SES_TAG_VALUE = re.compile(r"[A-Za-z0-9_-]{1,256}")  # API Reference, "MessageTag"


def as_ses_returns_them(tags: list[dict[str, str]]) -> dict[str, list[str]]:
    """SES hands message tags back in events as {name: [value]}."""
    return {tag["Name"]: [tag["Value"]] for tag in tags}


@given(member_id=st.one_of(member_ids(), st.text(min_size=1, max_size=700)))
def test_any_member_id_is_carried_in_tags_ses_accepts_and_read_back_exactly(member_id):
    # WHEN the member id is written into tags
    tags = member_tags(member_id)
    # THEN every tag name and value is one SES accepts
    for tag in tags:
        assert SES_TAG_VALUE.fullmatch(tag["Name"]) and SES_TAG_VALUE.fullmatch(tag["Value"]), tag
    # AND the tags SES hands back with a bounce name exactly that member
    assert member_from_tags({"kind": ["notice"], **as_ses_returns_them(tags)}) == member_id


def test_readable_ids_stay_readable_in_the_ses_console():
    assert member_tags("m-sample-1") == [{"Name": "member", "Value": "m-sample-1"}]
    assert member_tags("auth0|5f7c")[0]["Value"] == "auth0_7C5f7c"


def test_the_longest_id_dynamodb_can_hold_is_split_over_tags_and_comes_back_whole():
    # GIVEN a 2,048-byte member id of three-byte characters (9 characters written per one)
    member_id = "会" * 682 + "-x"
    tags = member_tags(member_id)
    assert len(tags) > 1 and all(len(tag["Value"]) <= 256 for tag in tags)
    assert member_from_tags(as_ses_returns_them(tags)) == member_id


def test_tags_not_written_that_way_name_nobody():
    for tags in ({}, {"member": []}, {"member": [""]}, {"member": ["a_ZZ"]}, {"member": ["_C3"]}, {"member": ["a b"]}):
        assert member_from_tags(tags) is None, tags
