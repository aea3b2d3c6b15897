"""The simulator's business profile and Resumable Upload API, over HTTP as an app calls them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from simulator import Simulator

ACCESS_TOKEN = "test-access-token"
PHONE_NUMBER_ID = "106540352242922"
JPEG = b"\xff\xd8\xff\xe0" + b"photo" * 40
CONTRACT = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "contracts"
    / "whatsapp-business-messaging-openapi-v23.0.yaml"
)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator("http://127.0.0.1:9/unused", "secret", ACCESS_TOKEN, webhook_retries=0) as s:
        yield s


def graph(
    sim: Simulator, method: str, path: str, *, scheme: str = "Bearer", **kwargs: Any
) -> requests.Response:
    headers = {"Authorization": f"{scheme} {ACCESS_TOKEN}", **kwargs.pop("headers", {})}
    return requests.request(method, f"{sim.graph_url}/{path}", headers=headers, timeout=5, **kwargs)


def profile_path() -> str:
    return f"{PHONE_NUMBER_ID}/whatsapp_business_profile"


def upload(sim: Simulator, data: bytes, file_type: str = "image/jpeg", app: str = "app") -> str:
    session = graph(
        sim, "POST", f"{app}/uploads", params={"file_length": len(data), "file_type": file_type}
    )
    assert session.status_code == 200
    upload_id = session.json()["id"]
    assert upload_id.startswith("upload:") and "?sig=" in upload_id
    answer = graph(sim, "POST", upload_id, scheme="OAuth", headers={"file_offset": "0"}, data=data)
    assert answer.status_code == 200, answer.text
    return answer.json()["h"]


def contract_profile_fields() -> list[str]:
    """The fields of Meta's ``WhatsAppBusinessProfile`` schema."""
    yaml = pytest.importorskip("yaml")
    contract = yaml.safe_load(CONTRACT.read_text())
    return list(contract["components"]["schemas"]["WhatsAppBusinessProfile"]["properties"])


def test_a_new_number_answers_every_field_of_the_profile_schema(sim: Simulator) -> None:
    answer = graph(sim, "GET", profile_path())

    assert answer.status_code == 200
    (entry,) = answer.json()["data"]
    assert entry == {
        "about": "",
        "address": "",
        "description": "",
        "email": "",
        "websites": [],
        "vertical": "UNDEFINED",
        "profile_picture_url": "",
        "messaging_product": "whatsapp",
    }
    assert sorted(entry) == sorted(contract_profile_fields())


def test_the_fields_asked_for_are_answered_even_empty(sim: Simulator) -> None:
    answer = graph(sim, "GET", profile_path(), params={"fields": "about,websites,vertical"})

    assert answer.status_code == 200
    assert answer.json() == {
        "data": [
            {"about": "", "websites": [], "vertical": "UNDEFINED", "messaging_product": "whatsapp"}
        ]
    }


def test_a_field_the_profile_does_not_have_is_refused(sim: Simulator) -> None:
    answer = graph(sim, "GET", profile_path(), params={"fields": "about,colour"})

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == 100
    assert "nonexisting field (colour)" in error["message"]


def test_update_changes_only_the_given_fields_and_get_answers_the_requested_ones(
    sim: Simulator,
) -> None:
    sim.business_profile["address"] = "1 Hacker Way"
    body = {
        "messaging_product": "whatsapp",
        "about": "Succulent specialists!",
        "websites": ["https://www.luckyshrub.com", "http://shop.luckyshrub.com/"],
        "vertical": "RETAIL",
    }
    assert graph(sim, "POST", profile_path(), json=body).json() == {"success": True}
    fields = "about,address,description,email,profile_picture_url,websites,vertical"
    entry = graph(sim, "GET", profile_path(), params={"fields": fields}).json()["data"][0]
    assert entry == {
        "about": "Succulent specialists!",
        "address": "1 Hacker Way",
        "description": "",
        "email": "",
        "profile_picture_url": "",
        "websites": ["https://www.luckyshrub.com", "http://shop.luckyshrub.com/"],
        "vertical": "RETAIL",
        "messaging_product": "whatsapp",
    }
    only_about = graph(sim, "GET", profile_path(), params={"fields": "about"}).json()["data"][0]
    assert only_about == {"about": "Succulent specialists!", "messaging_product": "whatsapp"}
    assert sim.profile_updates == [body]


def test_an_empty_string_or_list_clears_a_field(sim: Simulator) -> None:
    sim.business_profile.update({"email": "a@b.example", "websites": ["https://b.example"]})
    body = {"messaging_product": "whatsapp", "email": "", "websites": []}
    assert graph(sim, "POST", profile_path(), json=body).status_code == 200
    assert sim.business_profile["email"] == ""
    assert sim.business_profile["websites"] == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"about": "x" * 140}, "(#100) Param about must be at most 139 characters long."),
        ({"about": ""}, "(#100) Param about must be at least 1 character long."),
        ({"description": "x" * 513}, "(#100) Param description must be at most 512 characters"),
        ({"address": "x" * 257}, "(#100) Param address must be at most 256 characters long."),
        ({"email": "not-an-address"}, "(#100) Param email must be a valid email address."),
        (
            {"websites": ["https://a.example", "https://b.example", "https://c.example"]},
            "(#100) Param websites must have at most 2 elements.",
        ),
        ({"websites": ["www.example.com"]}, "(#100) Param websites[0] must be a valid URL."),
        ({"vertical": "SPACESHIPS"}, "(#100) Param vertical must be one of {UNDEFINED, OTHER"),
        ({"colour": "green"}, "(#100) Param colour is not a valid parameter."),
        ({"profile_picture_handle": "4::bm9wZQ==:forged"}, "(#100) Param profile_picture_handle"),
    ],
)
def test_values_the_platform_refuses_get_its_error_envelope_and_change_nothing(
    sim: Simulator, fields: dict[str, Any], message: str
) -> None:
    answer = graph(sim, "POST", profile_path(), json={"messaging_product": "whatsapp", **fields})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == 100
    assert error["type"] == "OAuthException"
    assert error["message"].startswith(message)
    assert error["error_data"]["details"]
    assert "fbtrace_id" in error
    assert sim.profile_updates == []
    assert sim.business_profile["about"] == ""


def test_update_without_messaging_product_is_refused(sim: Simulator) -> None:
    answer = graph(sim, "POST", profile_path(), json={"about": "Hello"})
    assert answer.status_code == 400
    assert "messaging_product" in answer.json()["error"]["message"]


def test_another_numbers_profile_does_not_exist(sim: Simulator) -> None:
    answer = graph(sim, "GET", "999/whatsapp_business_profile")
    assert answer.status_code == 400
    assert answer.json()["error"]["error_subcode"] == 33


def test_fail_next_refuses_the_next_profile_update(sim: Simulator) -> None:
    sim.fail_next(131031)
    answer = graph(
        sim, "POST", profile_path(), json={"messaging_product": "whatsapp", "about": "A"}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == 131031
    assert sim.business_profile["about"] == ""
    again = graph(sim, "POST", profile_path(), json={"messaging_product": "whatsapp", "about": "A"})
    assert again.status_code == 200
    assert sim.business_profile["about"] == "A"


def test_uploaded_photo_becomes_the_profile_picture_served_at_a_new_url(sim: Simulator) -> None:
    handle = upload(sim, JPEG)
    body = {"messaging_product": "whatsapp", "profile_picture_handle": handle}
    assert graph(sim, "POST", profile_path(), json=body).status_code == 200
    entry = graph(sim, "GET", profile_path(), params={"fields": "profile_picture_url"}).json()
    url = entry["data"][0]["profile_picture_url"]
    assert url.startswith(sim.base_url + "/pps/")
    picture = requests.get(url, timeout=5)  # public, like the platform's picture host
    assert picture.status_code == 200
    assert picture.headers["Content-Type"] == "image/jpeg"
    assert picture.content == JPEG
    second = upload(sim, b"\x89PNG\r\n\x1a\n" + b"png" * 10, "image/png")
    graph(
        sim,
        "POST",
        profile_path(),
        json={"messaging_product": "whatsapp", "profile_picture_handle": second},
    )
    assert sim.business_profile["profile_picture_url"] not in ("", url)


@pytest.mark.parametrize("app", ["app", "1234567890123456"])
def test_an_upload_session_opens_under_the_app_alias_or_an_app_id(sim: Simulator, app: str) -> None:
    handle = upload(sim, JPEG, app=app)

    answer = graph(
        sim,
        "POST",
        profile_path(),
        json={"messaging_product": "whatsapp", "profile_picture_handle": handle},
    )
    assert answer.status_code == 200
    assert sim.business_profile["profile_picture_url"].startswith(f"{sim.base_url}/pps/")


def test_uploads_under_something_else_than_an_app_are_refused(sim: Simulator) -> None:
    answer = graph(sim, "POST", "me/uploads", params={"file_length": 4, "file_type": "image/png"})

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == 2500


def test_a_pdf_handle_cannot_become_the_profile_picture(sim: Simulator) -> None:
    handle = upload(sim, b"%PDF-1.7 menu", "application/pdf")
    body = {"messaging_product": "whatsapp", "profile_picture_handle": handle}
    answer = graph(sim, "POST", profile_path(), json=body)
    assert answer.status_code == 400
    assert sim.business_profile["profile_picture_url"] == ""


def test_upload_checks_the_session_signature_offset_and_length(sim: Simulator) -> None:
    session = graph(
        sim, "POST", "app/uploads", params={"file_length": len(JPEG), "file_type": "image/jpeg"}
    ).json()["id"]
    key = session.split("?sig=")[0]
    forged = graph(sim, "POST", f"{key}?sig=forged", headers={"file_offset": "0"}, data=JPEG)
    assert forged.status_code == 400
    no_offset = graph(sim, "POST", session, data=JPEG)
    assert "file_offset" in no_offset.json()["error"]["message"]
    short = graph(sim, "POST", session, headers={"file_offset": "0"}, data=JPEG[:10])
    assert short.status_code == 400
    assert "file_length" in short.json()["error"]["message"]
    assert graph(sim, "POST", session, headers={"file_offset": "0"}, data=JPEG).status_code == 200


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"file_type": "image/jpeg"}, "file_length"),
        ({"file_length": "0", "file_type": "image/jpeg"}, "file_length"),
        ({"file_length": "²", "file_type": "image/jpeg"}, "file_length"),
        ({"file_length": "10"}, "file_type"),
        ({"file_length": "10", "file_type": "text/html"}, "file_type"),
    ],
)
def test_an_upload_session_needs_a_length_and_a_known_type(
    sim: Simulator, params: dict[str, str], message: str
) -> None:
    answer = graph(sim, "POST", "app/uploads", params=params)
    assert answer.status_code == 400
    assert message in answer.json()["error"]["message"]


def test_profile_endpoints_need_the_access_token(sim: Simulator) -> None:
    answer = requests.get(
        f"{sim.graph_url}/{profile_path()}", headers={"Authorization": "OAuth wrong"}, timeout=5
    )
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == 190


def test_control_endpoint_shows_the_profile(sim: Simulator) -> None:
    sim.business_profile["about"] = "Open 9-18"
    answer = requests.get(f"{sim.base_url}/_sim/business-profile", timeout=5)
    assert answer.json()["about"] == "Open 9-18"
