"""Each number's WhatsApp business profile: edited by admins through the API and
the admin site, sent to the platform by a job (the simulator stands in for it),
imported from it, and refused with WhatsApp's reason."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import django_rq
import pytest
import requests
import responses
from django.conf import settings as django_settings
from django.core.management import call_command
from rest_framework.test import APIClient
from rq import SimpleWorker

from conversations import services
from conversations.models import BusinessProfile, WhatsAppNumber
from conversations.serializers import BusinessProfileSerializer, business_profile_payload
from conversations.tests.factories import NumberFactory, UserFactory
from simulator import Simulator
from whatsapp import profiles as wa_profiles

pytestmark = pytest.mark.django_db(transaction=True)

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"shop-logo" * 50
PNG = b"\x89PNG\r\n\x1a\n" + b"new-logo" * 50


def run_jobs() -> None:
    """Run what was put on the queue in an RQ worker (without forking, so the
    simulator this test points the Graph API at answers)."""
    django_rq.get_worker("default", worker_class=SimpleWorker).work(burst=True)


@pytest.fixture
def sim(settings: Any, tmp_path: Any) -> Iterator[Simulator]:
    settings.MEDIA_ROOT = tmp_path
    with Simulator(
        "http://127.0.0.1:9/unused", "secret", django_settings.WHATSAPP_ACCESS_TOKEN
    ) as simulator:
        settings.WHATSAPP_GRAPH_URL = simulator.graph_url
        yield simulator


@pytest.fixture
def number() -> WhatsAppNumber:
    return NumberFactory()


@pytest.fixture
def admin_api() -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory(username="ada", role="admin"))
    return client


@pytest.fixture
def operator_api() -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory(username="olga", role="operator"))
    return client


def profile_url(number: WhatsAppNumber, rest: str = "") -> str:
    return f"/api/v1/numbers/{number.pk}/profile/{rest}"


SHOP = {
    "about": "Parcels and returns, answered within minutes.",
    "description": "A small online shop.",
    "address": "1 Example Street, Berlin",
    "email": "hello@shop.example",
    "websites": ["https://shop.example", "https://blog.shop.example"],
    "vertical": "RETAIL",
}


# --- the API ---------------------------------------------------------------------------------


def test_admin_edit_is_pending_then_the_simulator_holds_the_new_profile(
    sim: Simulator, number: WhatsAppNumber, admin_api: APIClient
) -> None:
    answer = admin_api.patch(profile_url(number), SHOP, format="json")
    assert answer.status_code == 200
    assert answer.json() == {
        **SHOP,
        "profile_picture_url": "",
        "sync_state": "pending",
        "sync_error": "",
        "synced_at": None,
    }
    assert sim.profile_updates == []
    run_jobs()
    assert {name: sim.business_profile[name] for name in SHOP} == SHOP
    shown = admin_api.get(profile_url(number)).json()
    assert shown["sync_state"] == "synced"
    assert shown["synced_at"] is not None
    assert shown["about"] == SHOP["about"]


def test_patch_changes_only_the_given_fields(
    sim: Simulator, number: WhatsAppNumber, admin_api: APIClient
) -> None:
    admin_api.patch(profile_url(number), SHOP, format="json")
    run_jobs()
    answer = admin_api.patch(profile_url(number), {"about": "Back on Monday."}, format="json")
    assert answer.json()["email"] == "hello@shop.example"
    run_jobs()
    assert sim.business_profile["about"] == "Back on Monday."
    assert sim.business_profile["email"] == "hello@shop.example"


def test_put_replaces_the_profile_and_clears_what_is_left_out_on_whatsapp(
    sim: Simulator, number: WhatsAppNumber, admin_api: APIClient
) -> None:
    admin_api.put(profile_url(number), SHOP, format="json")
    run_jobs()
    answer = admin_api.put(profile_url(number), {"about": "New owners."}, format="json")
    assert answer.status_code == 200
    assert answer.json()["email"] == ""
    assert answer.json()["websites"] == []
    assert answer.json()["vertical"] == "UNDEFINED"
    run_jobs()
    assert sim.business_profile["about"] == "New owners."
    assert sim.business_profile["email"] == ""
    assert sim.business_profile["websites"] == []
    assert sim.business_profile["address"] == ""


def test_before_the_first_sync_empty_fields_leave_whatsapps_values_alone(
    sim: Simulator, number: WhatsAppNumber, admin_api: APIClient
) -> None:
    sim.business_profile.update({"address": "Set in WhatsApp Manager", "about": "Hi there"})
    admin_api.patch(profile_url(number), {"email": "desk@shop.example"}, format="json")
    run_jobs()
    assert sim.business_profile["email"] == "desk@shop.example"
    assert sim.business_profile["address"] == "Set in WhatsApp Manager"
    assert sim.business_profile["about"] == "Hi there"
    assert set(sim.profile_updates[0]) == {"messaging_product", "email"}


def test_photo_goes_through_the_resumable_upload_and_the_picture_url_changes(
    sim: Simulator, number: WhatsAppNumber, admin_api: APIClient
) -> None:
    photo = io.BytesIO(JPEG)
    photo.name = "logo.jpg"
    answer = admin_api.post(profile_url(number, "photo/"), {"file": photo}, format="multipart")
    assert answer.status_code == 200
    assert answer.json()["sync_state"] == "pending"
    assert answer.json()["profile_picture_url"] == ""
    run_jobs()
    first = admin_api.get(profile_url(number)).json()
    assert first["sync_state"] == "synced"
    assert first["profile_picture_url"].startswith(f"{sim.base_url}/pps/")
    assert first["profile_picture_url"] == sim.business_profile["profile_picture_url"]
    assert requests.get(first["profile_picture_url"], timeout=5).content == JPEG
    handle = sim.profile_updates[0]["profile_picture_handle"]
    assert handle.startswith("4::")

    second = io.BytesIO(PNG)
    second.name = "logo.png"
    admin_api.post(profile_url(number, "photo/"), {"file": second}, format="multipart")
    run_jobs()
    url = admin_api.get(profile_url(number)).json()["profile_picture_url"]
    assert url not in ("", first["profile_picture_url"])
    picture = requests.get(url, timeout=5)
    assert picture.headers["Content-Type"] == "image/png"
    assert picture.content == PNG
    # Unchanged photo: a later text edit sends no second upload.
    admin_api.patch(profile_url(number), {"about": "New about"}, format="json")
    run_jobs()
    assert "profile_picture_handle" not in sim.profile_updates[-1]
    assert sim.business_profile["profile_picture_url"] == url


def test_platform_refusal_marks_the_profile_failed_with_whatsapps_reason(
    sim: Simulator, number: WhatsAppNumber, admin_api: APIClient
) -> None:
    sim.fail_next(131031)
    admin_api.patch(profile_url(number), {"about": "Closed today"}, format="json")
    run_jobs()
    shown = admin_api.get(profile_url(number)).json()
    assert shown["sync_state"] == "failed"
    assert shown["sync_error"] == (
        "The business account is locked. WhatsApp said: (#131031) Account has been locked "
        "(The business account was locked for a policy violation.)"
    )
    assert sim.business_profile["about"] == ""
    # Saving again sends it again; this time WhatsApp takes it.
    admin_api.patch(profile_url(number), {"about": "Closed today"}, format="json")
    run_jobs()
    assert admin_api.get(profile_url(number)).json()["sync_state"] == "synced"
    assert sim.business_profile["about"] == "Closed today"


def test_values_whatsapp_would_refuse_are_400_with_a_sentence_per_field(
    sim: Simulator, number: WhatsAppNumber, admin_api: APIClient
) -> None:
    answer = admin_api.patch(
        profile_url(number),
        {
            "about": "a" * 140,
            "email": "shop at example",
            "websites": ["https://a.example", "www.b.example"],
            "vertical": "SPACESHIPS",
        },
        format="json",
    )
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "invalid"
    assert body["fields"]["about"] == ["At most 139 characters (140 given)."]
    assert body["fields"]["email"] == ["'shop at example' is not an email address."]
    assert body["fields"]["websites"] == [
        "'www.b.example' is not a web address starting with http:// or https://."
    ]
    assert body["fields"]["vertical"] == ['"SPACESHIPS" is not a valid choice.']
    three = admin_api.patch(
        profile_url(number),
        {"websites": ["https://a.example", "https://b.example", "https://c.example"]},
        format="json",
    )
    assert three.json()["fields"] == {"websites": ["At most 2 websites (3 given)."]}
    assert not BusinessProfile.objects.exists()
    run_jobs()
    assert sim.profile_updates == []


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"GIF89a" + b"x" * 100, "logo.gif"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "logo.jpg"),
        (b"\xff\xd8\xff" + b"x" * (5 * 2**20), "huge.jpg"),
    ],
)
def test_a_photo_that_is_not_a_small_jpeg_or_png_is_400(
    sim: Simulator, number: WhatsAppNumber, admin_api: APIClient, content: bytes, name: str
) -> None:
    photo = io.BytesIO(content)
    photo.name = name
    answer = admin_api.post(profile_url(number, "photo/"), {"file": photo}, format="multipart")
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid"
    assert answer.json()["fields"]["file"][0] in (
        "The photo must be a JPEG or PNG image.",
        "The photo may be at most 5 MB.",
    )
    assert not BusinessProfile.objects.exists()


def test_operators_may_read_the_profile_but_not_change_it(
    sim: Simulator, number: WhatsAppNumber, operator_api: APIClient
) -> None:
    services.business_profile_update(number=number, user=None, push=False, about="Hello")
    shown = operator_api.get(profile_url(number))
    assert shown.status_code == 200
    assert shown.json()["about"] == "Hello"
    photo = io.BytesIO(JPEG)
    photo.name = "logo.jpg"
    refused = [
        operator_api.patch(profile_url(number), {"about": "Mine now"}, format="json"),
        operator_api.put(profile_url(number), {"about": "Mine now"}, format="json"),
        operator_api.post(profile_url(number, "photo/"), {"file": photo}, format="multipart"),
        operator_api.post(profile_url(number, "fetch/")),
    ]
    assert [answer.status_code for answer in refused] == [403, 403, 403, 403]
    assert refused[0].json() == {"code": "permission_denied", "detail": "Only admins may do this."}
    assert BusinessProfile.objects.get().about == "Hello"
    with pytest.raises(services.NotAllowed):
        services.business_profile_update(
            number=number, user=UserFactory(username="olga"), about="Mine now"
        )
    run_jobs()
    assert sim.profile_updates == []


def test_strangers_get_nothing_and_an_unknown_number_is_404(
    number: WhatsAppNumber, admin_api: APIClient
) -> None:
    assert APIClient().get(profile_url(number)).status_code == 401
    assert admin_api.get("/api/v1/numbers/999999/profile/").status_code == 404


def test_a_number_nobody_edited_shows_an_empty_profile_without_creating_one(
    number: WhatsAppNumber, operator_api: APIClient
) -> None:
    assert operator_api.get(profile_url(number)).json() == {
        "about": "",
        "description": "",
        "address": "",
        "email": "",
        "websites": [],
        "vertical": "UNDEFINED",
        "profile_picture_url": "",
        "sync_state": "",
        "sync_error": "",
        "synced_at": None,
    }
    assert not BusinessProfile.objects.exists()


def test_fetch_imports_the_profile_whatsapp_shows(
    sim: Simulator, number: WhatsAppNumber, admin_api: APIClient
) -> None:
    sim.business_profile.update(
        {
            "about": "Succulent specialists!",
            "address": "1 Hacker Way, Menlo Park, CA 94025",
            "email": "lucky@luckyshrub.example",
            "websites": ["https://www.luckyshrub.example/"],
            "vertical": "RETAIL",
            "profile_picture_url": "https://pps.whatsapp.example/v/t61.24",
        }
    )
    services.business_profile_update(number=number, user=None, push=False, about="Old text")
    answer = admin_api.post(profile_url(number, "fetch/"))
    assert answer.status_code == 200
    assert answer.json() == {
        "about": "Succulent specialists!",
        "description": "",
        "address": "1 Hacker Way, Menlo Park, CA 94025",
        "email": "lucky@luckyshrub.example",
        "websites": ["https://www.luckyshrub.example/"],
        "vertical": "RETAIL",
        "profile_picture_url": "https://pps.whatsapp.example/v/t61.24",
        "sync_state": "synced",
        "sync_error": "",
        "synced_at": answer.json()["synced_at"],
    }
    assert answer.json()["synced_at"] is not None
    assert BusinessProfile.objects.get().about == "Succulent specialists!"


def test_fetch_from_an_unreachable_whatsapp_is_502_with_the_reason(
    settings: Any, number: WhatsAppNumber, admin_api: APIClient
) -> None:
    settings.WHATSAPP_GRAPH_URL = "http://127.0.0.1:9/v23.0"
    answer = admin_api.post(profile_url(number, "fetch/"))
    assert answer.status_code == 502
    assert answer.json()["code"] == "whatsapp_error"
    assert answer.json()["detail"].startswith("WhatsApp could not be reached")
    assert not BusinessProfile.objects.exists()


# --- the push job ----------------------------------------------------------------------------


def test_unreachable_whatsapp_keeps_the_profile_pending_then_fails_after_the_last_try(
    settings: Any, number: WhatsAppNumber
) -> None:
    settings.WHATSAPP_GRAPH_URL = "http://127.0.0.1:9/v23.0"
    services.business_profile_update(number=number, user=None, push=False, about="Hello")
    push = services.business_profile_push(number_id=number.pk)
    assert push.retry_in is not None and push.retry_in.total_seconds() == 10
    assert push.profile.sync_state == "pending"
    assert push.profile.sync_error.startswith("WhatsApp could not be reached")
    assert push.profile.sync_error.endswith("Trying again in 10 s.")
    last = services.business_profile_push(
        number_id=number.pk, attempt=services.PROFILE_PUSH_ATTEMPTS
    )
    assert last.retry_in is None
    assert last.profile.sync_state == "failed"


def test_a_profile_already_synced_is_not_sent_twice(sim: Simulator, number: WhatsAppNumber) -> None:
    services.business_profile_update(number=number, user=None, push=False, about="Hello")
    services.business_profile_push(number_id=number.pk)
    services.business_profile_push(number_id=number.pk)
    assert len(sim.profile_updates) == 1


def test_an_edit_made_while_the_push_is_out_keeps_the_profile_pending(
    number: WhatsAppNumber,
) -> None:
    services.business_profile_update(number=number, user=None, push=False, about="First")
    url = f"{django_settings.WHATSAPP_GRAPH_URL}/{number.phone_number_id}/whatsapp_business_profile"

    def meanwhile(request: Any) -> tuple[int, dict[str, str], str]:
        services.business_profile_update(number=number, user=None, push=False, about="Second")
        return 200, {}, '{"success": true}'

    with responses.RequestsMock() as graph:
        graph.add_callback(responses.POST, url, callback=meanwhile)
        push = services.business_profile_push(number_id=number.pk)
    assert push.profile.sync_state == "pending"
    assert push.profile.about == "Second"


# --- the admin site --------------------------------------------------------------------------


@pytest.fixture
def root_client(client: Any) -> Any:
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_superuser("root", "root@example.test", "pw-root-1"))
    return client


def change_form(number: WhatsAppNumber, **profile: Any) -> dict[str, Any]:
    exists = BusinessProfile.objects.filter(number=number).first()
    data = {
        "phone_number_id": number.phone_number_id,
        "display_phone_number": number.display_phone_number,
        "waba_id": number.waba_id,
        "name": number.name,
        "team": "",
        "created_at_0": number.created_at.strftime("%Y-%m-%d"),
        "created_at_1": number.created_at.strftime("%H:%M:%S"),
        "profile-TOTAL_FORMS": "1",
        "profile-INITIAL_FORMS": "1" if exists else "0",
        "profile-MIN_NUM_FORMS": "0",
        "profile-MAX_NUM_FORMS": "1",
        "profile-0-id": exists.pk if exists else "",
        "profile-0-number": number.pk,
        "_save": "Save",
    }
    blank = {
        "about": "",
        "description": "",
        "address": "",
        "email": "",
        "website_1": "",
        "website_2": "",
        "vertical": "UNDEFINED",
    }
    data.update({f"profile-0-{name}": value for name, value in {**blank, **profile}.items()})
    return data


def test_admin_saves_the_profile_on_the_number_page_and_the_simulator_holds_it(
    sim: Simulator, number: WhatsAppNumber, root_client: Any
) -> None:
    page = f"/admin/conversations/whatsappnumber/{number.pk}/change/"
    assert b'name="profile-0-about"' in root_client.get(page).content
    photo = io.BytesIO(JPEG)
    photo.name = "logo.jpg"
    answer = root_client.post(
        page,
        change_form(
            number,
            about="Open 9-18",
            email="hello@shop.example",
            website_1="https://shop.example",
            vertical="RETAIL",
            profile_picture=photo,
        ),
    )
    assert answer.status_code == 302
    assert BusinessProfile.objects.get().sync_state == "pending"
    run_jobs()
    assert sim.business_profile["about"] == "Open 9-18"
    assert sim.business_profile["websites"] == ["https://shop.example"]
    assert sim.business_profile["vertical"] == "RETAIL"
    assert sim.business_profile["profile_picture_url"].startswith(f"{sim.base_url}/pps/")
    shown = root_client.get(page).content.decode()
    assert "On WhatsApp" in shown
    assert sim.business_profile["profile_picture_url"] in shown


def test_admin_shows_whatsapps_limits_on_the_fields_and_saves_nothing(
    sim: Simulator, number: WhatsAppNumber, root_client: Any
) -> None:
    page = f"/admin/conversations/whatsappnumber/{number.pk}/change/"
    answer = root_client.post(page, change_form(number, about="a" * 140, website_1="ftp://x"))
    assert answer.status_code == 200
    content = answer.content.decode()
    assert "Ensure this value has at most 139 characters" in content
    assert "&#x27;ftp://x&#x27; is not a web address starting with http:// or https://." in content
    assert not BusinessProfile.objects.exists()


def test_admin_shows_the_sync_error(
    sim: Simulator, number: WhatsAppNumber, root_client: Any
) -> None:
    sim.fail_next(131031)
    services.business_profile_update(number=number, user=None, about="Closed today")
    run_jobs()
    page = root_client.get(f"/admin/conversations/whatsappnumber/{number.pk}/change/")
    assert "WhatsApp refused it: The business account is locked." in page.content.decode()


def test_admin_action_fetches_the_profile_from_whatsapp(
    sim: Simulator, number: WhatsAppNumber, root_client: Any
) -> None:
    sim.business_profile.update({"about": "Set elsewhere", "vertical": "HOTEL"})
    answer = root_client.post(
        "/admin/conversations/whatsappnumber/",
        {"action": "fetch_business_profile", "_selected_action": [number.pk]},
        follow=True,
    )
    assert "the profile WhatsApp shows was imported" in answer.content.decode()
    profile = BusinessProfile.objects.get()
    assert (profile.about, profile.vertical, profile.sync_state) == (
        "Set elsewhere",
        "HOTEL",
        "synced",
    )


# --- the demo, the schema and the shapes -----------------------------------------------------


def test_demo_number_gets_its_profile_pushed_to_the_simulator_at_start(
    sim: Simulator, capsys: Any
) -> None:
    call_command("demo_setup", "--password", "pw-demo-1")
    profile = BusinessProfile.objects.get()
    assert profile.sync_state == "pending"
    run_jobs()
    assert sim.profile_updates == []  # nothing goes out before the simulator is known to run
    call_command("push_business_profiles")
    assert "Demo shop (15550783881): On WhatsApp" in capsys.readouterr().out
    assert sim.business_profile["about"] == profile.about
    assert sim.business_profile["vertical"] == "RETAIL"
    assert sim.business_profile["websites"] == ["https://demo-shop.example"]
    assert sim.business_profile["email"] == "hello@demo-shop.example"
    # A second demo start sends the same profile to its fresh simulator.
    call_command("demo_setup", "--password", "pw-demo-1")
    assert BusinessProfile.objects.get().sync_state == "pending"
    assert BusinessProfile.objects.get().about == profile.about


def test_the_schema_describes_the_profile_endpoints_without_warnings(
    client: Any, tmp_path: Any
) -> None:
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml")
    )
    paths = client.get("/api/schema/?format=json").json()["paths"]
    profile = paths["/api/v1/numbers/{id}/profile/"]
    assert {"get", "put", "patch"} <= set(profile)
    assert "403" in profile["patch"]["responses"]
    photo = paths["/api/v1/numbers/{id}/profile/photo/"]["post"]
    assert "multipart/form-data" in photo["requestBody"]["content"]
    assert "/api/v1/numbers/{id}/profile/fetch/" in paths


def test_profile_payload_has_exactly_the_documented_fields(number: WhatsAppNumber) -> None:
    profile = BusinessProfile(number=number)
    assert set(business_profile_payload(profile)) == set(BusinessProfileSerializer().fields)


def test_the_models_industries_are_whatsapps() -> None:
    assert tuple(BusinessProfile.Vertical.values) == wa_profiles.VERTICALS
