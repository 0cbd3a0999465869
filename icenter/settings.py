"""icenter settings: one file, driven by environment variables.

Without any variables set this is the embedded development setup: SQLite, the
in-memory channel layer, Celery running tasks in-process and the simulated PBX.
Production sets at least DEBUG=0, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL and
REDIS_URL (see README.md, "Production").
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def envstr(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = envbool("DEBUG", True)

SECRET_KEY = envstr("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")
SITE_URL = envstr("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_htmx",
    "icenter",
    "accounts",
    "telephony",
    "knowledge",
    "scripting",
    "campaigns",
    "erms",
    "icenter.desk",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "icenter.urls"
WSGI_APPLICATION = "icenter.wsgi.application"
ASGI_APPLICATION = "icenter.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: SQLite by default, PostgreSQL (psycopg 3) when DATABASE_URL is set.
DATABASE_URL = envstr("DATABASE_URL")
DB_POOL_MAX_SIZE = envint("DB_POOL_MAX_SIZE", 20)
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=envint("DB_CONN_MAX_AGE", 0), conn_health_checks=True
        )
    }
    if DB_POOL_MAX_SIZE > 0 and DATABASES["default"]["ENGINE"].endswith("postgresql"):
        # Desk renders run on a few worker threads; a pool saves a connection setup each.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 2,
            "max_size": DB_POOL_MAX_SIZE,
            "timeout": 10,
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": envstr("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Channels and Celery: Redis when REDIS_URL is set, in-process otherwise.
REDIS_URL = envstr("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py's default 5 s read timeout would break the layer's blocking
                # reads on quiet desks (redis/redis-py#4091): wait longer than they block.
                "hosts": [{"address": REDIS_URL, "socket_timeout": 10, "max_connections": 1000}],
                "capacity": 1000,
                "expiry": 30,
            },
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CELERY_BROKER_URL = "memory://"
    CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # ACD timers: wrap-up end, overflow, ring-no-answer, VIP reservations, due callbacks.
    "acd-tick": {"task": "telephony.acd_tick", "schedule": 1.0},
    # Ticket SLA: warn before a breach and escalate when due (idempotent, cheap when idle).
    "ticket-sla-check": {"task": "accounts.ticket_sla_check", "schedule": 60.0},
    # Connected systems: known outages, so that the pop shows one in the caller's area.
    "outage-sync": {"task": "accounts.outage_sync", "schedule": 300.0},
    "presence-prune": {"task": "accounts.presence_prune", "schedule": 3600.0},
    # Webhooks: send due deliveries and retries (new ones are also sent at once with Redis).
    "webhook-deliver-due": {"task": "telephony.webhook_deliver_due", "schedule": 10.0},
    # Call lists: customers held by agents who logged out go back to the list.
    "call-list-release-stale": {"task": "campaigns.entries_release_stale", "schedule": 300.0},
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = envstr("LANGUAGE_CODE", "de")
LANGUAGES = [("de", _("German")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = envstr("TIME_ZONE", "Europe/Berlin")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(BASE_DIR / "media")))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["icenter.api.HasStaffRole"],
    "DEFAULT_PAGINATION_CLASS": "icenter.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.URLPathVersioning",
    "ALLOWED_VERSIONS": ["v1"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "icenter.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "icenter API",
    "DESCRIPTION": "REST API of the icenter interaction center for integrators.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a field "kind" with its own choices: one named enum for each.
    "ENUM_NAME_OVERRIDES": {
        "AccountKindEnum": "accounts.models.Account.Kind",
        "ContactPointKindEnum": "accounts.models.ContactPoint.Kind",
        "AddressKindEnum": "accounts.models.Address.Kind",
        "CustomerMessageChannelEnum": "accounts.api.appointments.CONFIRM_CHOICES",
        "SolutionStatusEnum": "knowledge.models.Solution.Status",
        "TicketStatusEnum": "accounts.models.Ticket.Status",
        "AgentStateEnum": "telephony.models.Agent.State",
        "AgentStateInputEnum": "telephony.api.SETTABLE_STATES",
        "CallDirectionEnum": "telephony.models.Call.Direction",
        "InteractionDirectionEnum": "accounts.models.Interaction.Direction",
        "InteractionChannelEnum": "accounts.models.Interaction.Channel",
        "WorkItemChannelEnum": "telephony.models.WorkItem.Channel",
        "SkillLevelEnum": "telephony.models.LEVEL_CHOICES",
    },
}

# Telephony: which CTI adapter talks to the PBX, and who may post PBX events.
ICENTER_CTI = envstr("ICENTER_CTI", "simulator")
ICENTER_CTI_TOKEN = envstr("ICENTER_CTI_TOKEN")
if not ICENTER_CTI_TOKEN and DEBUG:
    # The dev server and `manage.py simulate_call` share this derived token.
    import hashlib

    ICENTER_CTI_TOKEN = hashlib.sha256(f"cti:{SECRET_KEY}".encode()).hexdigest()
ICENTER_CTI_ALLOWED_NETWORKS = envlist("ICENTER_CTI_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")
# Who runs the periodic tasks: "celery" (beat + workers, with REDIS_URL), "thread" (inside the
# web process, the embedded default) or "off" (tests drive the timers themselves).
ICENTER_TICKER = envstr("ICENTER_TICKER", "celery" if REDIS_URL else "thread")
ICENTER_QUEUE_NUMBERS = envlist("ICENTER_QUEUE_NUMBERS", "7000")
# ICENTER_CTI=kamailio: Kamailio's JSON-RPC (deploy/kamailio/kamailio.cfg, RPC_PORT), the bearer
# token it wants (its APP_TOKEN; by default the same as ICENTER_CTI_TOKEN), seconds to wait for
# an answer, and its SIP address (host:port) for click-to-dial Refer-To URIs.
ICENTER_KAMAILIO_RPC_URL = envstr("ICENTER_KAMAILIO_RPC_URL", "http://127.0.0.1:5064/RPC")
ICENTER_KAMAILIO_RPC_TOKEN = envstr("ICENTER_KAMAILIO_RPC_TOKEN", ICENTER_CTI_TOKEN)
ICENTER_KAMAILIO_RPC_TIMEOUT = envint("ICENTER_KAMAILIO_RPC_TIMEOUT", 3)
ICENTER_KAMAILIO_SIP_DOMAIN = envstr("ICENTER_KAMAILIO_SIP_DOMAIN", "127.0.0.1:5060")
# Hold from the desk with Kamailio: rtpengine's ng control address (host:port, its --listen-ng;
# empty = hold only with the phone's own key) and the hold music file on rtpengine's host.
ICENTER_RTPENGINE_NG = envstr("ICENTER_RTPENGINE_NG", "")
ICENTER_HOLD_MUSIC = envstr("ICENTER_HOLD_MUSIC", "/usr/share/icenter/media/hold-music.wav")
# ICENTER_CTI=asterisk: the Asterisk manager (AMI) user of deploy/asterisk/manager.conf.
ICENTER_ASTERISK_HOST = envstr("ICENTER_ASTERISK_HOST", "127.0.0.1")
ICENTER_ASTERISK_PORT = envint("ICENTER_ASTERISK_PORT", 5038)
ICENTER_ASTERISK_USER = envstr("ICENTER_ASTERISK_USER", "icenter")
ICENTER_ASTERISK_SECRET = envstr("ICENTER_ASTERISK_SECRET")
# Webhooks for call events: how long one attempt may take and how often to try.
ICENTER_WEBHOOK_TIMEOUT = envint("ICENTER_WEBHOOK_TIMEOUT", 10)
ICENTER_WEBHOOK_MAX_ATTEMPTS = envint("ICENTER_WEBHOOK_MAX_ATTEMPTS", 8)
# Shown in the desk when the demo controls (simulate a call) are available.
ICENTER_DEMO_TOOLS = envbool("ICENTER_DEMO_TOOLS", DEBUG)

# Customer service: the largest file an agent may attach to a ticket.
ICENTER_ATTACHMENT_MAX_BYTES = envint("ICENTER_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
# Technician appointments: the length of a slot, and how far ahead free slots are proposed.
ICENTER_APPOINTMENT_SLOT_MINUTES = envint("ICENTER_APPOINTMENT_SLOT_MINUTES", 120)
ICENTER_APPOINTMENT_DAYS_AHEAD = envint("ICENTER_APPOINTMENT_DAYS_AHEAD", 21)
# Connected systems (contracts, orders, outages, line test): "demo" (built in) or "http"
# (JSON at ICENTER_CONNECTOR_URL, see accounts/connectors/http.py), or a dotted path.
ICENTER_CONNECTOR = envstr("ICENTER_CONNECTOR", "demo")
ICENTER_CONNECTOR_URL = envstr("ICENTER_CONNECTOR_URL")
ICENTER_CONNECTOR_TOKEN = envstr("ICENTER_CONNECTOR_TOKEN")
ICENTER_CONNECTOR_TIMEOUT = envint("ICENTER_CONNECTOR_TIMEOUT", 3)
# SMS to customers: "console" (log only, the default), "file" (JSON lines in ICENTER_SMS_FILE)
# or "http" (a JSON gateway at ICENTER_SMS_HTTP_URL with a bearer token), or a dotted path.
ICENTER_SMS_BACKEND = envstr("ICENTER_SMS_BACKEND", "console")
ICENTER_SMS_SENDER = envstr("ICENTER_SMS_SENDER", "icenter")
ICENTER_SMS_FILE = envstr("ICENTER_SMS_FILE", str(BASE_DIR / "sms-outbox.jsonl"))
ICENTER_SMS_HTTP_URL = envstr("ICENTER_SMS_HTTP_URL")
ICENTER_SMS_HTTP_TOKEN = envstr("ICENTER_SMS_HTTP_TOKEN")
# Email to customers goes through Django's email backends: the console in development.
EMAIL_BACKEND = envstr(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = envstr("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "service@example.de")

# Security: strict by default when DEBUG is off (manage.py check --deploy is clean).
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", True)
    if envbool("SECURE_PROXY_SSL_HEADER", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^cti/"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.channels.server": {"level": envstr("LOG_LEVEL_ACCESS", "WARNING")},
        "daphne": {"level": "WARNING"},
        # One line per periodic task run (every second with the ACD tick) is noise.
        "celery.app.trace": {"level": envstr("LOG_LEVEL_TASKS", "WARNING")},
    },
}
