"""If-None-Match and If-Match as RFC 9110 reads them (section 13.1): an entity-tag list
is parsed element by element (an opaque tag may hold a comma, section 8.8.3), tags
match exactly, never by prefix, and If-None-Match compares weakly (section 13.1.2:
W/"x" matches "x") while If-Match compares strongly (section 13.1.1)."""

from __future__ import annotations

import pytest

from app.http.etags import BadPrecondition, if_match, none_match, parse_etags


@pytest.mark.parametrize(
    ("header", "tags"),
    [
        ('"v1"', [(False, "v1")]),
        ('W/"v1"', [(True, "v1")]),
        ('"v1","v2"', [(False, "v1"), (False, "v2")]),
        ('"v1" , W/"v2",   "v3"', [(False, "v1"), (True, "v2"), (False, "v3")]),
        ('"a,b", "c"', [(False, "a,b"), (False, "c")]),  # a comma inside the quotes
        ('"v1",', [(False, "v1")]),  # an empty element is ignored (RFC 9110 section 5.6.1)
        ('""', [(False, "")]),
        ("*", None),
        (" * ", None),
    ],
)
def test_an_entity_tag_list_is_read_element_by_element(
    header: str, tags: list[tuple[bool, str]] | None
) -> None:
    assert parse_etags(header) == tags


@pytest.mark.parametrize("header", ["", "v1", '"v1', '"v1" "v2"', 'w/"v1"', '"v 1"', '*, "v1"'])
def test_a_malformed_list_is_a_bad_precondition(header: str) -> None:
    with pytest.raises(BadPrecondition):
        parse_etags(header)


@pytest.mark.parametrize(
    ("header", "etag", "matches"),
    [
        ('"v1"', '"v1"', True),
        ('"v1"', '"v12"', False),  # a prefix is another tag: no 304 for version 12
        ('"v12"', '"v1"', False),
        ('"v"', '"v1"', False),
        ('W/"v1"', '"v1"', True),  # weak comparison
        ('"v0", W/"v1"', '"v1"', True),
        ('"v0" ,  "v2"', '"v1"', False),
        ('"a,b"', '"a"', False),
        ("*", '"v1"', True),
        (None, '"v1"', False),
        ("v1", '"v1"', False),  # malformed: ignored, the full answer goes out
    ],
)
def test_if_none_match_matches_exact_tags_weakly(header: str | None, etag: str, matches: bool) -> None:
    assert none_match(header, etag) is matches


@pytest.mark.parametrize(
    ("header", "etag", "matches"),
    [
        ('"v1"', '"v1"', True),
        ('"v1"', '"v12"', False),
        ('"v12"', '"v1"', False),
        ('W/"v1"', '"v1"', False),  # strong comparison: a weak tag never matches
        ('W/"v1", "v1"', '"v1"', True),
        ("*", '"v1"', True),
    ],
)
def test_if_match_matches_exact_tags_strongly(header: str, etag: str, matches: bool) -> None:
    assert if_match(header, etag) is matches
