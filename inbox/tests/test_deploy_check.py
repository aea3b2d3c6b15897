"""A production configuration passes ``manage.py check --deploy`` with no warnings.

Run as a subprocess with the environment docs/deploy.md describes, so the settings
module is read exactly as a production process reads it.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CLEAN = "System check identified no issues (0 silenced)."


def production_env(**overrides: str) -> dict[str, str]:
    """Everything a production process gets, and nothing of the test run's settings."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "WHATSAPP_", "DATABASE_", "REDIS_", "INBOX_"))
        and key not in {"CHANNEL_LAYER_PREFIX", "SQLITE_PATH"}
    }
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "inbox.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "inbox.example.com",
        "DJANGO_CSRF_TRUSTED_ORIGINS": "https://inbox.example.com",
        "DJANGO_STATIC_ROOT": "/srv/inbox/static",
        "DJANGO_MEDIA_ROOT": "/srv/inbox/media",
        "DATABASE_URL": "postgres://inbox:secret@db.internal:5432/inbox",
        "REDIS_URL": "redis://redis.internal:6379/0",
        "WHATSAPP_ACCESS_TOKEN": "EAAG-system-user-token",
        "WHATSAPP_APP_SECRET": secrets.token_hex(16),
        "WHATSAPP_VERIFY_TOKEN": secrets.token_urlsafe(24),
        "PYTHONUNBUFFERED": "1",
        **overrides,
    }


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # --database is left out: the check needs no connection to the servers above.
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_settings_pass_the_deploy_check() -> None:
    result = check_deploy(production_env())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert CLEAN in result.stdout, output
    assert "WARNING" not in output, output


def test_the_deploy_check_still_catches_a_weakened_configuration() -> None:
    # The same check fails once HSTS is switched off: it really looks at our settings.
    result = check_deploy(production_env(DJANGO_HSTS_SECONDS="0"))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "security.W004" in output, output
