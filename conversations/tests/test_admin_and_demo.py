"""The admin pages of the workspace settings, and the demo's data."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from conversations.models import (
    AutoReply,
    BusinessCalendar,
    CalendarInterval,
    CannedReply,
    Consent,
    ConsentCategory,
    ConsentChange,
    Contact,
    Label,
    Team,
    WhatsAppNumber,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def root_client(client):
    """An admin other than the demo's, whose password demo_setup resets."""
    call_command("demo_setup", "--password", "pw-demo-1")
    client.force_login(User.objects.create_superuser("root", "root@example.test", "pw-root-1"))
    return client


def test_demo_setup_creates_teams_operators_labels_and_replies(capsys):
    call_command("demo_setup", "--password", "pw-demo-1")
    call_command("demo_setup", "--password", "pw-demo-1")  # running it again is harmless
    out = capsys.readouterr().out
    assert "operator2 / pw-demo-1 (Support)" in out
    assert "sales / pw-demo-1 (Sales)" in out
    support, sales = Team.objects.get(name="Support"), Team.objects.get(name="Sales")
    assert sorted(support.members.values_list("username", flat=True)) == ["operator", "operator2"]
    assert list(sales.members.values_list("username", flat=True)) == ["sales"]
    assert WhatsAppNumber.objects.get().team == support
    assert sorted(Label.objects.values_list("name", flat=True)) == [
        "billing",
        "delivery",
        "returns",
    ]
    assert sorted(CannedReply.objects.values_list("shortcut", flat=True)) == [
        "hello",
        "hours",
        "thanks",
    ]
    assert CannedReply.objects.get(shortcut="hello").text.startswith("Hello {{first_name}},")
    operator2 = User.objects.get(username="operator2")
    assert operator2.check_password("pw-demo-1")
    assert list(operator2.groups.values_list("name", flat=True)) == ["operator"]
    assert operator2.agent.capacity == 5


def test_demo_customers_agreed_to_the_demo_shops_categories():
    call_command("demo_setup", "--password", "pw-demo-1")
    call_command("demo_setup", "--password", "pw-demo-1")
    assert sorted(ConsentCategory.objects.values_list("slug", flat=True)) == [
        "offers",
        "order-updates",
    ]
    sheena = Contact.objects.get(wa_id="16505551234")
    assert sorted(
        Consent.objects.filter(contact=sheena).values_list("category__slug", "state")
    ) == [("offers", "opted_in"), ("order-updates", "opted_in")]
    assert ConsentChange.objects.filter(contact=sheena).count() == 2


@pytest.mark.parametrize(
    "path",
    [
        "/admin/conversations/team/add/",
        "/admin/conversations/team/",
        "/admin/conversations/agentprofile/",
        "/admin/conversations/label/",
        "/admin/conversations/cannedreply/",
        "/admin/auth/user/",
        "/admin/conversations/conversation/",
        "/admin/conversations/businesscalendar/",
        "/admin/conversations/businesscalendar/add/",
        "/admin/conversations/consentcategory/",
        "/admin/conversations/consentchange/",
        "/admin/conversations/compliancelogentry/",
    ],
)
def test_admin_pages_open(root_client, path):
    assert root_client.get(path).status_code == 200


def test_admin_edits_a_users_agent_profile_on_the_user_page(root_client):
    operator = User.objects.get(username="operator")
    page = root_client.get(f"/admin/auth/user/{operator.pk}/change/")
    assert b'name="agent-0-capacity"' in page.content
    team_page = root_client.get(
        f"/admin/conversations/team/{Team.objects.get(name='Support').pk}/change/"
    )
    assert b"selectfilter" in team_page.content  # the two-pane member picker


def test_demo_teams_have_working_hours_and_automatic_replies_in_english_and_russian():
    call_command("demo_setup", "--password", "pw-demo-1")
    call_command("demo_setup", "--password", "pw-demo-1")
    support, sales = Team.objects.get(name="Support"), Team.objects.get(name="Sales")
    assert (support.calendar.name, support.calendar.time_zone) == ("Support hours", "Europe/Rome")
    friday = CalendarInterval.objects.filter(calendar=support.calendar, weekday=4)
    assert sorted((i.opens.hour, i.closes.hour) for i in friday) == [(8, 20), (22, 6)]
    assert CalendarInterval.objects.filter(calendar=sales.calendar).count() == 5
    assert sorted(support.auto_replies.values_list("kind", "language")) == [
        ("busy", "en"),
        ("busy", "ru"),
        ("closed", "en"),
        ("closed", "ru"),
    ]
    for reply in AutoReply.objects.filter(kind="closed"):
        assert "{{opens_at}}" in reply.text
    assert WhatsAppNumber.objects.get().profile.email == "hello@demo-shop.example"


def test_demo_without_automatic_replies_keeps_the_calendars():
    call_command("demo_setup", "--password", "pw-demo-1", "--no-auto-replies")
    assert BusinessCalendar.objects.count() == 2
    assert not AutoReply.objects.exists()


def test_admin_edits_a_calendar_with_its_intervals_and_holidays_and_a_teams_replies(
    root_client,
):
    calendar = BusinessCalendar.objects.get(name="Support hours")
    page = root_client.get(f"/admin/conversations/businesscalendar/{calendar.pk}/change/")
    assert b'name="intervals-0-opens"' in page.content
    assert b'name="holidays-TOTAL_FORMS"' in page.content
    support = Team.objects.get(name="Support")
    team_page = root_client.get(f"/admin/conversations/team/{support.pk}/change/")
    assert b'name="auto_replies-0-text"' in team_page.content
    assert b'name="calendar"' in team_page.content

    response = root_client.post(
        "/admin/conversations/businesscalendar/add/",
        {
            "name": "Night desk",
            "time_zone": "Mars/Olympus",
            "created_at_0": "2026-11-23",
            "created_at_1": "10:00:00",
            "intervals-TOTAL_FORMS": "0",
            "intervals-INITIAL_FORMS": "0",
            "holidays-TOTAL_FORMS": "0",
            "holidays-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert b"Unknown time zone" in response.content
    assert not BusinessCalendar.objects.filter(name="Night desk").exists()
