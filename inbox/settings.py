"""Settings for the inbox, read from the environment.

Two modes share this one module:

* embedded (nothing set): SQLite file in the project folder, in-memory channel
  layer, background jobs run inline right after the transaction commits;
* production-like (``DATABASE_URL`` and ``REDIS_URL`` set): PostgreSQL through
  psycopg, channels-redis for live events, django-rq queues for jobs.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import orjson
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in (env(name, default) or "").split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set (or DJANGO_DEBUG=1 for local development)."
        )
    # Development only: a random key kept beside the project, never in git.
    _key_file = BASE_DIR / ".dev-secret-key"
    if not _key_file.exists():
        _key_file.write_text(secrets.token_urlsafe(50))
    SECRET_KEY = _key_file.read_text().strip()

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set when DJANGO_DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_rq",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "whatsapp",
    "conversations",
    "templates_app",
    "campaigns",
    "analytics",
    "inbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The browser's Accept-Language first; the operator's own choice overrides it below.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "inbox.middleware.OperatorPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it answers a locked-out sign-in.
    "axes.middleware.AxesMiddleware",
]

# Every page says where its scripts, styles, images and connections may come from:
# this site only. The pages are ES modules and CSS files, with no inline script,
# style or event handler, so an escaping mistake in the page would be a blocked
# script rather than a stolen session. Photos and voice notes an operator attaches
# are previewed from blob: URLs. A response with its own policy keeps it (a
# message's file is served with a sandboxing one).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "blob:", "data:"],
        "media-src": [SELF, "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

ROOT_URLCONF = "inbox.urls"
ASGI_APPLICATION = "inbox.asgi.application"
WSGI_APPLICATION = "inbox.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "inbox.views.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL")
if DATABASE_URL:
    # Under ASGI every request runs in its own thread context, so persistent
    # per-thread connections would pile up: connections come from psycopg's pool.
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    DATABASES["default"]["OPTIONS"] = {
        "pool": {
            "min_size": int(env("DATABASE_POOL_MIN", "2") or 2),
            "max_size": int(env("DATABASE_POOL_MAX", "20") or 20),
            "timeout": 10,
        },
        # PostgreSQL's default (4) prices a random read as if from a spinning disk, and
        # so read all 100,000 conversations to find the 3,000 with a label or a
        # matching contact rather than look each up by its index: SSD storage, or a
        # database held in memory, costs about as much for either.
        "options": f"-c random_page_cost={float(env('DATABASE_RANDOM_PAGE_COST', '1.1') or 1.1)}",
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("SQLITE_PATH", str(BASE_DIR / "inbox.sqlite3")),
            "OPTIONS": {
                # WAL lets the demo's webhook writes and page reads overlap.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
    # The statistics' covering indexes (INCLUDE columns) are a PostgreSQL speed-up;
    # SQLite builds the same indexes without the extra columns, which is all the
    # embedded demo needs.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channel layer and jobs ----------------------------------------------
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    # Pub/sub: a group send is one PUBLISH, and group membership lives in the
    # subscribing process, so a Redis restart cannot silently empty the groups.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "conversations.realtime.PubSubChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                # Pub/sub channels are shared by every database of a Redis server:
                # deployments (and test runs) on one server keep apart by prefix.
                "prefix": env(
                    "CHANNEL_LAYER_PREFIX",
                    "inbox" + (urlsplit(REDIS_URL).path.replace("/", ".") or ""),
                ),
            },
        }
    }
    RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 60}}
    # Its work horses send the live events they hold before they exit.
    RQ = {"WORKER_CLASS": "conversations.jobs.Worker"}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    RQ_QUEUES = {}
# Short-lived shared facts (a read receipt already sent, a typing indicator shown
# a moment ago): in Redis, so every process agrees; in memory without it.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
# Jobs run inline (after commit, in the same process) when there is no Redis.
JOBS_INLINE = not REDIS_URL
# The workspace's clock (snooze wake-ups, escalations, team queues): with Redis,
# the run_timers process; without, a task in the server process every so often.
TIMERS_EVERY_SECONDS = float(env("INBOX_TIMERS_EVERY", "10") or 10)
# How often the operator's page checks that live events still reach it (a ping
# answered through the channel layer); a missing answer makes it reconnect and re-read.
PING_EVERY_SECONDS = float(env("INBOX_PING_EVERY", "20") or 20)

# --- Auth -----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "inbox"
LOGOUT_REDIRECT_URL = "login"

# Sign-in is rate limited (django-axes, counted in the database, so every server
# process agrees): after AXES_FAILURE_LIMIT wrong passwords for one username from
# one address, that pair is refused for AXES_COOLOFF_MINUTES.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(env("AXES_FAILURE_LIMIT", "5") or 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=int(env("AXES_COOLOFF_MINUTES", "15") or 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# --- I18n -----------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ru", "Русский")]
# Compiled catalogs (.mo) are committed, so a fresh machine needs no gettext.
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# In development the ASGI app serves static files itself (inbox.asgi); in
# production a reverse proxy serves STATIC_ROOT (docs/deploy.md).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}
    if not DEBUG
    else {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", str(BASE_DIR / "media")))

# --- API ------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["conversations.permissions.IsInboxUser"],
    # orjson: a page of 200 conversations renders in a tenth of the json module's time.
    "DEFAULT_RENDERER_CLASSES": [
        "drf_orjson_renderer.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "ORJSON_RENDERER_OPTIONS": [orjson.OPT_NON_STR_KEYS],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "conversations.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "WhatsApp inbox API",
    "DESCRIPTION": "Conversations, messages, numbers and message templates of the "
    "multi-agent WhatsApp inbox.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Conversations and templates both have a "status": name each set of choices.
    "ENUM_NAME_OVERRIDES": {
        "TemplateStatusEnum": "templates_app.models.MessageTemplate.Status",
        "ConversationStatusEnum": "conversations.models.Conversation.Status",
        "ConsentChangeStateEnum": "conversations.serializers.CONSENT_STATES",
        "ConsentStateEnum": "conversations.serializers.CONSENT_STATES_NOW",
        "ConsentSourceEnum": "conversations.serializers.CONSENT_SOURCES",
        "ConsentRecordSourceEnum": "conversations.serializers.CONSENT_RECORD_SOURCES",
        "CampaignStatusEnum": "campaigns.models.Campaign.Status",
        "RecipientStateEnum": "campaigns.selectors.PUBLIC_STATES",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "conversations.openapi.add_common_errors",
    ],
}

# --- WhatsApp Cloud API ---------------------------------------------------
WHATSAPP_GRAPH_URL = (env("WHATSAPP_GRAPH_URL", "https://graph.facebook.com/v23.0") or "").rstrip(
    "/"
)
WHATSAPP_ACCESS_TOKEN = env("WHATSAPP_ACCESS_TOKEN", "")
WHATSAPP_APP_SECRET = env("WHATSAPP_APP_SECRET", "")
WHATSAPP_VERIFY_TOKEN = env("WHATSAPP_VERIFY_TOKEN", "")
WHATSAPP_HTTP_TIMEOUT = float(env("WHATSAPP_HTTP_TIMEOUT", "10") or 10)
# A send still unanswered this long after it started (its worker died, WhatsApp
# never answered) is marked failed with the reason, never sent again on its own.
SEND_STUCK_AFTER_SECONDS = float(env("INBOX_SEND_STUCK_AFTER", "300") or 300)
# A queued message nobody tried this long (its job was lost) is queued again.
SEND_LOST_AFTER_SECONDS = float(env("INBOX_SEND_LOST_AFTER", "900") or 900)
# How often the clock reconciles the accounts' templates with WhatsApp's list.
TEMPLATES_SYNC_EVERY = int(env("INBOX_TEMPLATES_SYNC_EVERY", "600") or 600)
# Where customers' files may be downloaded from, besides the Graph API's own
# host: host names (HTTPS) or scheme://host:port origins, comma-separated.
WHATSAPP_MEDIA_HOSTS = env_list("WHATSAPP_MEDIA_HOSTS", "lookaside.fbsbx.com")

# --- Production hardening -------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(env("DJANGO_HSTS_SECONDS", "31536000") or 0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
    },
}

# --- Campaigns --------------------------------------------------------------
# Send jobs working on one campaign at once (their sum keeps the number's pace).
CAMPAIGNS_SEND_JOBS = int(env("INBOX_CAMPAIGN_SEND_JOBS", "4") or 4)
# Messages per second of a number without its own setting (WhatsApp's default).
CAMPAIGNS_DEFAULT_RATE = int(env("INBOX_CAMPAIGN_DEFAULT_RATE", "80") or 80)
# The messaging tier of an account WhatsApp has not reported yet.
CAMPAIGNS_DEFAULT_TIER = env("INBOX_CAMPAIGN_DEFAULT_TIER", "TIER_2K") or "TIER_2K"
# How long a send job holds the recipients it took (another takes them after it died).
CAMPAIGNS_LEASE_SECONDS = float(env("INBOX_CAMPAIGN_LEASE", "30") or 30)
# A running campaign with due recipients and no send job heard of for this long
# gets new jobs from the clock.
CAMPAIGNS_STALE_AFTER = float(env("INBOX_CAMPAIGN_STALE_AFTER", "30") or 30)
