"""The platform's rules for business profile fields, checked before anything is sent."""

import pytest

from whatsapp import profiles


def test_a_complete_valid_profile_has_no_problems() -> None:
    assert (
        profiles.problems(
            {
                "about": "a" * 139,
                "address": "b" * 256,
                "description": "c" * 512,
                "email": "hello@shop.example",
                "websites": ["https://shop.example", "http://blog.shop.example/news?x=1"],
                "vertical": "RETAIL",
            }
        )
        == {}
    )


def test_empty_values_clear_fields_and_are_allowed() -> None:
    fields = {"about": "", "address": "", "email": "", "websites": [], "vertical": "UNDEFINED"}
    assert profiles.problems(fields) == {}


@pytest.mark.parametrize(
    ("fields", "field", "sentence"),
    [
        ({"about": "a" * 140}, "about", "At most 139 characters (140 given)."),
        ({"description": "d" * 513}, "description", "At most 512 characters (513 given)."),
        ({"address": "x" * 257}, "address", "At most 256 characters (257 given)."),
        ({"email": "x" * 120 + "@a.example"}, "email", "At most 128 characters (130 given)."),
        ({"email": "shop at example"}, "email", "'shop at example' is not an email address."),
        (
            {"websites": ["https://a.example", "https://b.example", "https://c.example"]},
            "websites",
            "At most 2 websites (3 given).",
        ),
        (
            {"websites": ["shop.example"]},
            "websites",
            "'shop.example' is not a web address starting with http:// or https://.",
        ),
        (
            {"websites": ["https://" + "a" * 250 + ".example"]},
            "websites",
            "A web address holds at most 256 characters.",
        ),
        ({"websites": "https://a.example"}, "websites", "Must be a list of web addresses."),
        (
            {"vertical": "SPACESHIPS"},
            "vertical",
            "'SPACESHIPS' is not one of WhatsApp's industries.",
        ),
    ],
)
def test_each_refused_value_is_named_with_a_sentence(
    fields: dict, field: str, sentence: str
) -> None:
    assert profiles.problems(fields) == {field: sentence}


def test_photo_type_is_read_from_the_bytes_not_the_name() -> None:
    assert profiles.photo_type(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert profiles.photo_type(b"\x89PNG\r\n\x1a\nrest") == "image/png"
    assert profiles.photo_type(b"GIF89a") is None
    assert profiles.photo_type(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None
