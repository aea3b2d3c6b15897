import hashlib
import json

import pytest
import requests
import responses

from conftest import FIXTURES_DIR
from whatsapp.client import (
    GraphAPIError,
    GraphClient,
    GraphUnreachable,
    MediaClient,
    MediaInfo,
    MediaRefused,
    outbound_message,
    read_receipt,
    send_media_kind,
    text_message,
)
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


# --- Media retrieval ------------------------------------------------------------

LOOKASIDE = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=645645&ext=54353"


@pytest.fixture
def media() -> MediaClient:
    return MediaClient(base_url=BASE, access_token="tok", timeout=2, max_media_bytes=1000)


@responses.activate
def test_media_info_reads_the_documented_answer(media: MediaClient) -> None:
    body = fixture("media_get_url_response.json")
    responses.get(f"{BASE}/137524587935346", json=body)
    info = media.media_info("137524587935346")
    assert info == MediaInfo(
        id="137524587935346",
        url=body["url"],
        mime_type="image/jpeg",
        sha256=body["sha256"],
        file_size=61901,
    )
    assert responses.calls[0].request.headers["Authorization"] == "Bearer tok"


@responses.activate
def test_media_info_of_an_unknown_id_is_a_graph_error(media: MediaClient) -> None:
    responses.get(
        f"{BASE}/404",
        json={"error": {"message": "Unsupported get request", "code": 100}},
        status=400,
    )
    with pytest.raises(GraphAPIError) as caught:
        media.media_info("404")
    assert (caught.value.code, caught.value.retryable) == (100, False)


@responses.activate
def test_download_fetches_the_bytes_with_the_token(media: MediaClient) -> None:
    responses.get(LOOKASIDE, body=b"\xff\xd8 jpeg bytes", content_type="image/jpeg")
    downloaded = media.download(LOOKASIDE)
    try:
        assert downloaded.file.read() == b"\xff\xd8 jpeg bytes"
        assert downloaded.size == 13
        assert downloaded.sha256 == hashlib.sha256(b"\xff\xd8 jpeg bytes").digest()
        assert downloaded.content_type == "image/jpeg"
    finally:
        downloaded.close()
    assert responses.calls[0].request.headers["Authorization"] == "Bearer tok"


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "https://lookaside.fbsbx.com.evil.test/x",
        "http://lookaside.fbsbx.com/x",  # the right host, but not over HTTPS
        "https://lookaside.fbsbx.com:8443/x",
        "https://graph.example.test:444/v23.0/x",
        "file:///etc/passwd",
        "not a url",
    ],
)
@responses.activate
def test_download_from_any_other_origin_is_refused_before_asking(
    media: MediaClient, url: str
) -> None:
    with pytest.raises(MediaRefused):
        media.download(url)
    assert len(responses.calls) == 0


@responses.activate
def test_the_graph_api_origin_itself_may_serve_media(media: MediaClient) -> None:
    # The simulator serves media on its own host, which is the Graph URL's.
    responses.get("https://graph.example.test/media-download/1?token=t", body=b"ok")
    downloaded = media.download("https://graph.example.test/media-download/1?token=t")
    assert downloaded.file.read() == b"ok"
    downloaded.close()


@responses.activate
def test_a_redirect_elsewhere_is_not_followed(media: MediaClient) -> None:
    responses.get(LOOKASIDE, status=302, headers={"Location": "http://10.0.0.1/internal"})
    with pytest.raises(MediaRefused):
        media.download(LOOKASIDE)
    assert [call.request.url for call in responses.calls] == [LOOKASIDE]


@responses.activate
def test_a_redirect_within_the_media_host_is_followed(media: MediaClient) -> None:
    responses.get(LOOKASIDE, status=302, headers={"Location": "/other?mid=1"})
    responses.get("https://lookaside.fbsbx.com/other?mid=1", body=b"moved")
    downloaded = media.download(LOOKASIDE)
    assert downloaded.file.read() == b"moved"
    downloaded.close()


@responses.activate
def test_more_hosts_can_be_allowed_by_setting() -> None:
    client = MediaClient(
        base_url=BASE, access_token="tok", media_hosts=["cdn.example.test", "http://sim:8100"]
    )
    responses.get("https://cdn.example.test/f", body=b"a")
    responses.get("http://sim:8100/f", body=b"b")
    assert client.download("https://cdn.example.test/f").file.read() == b"a"
    assert client.download("http://sim:8100/f").file.read() == b"b"
    with pytest.raises(MediaRefused):
        client.download("https://lookaside.fbsbx.com/f")


@responses.activate
def test_a_file_over_the_limit_is_refused(media: MediaClient) -> None:
    responses.get(LOOKASIDE, body=b"x" * 1001)
    with pytest.raises(MediaRefused, match="larger than"):
        media.download(LOOKASIDE)


@responses.activate
def test_a_file_over_the_limit_without_a_declared_length_is_cut_off(media: MediaClient) -> None:
    responses.get(LOOKASIDE, body=b"x" * 1000, auto_calculate_content_length=False)
    assert media.download(LOOKASIDE).size == 1000
    responses.get(LOOKASIDE, body=b"x" * 5000, auto_calculate_content_length=False)
    with pytest.raises(MediaRefused):
        media.download(LOOKASIDE)


@responses.activate
def test_a_download_answered_5xx_may_be_retried(media: MediaClient) -> None:
    responses.get(LOOKASIDE, body="<html>oops</html>", status=503)
    with pytest.raises(GraphAPIError) as caught:
        media.download(LOOKASIDE)
    assert caught.value.http_status == 503
    assert caught.value.retryable


@responses.activate
def test_a_broken_connection_during_download_is_unreachable(media: MediaClient) -> None:
    responses.get(LOOKASIDE, body=requests.ConnectionError("reset"))
    with pytest.raises(GraphUnreachable):
        media.download(LOOKASIDE)


# --- Every type the inbox sends ---------------------------------------------------


@pytest.mark.parametrize("name", ["send_image_request.json", "send_document_request.json"])
def test_media_sent_by_id_matches_the_documented_request(name: str) -> None:
    documented = fixture(name)
    kind = documented["type"]
    built = outbound_message(documented["to"], kind, content=documented[kind])
    assert built == documented


def test_reaction_and_location_match_the_documented_requests() -> None:
    for name in ("send_reaction_request.json", "send_location_request.json"):
        documented = fixture(name)
        kind = documented["type"]
        assert outbound_message(documented["to"], kind, content=documented[kind]) == documented


def test_reply_quotes_the_message_and_keeps_our_id() -> None:
    documented = fixture("send_text_reply_with_context_request.json")
    built = outbound_message(
        documented["to"],
        "text",
        text=documented["text"]["body"],
        reply_to=documented["context"]["message_id"],
        callback_data="our-id",
    )
    assert built == {
        **documented,
        "text": {"preview_url": False, "body": "You're welcome, Pablo!"},
        "biz_opaque_callback_data": "our-id",
    }


def test_text_with_a_link_asks_for_a_preview() -> None:
    built = outbound_message("16505551234", "text", text="Track it: https://example.com/t/1")
    assert built["text"] == {"preview_url": True, "body": "Track it: https://example.com/t/1"}


def test_audio_and_sticker_carry_no_caption_and_only_documents_a_filename() -> None:
    content = {"id": "77", "caption": "ignored", "filename": "a.ogg", "mime_type": "audio/ogg"}
    audio = outbound_message("16505551234", "audio", content=content, reply_to="wamid.q")
    assert audio["audio"] == {"id": "77"}
    assert audio["context"] == {"message_id": "wamid.q"}
    video = outbound_message("16505551234", "video", content={**content, "caption": "Look"})
    assert video["video"] == {"id": "77", "caption": "Look"}


def test_reaction_never_carries_a_context_and_an_empty_emoji_removes() -> None:
    built = outbound_message(
        "16505551234",
        "reaction",
        content={"message_id": "wamid.target", "emoji": ""},
        reply_to="wamid.other",
        callback_data="our-id",
    )
    assert built["reaction"] == {"message_id": "wamid.target", "emoji": ""}
    assert "context" not in built
    assert built["biz_opaque_callback_data"] == "our-id"


def test_media_not_uploaded_yet_or_an_unknown_type_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="not been uploaded"):
        outbound_message("16505551234", "image", content={"caption": "x"})
    with pytest.raises(ValueError, match="cannot be sent"):
        outbound_message("16505551234", "order", content={})


def test_read_receipt_and_typing_indicator_match_the_documented_requests() -> None:
    read = fixture("mark_as_read_request.json")
    typing = fixture("typing_indicator_request.json")
    assert read_receipt(read["message_id"]) == read
    assert read_receipt(typing["message_id"], typing=True) == typing


@pytest.mark.parametrize(
    ("mime_type", "kind"),
    [
        ("image/jpeg", "image"),
        ("image/jpg", "image"),
        ("audio/mp3", "audio"),
        ("video/mp4", "video"),
        ("application/pdf", "document"),
        ("image/gif", None),
        ("text/html", None),
        ("application/x-msdownload", None),
    ],
)
def test_files_are_sent_as_the_type_whatsapp_accepts_them_as(mime_type: str, kind: str) -> None:
    assert send_media_kind(mime_type) == kind


@responses.activate
def test_upload_posts_the_file_as_multipart_and_answers_the_media_id(client: GraphClient) -> None:
    responses.post(f"{BASE}/106540352242922/media", json=fixture("media_upload_response.json"))
    media_id = client.upload_media("106540352242922", b"%PDF-1.4 bytes", "application/pdf", "o.pdf")
    assert media_id == "1037543291543636"
    sent = responses.calls[0].request
    assert sent.headers["Authorization"] == "Bearer tok"
    assert sent.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    body = sent.body
    assert b'name="messaging_product"\r\n\r\nwhatsapp' in body
    assert b'name="type"\r\n\r\napplication/pdf' in body
    assert (
        b'name="file"; filename="o.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4 bytes'
        in body
    )


@responses.activate
def test_refused_upload_raises_whatsapps_reason(client: GraphClient) -> None:
    responses.post(
        f"{BASE}/106540352242922/media",
        status=400,
        json={"error": {"code": 131053, "message": "Media upload error"}},
    )
    with pytest.raises(GraphAPIError) as refused:
        client.upload_media("106540352242922", b"x", "image/png", "x.png")
    assert (refused.value.code, refused.value.retryable) == (131053, False)
