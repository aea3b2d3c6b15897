"""``python -m inbox.serve`` remembers Twisted's Content-Type parse per value and
still tells every kind of body apart (the web process's own tests run it whole)."""

from __future__ import annotations

import gc

import pytest
from twisted.web import http as twisted_http

from inbox import serve


@pytest.fixture
def remembered():  # type: ignore[no-untyped-def]
    original = twisted_http._parseContentType
    serve.remember_content_types()
    yield twisted_http._parseContentType
    twisted_http._parseContentType = original


@pytest.mark.parametrize(
    ("header", "content_type"),
    [
        (b"application/json", b"application/json"),
        (b"Application/JSON; charset=UTF-8", b"application/json"),
        (b"multipart/form-data; boundary=----x", b"multipart/form-data"),
        (b"application/x-www-form-urlencoded", b"application/x-www-form-urlencoded"),
        (b"not a type", b"text/plain"),
    ],
)
def test_each_value_is_parsed_as_twisted_does_and_then_remembered(
    remembered, header: bytes, content_type: bytes
) -> None:  # type: ignore[no-untyped-def]
    assert remembered(header) == content_type
    hits = remembered.cache_info().hits
    assert remembered(header) == content_type
    assert remembered.cache_info().hits == hits + 1


def test_remembering_twice_wraps_once(remembered) -> None:  # type: ignore[no-untyped-def]
    serve.remember_content_types()
    assert twisted_http._parseContentType is remembered


def test_what_exists_at_startup_is_left_out_of_later_collections() -> None:
    made_while_starting = [[n] for n in range(3)]  # containers: the collector tracks them
    tracked = {id(o) for o in gc.get_objects()}
    assert all(id(o) in tracked for o in made_while_starting)
    try:
        serve.freeze_startup_objects()
        tracked = {id(o) for o in gc.get_objects()}
        assert not any(id(o) in tracked for o in made_while_starting)
        assert gc.get_freeze_count() >= len(made_while_starting)
    finally:
        gc.unfreeze()
