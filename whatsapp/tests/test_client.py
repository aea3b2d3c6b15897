import json

import pytest
import requests
import responses

from conftest import FIXTURES_DIR
from whatsapp.client import GraphAPIError, GraphClient, GraphUnreachable, text_message
from whatsapp.events import PlatformError

BASE = "https://graph.example.test/v23.0"
SEND_URL = f"{BASE}/106540352242922/messages"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES_DIR / name).read_bytes())


@pytest.fixture
def client() -> GraphClient:
    return GraphClient(base_url=BASE, access_token="tok", timeout=2)


@responses.activate
def test_send_posts_the_documented_body_with_the_bearer_token(client: GraphClient) -> None:
    responses.post(SEND_URL, json=fixture("send_text_response.json"))
    payload = text_message("16505551234", "Hello", callback_data="our-id", reply_to="wamid.prev")
    result = client.send_message("106540352242922", payload)
    assert result.wamid == "wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA"
    assert result.wa_id == "16505551234"
    sent = responses.calls[0].request
    assert sent.headers["Authorization"] == "Bearer tok"
    assert json.loads(sent.body) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "16505551234",
        "type": "text",
        "text": {"preview_url": False, "body": "Hello"},
        "context": {"message_id": "wamid.prev"},
        "biz_opaque_callback_data": "our-id",
    }


def test_text_message_matches_the_documented_request_shape() -> None:
    documented = fixture("send_text_request.json")
    built = text_message(documented["to"], documented["text"]["body"], preview_url=True)
    assert built == documented


@responses.activate
def test_template_send_response_keeps_message_status(client: GraphClient) -> None:
    responses.post(SEND_URL, json=fixture("send_template_response.json"))
    assert client.send_message("106540352242922", {}).message_status == "accepted"


@pytest.mark.parametrize(
    ("name", "status", "code", "retryable"),
    [
        ("error_130429_rate_limit_response.RECONSTRUCTED.json", 400, 130429, True),
        ("error_131056_pair_rate_limit_response.RECONSTRUCTED.json", 400, 131056, True),
        ("error_131047_re_engagement_response.RECONSTRUCTED.json", 400, 131047, False),
        ("error_131030_recipient_not_in_allowed_list_response.json", 400, 131030, False),
        ("error_132001_template_does_not_exist_response.json", 404, 132001, False),
        ("error_190_access_token_expired_response.json", 401, 190, False),
    ],
)
@responses.activate
def test_error_envelopes_become_graph_api_errors(
    client: GraphClient, name: str, status: int, code: int, retryable: bool
) -> None:
    body = fixture(name)
    responses.post(SEND_URL, json=body, status=status)
    with pytest.raises(GraphAPIError) as caught:
        client.send_message("106540352242922", {})
    assert caught.value.code == code
    assert caught.value.retryable is retryable
    assert caught.value.details == body["error"].get("error_data", {}).get("details", "")


@responses.activate
def test_a_5xx_without_error_body_is_retryable(client: GraphClient) -> None:
    responses.post(SEND_URL, body="Bad Gateway", status=502)
    with pytest.raises(GraphAPIError) as caught:
        client.send_message("106540352242922", {})
    assert caught.value.retryable
    assert caught.value.http_status == 502


@responses.activate
def test_a_timeout_may_have_delivered(client: GraphClient) -> None:
    responses.post(SEND_URL, body=requests.ReadTimeout("read timed out"))
    with pytest.raises(GraphUnreachable) as caught:
        client.send_message("106540352242922", {})
    assert caught.value.maybe_delivered is True


def test_a_refused_connection_never_delivered() -> None:
    client = GraphClient(base_url="http://127.0.0.1:9/v23.0", access_token="tok", timeout=2)
    with pytest.raises(GraphUnreachable) as caught:
        client.send_message("1", {})
    assert caught.value.maybe_delivered is False


@pytest.mark.parametrize(
    "name", ["send_text_response.json", "send_image_response.json", "send_template_response.json"]
)
@responses.activate
def test_every_documented_send_response_gives_the_message_id(
    client: GraphClient, name: str
) -> None:
    body = fixture(name)
    responses.post(SEND_URL, json=body)
    result = client.send_message("106540352242922", {})
    assert result.wamid == body["messages"][0]["id"]
    assert result.wa_id == body["contacts"][0]["wa_id"]


@pytest.mark.parametrize(
    ("name", "code", "title"),
    [
        ("error_object_131047_re_engagement.json", 131047, "Re-engagement message"),
        ("error_object_131053_media_upload_error.json", 131053, "Media upload error"),
    ],
)
def test_documented_error_objects_keep_code_title_and_details(
    name: str, code: int, title: str
) -> None:
    raw = fixture(name)
    error = PlatformError.from_payload(raw)
    assert (error.code, error.title) == (code, title)
    assert error.details == raw["error_data"]["details"]


# --- Business profile and the Resumable Upload API ---------------------------------------------

PROFILE_URL = f"{BASE}/106540352242922/whatsapp_business_profile"


@responses.activate
def test_business_profile_is_read_with_every_field_named(client: GraphClient) -> None:
    # The documented example answer.
    documented = {
        "data": [
            {
                "about": "Succulent specialists!",
                "address": "1 Hacker Way, Menlo Park, CA 94025",
                "description": "At Lucky Shrub, we specialize in providing a...",
                "email": "lucky@luckyshrub.com",
                "profile_picture_url": "https://pps.whatsapp.net/v/t61.24...",
                "websites": ["https://www.luckyshrub.com/"],
                "vertical": "RETAIL",
                "messaging_product": "whatsapp",
            }
        ]
    }
    responses.get(PROFILE_URL, json=documented)
    assert client.get_business_profile("106540352242922") == documented["data"][0]
    sent = responses.calls[0].request
    assert sent.headers["Authorization"] == "Bearer tok"
    assert sent.params == {
        "fields": "about,address,description,email,websites,vertical,profile_picture_url"
    }


@responses.activate
def test_business_profile_update_sends_only_the_given_fields(client: GraphClient) -> None:
    responses.post(PROFILE_URL, json={"success": True})
    client.update_business_profile("106540352242922", {"about": "Open 9-18", "websites": []})
    assert json.loads(responses.calls[0].request.body) == {
        "messaging_product": "whatsapp",
        "about": "Open 9-18",
        "websites": [],
    }


@responses.activate
def test_refused_profile_update_raises_with_the_platforms_reason(client: GraphClient) -> None:
    responses.post(
        PROFILE_URL,
        status=400,
        json={
            "error": {
                "message": "(#100) Param email must be a valid email address.",
                "type": "OAuthException",
                "code": 100,
                "error_data": {"messaging_product": "whatsapp", "details": "Not an address."},
                "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam",
            }
        },
    )
    with pytest.raises(GraphAPIError) as caught:
        client.update_business_profile("106540352242922", {"email": "nope"})
    assert caught.value.code == 100
    assert caught.value.title == "(#100) Param email must be a valid email address."
    assert caught.value.details == "Not an address."
    assert caught.value.retryable is False


@responses.activate
def test_a_file_is_uploaded_in_a_session_then_its_bytes_with_oauth(client: GraphClient) -> None:
    session_id = "upload:MTphdHRhY2htZW50OjZiZGYx?sig=ARaYVtHxBN2wbmRbYpE"
    responses.post(f"{BASE}/app/uploads", json={"id": session_id})
    responses.post(f"{BASE}/{session_id}", json={"h": "2:c2FtcGxlLm1wNA==:image/jpeg:GKAj0g"})
    photo = b"\xff\xd8\xff\xe0photo"
    handle = client.upload_file(photo, "image/jpeg", file_name="logo.jpg")
    assert handle == "2:c2FtcGxlLm1wNA==:image/jpeg:GKAj0g"
    opened, sent = (call.request for call in responses.calls)
    assert opened.params == {
        "file_length": str(len(photo)),
        "file_type": "image/jpeg",
        "file_name": "logo.jpg",
    }
    assert sent.url == f"{BASE}/{session_id}"
    assert sent.headers["Authorization"] == "OAuth tok"
    assert sent.headers["file_offset"] == "0"
    assert sent.body == photo


@responses.activate
def test_an_upload_answer_without_a_handle_is_an_error(client: GraphClient) -> None:
    responses.post(f"{BASE}/app/uploads", json={"id": "upload:abc"})
    responses.post(f"{BASE}/upload:abc", json={"success": True})
    with pytest.raises(GraphAPIError, match="no file handle"):
        client.upload_file(b"\x89PNG\r\n\x1a\n", "image/png")


@responses.activate
def test_an_unanswered_profile_read_is_unreachable(client: GraphClient) -> None:
    responses.get(PROFILE_URL, body=requests.ConnectionError("Connection refused"))
    with pytest.raises(GraphUnreachable):
        client.get_business_profile("106540352242922")
