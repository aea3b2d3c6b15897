"""The admin pages of the workspace settings, and the demo's data."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from conversations.models import CannedReply, Label, Team, WhatsAppNumber

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
