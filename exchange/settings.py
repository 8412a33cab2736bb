"""Settings, read from environment variables with embedded defaults (12-factor).

With no environment at all the platform runs on SQLite, a local storage folder and a Celery worker
whose broker is a folder (no server needed). `.env.example` documents every variable. Setting
EXCHANGE_PROFILE=production switches on the hardening that `manage.py check --deploy` asks for and
refuses to start with the development secret key.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import django_stubs_ext

# Lets Django's generic classes be subscripted at run time (ModelAdmin[Model]) for mypy.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("EXCHANGE_VAR_DIR", BASE_DIR / "var"))


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if not value else int(value)


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def database_from_url(url: str) -> dict[str, object]:
    """Turn postgres://user:pass@host:port/name?opt=v or sqlite:///path into a DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        if path.startswith("/") and url.startswith("sqlite:////"):
            name = path
        else:
            name = str(BASE_DIR / path.lstrip("/"))
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": name, "OPTIONS": {"timeout": 20}}
    if parsed.scheme in {"postgres", "postgresql"}:
        options: dict[str, object] = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 60),
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
            "TEST": {"NAME": env("DB_TEST_NAME", "") or None},
        }
    raise ValueError(
        f"DATABASE_URL: unsupported scheme {parsed.scheme!r} (use postgres:// or sqlite:///)"
    )


PROFILE = env("EXCHANGE_PROFILE", "development")
PRODUCTION = PROFILE == "production"

_DEV_SECRET = "dev-insecure-secret-key-change-me-in-production-0123456789abcdef"  # noqa: S105
SECRET_KEY = env("DJANGO_SECRET_KEY", _DEV_SECRET)
if PRODUCTION and SECRET_KEY == _DEV_SECRET:
    raise RuntimeError("DJANGO_SECRET_KEY must be set when EXCHANGE_PROFILE=production")

DEBUG = env_bool("DJANGO_DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    # The console replaces the stock admin site: every admin.register lands on ConsoleSite.
    "exchange.console.admin_config.ConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "exchange.participants",
    "exchange.audit",
    "exchange.web",
    "exchange.ledger",
    "exchange.trading",
    "listings",
    "listings.pipeline",
    "licensing",
    "exchange.console",
    "exchange.portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "exchange.urls"
WSGI_APPLICATION = "exchange.wsgi.application"
ASGI_APPLICATION = "exchange.asgi.application"

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

DATABASES = {
    "default": database_from_url(env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'exchange.sqlite3'}")),
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "participants.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]

# Cache: Redis when REDIS_URL is given (shared by every web instance, so API-key throttling
# counts across instances), else process-local memory for the embedded default.
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", "exchange"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "exchange.participants.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": [
        "exchange.participants.throttling.ApiKeyRateThrottle",
        "rest_framework.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": env("API_KEY_THROTTLE_RATE", "600/min"),
        "anon": env("ANON_THROTTLE_RATE", "120/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "exchange.api_errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] = [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ]
SPECTACULAR_SETTINGS = {
    "TITLE": "Data exchange API",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc come from the sidecar package: no request leaves the site.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "exchange.api_common.schema.add_error_responses",
    ],
    # Several models have a `status` or `kind`; name each enum after its model so the schema's
    # components do not collide.
    "ENUM_NAME_OVERRIDES": {
        "ListingStatusEnum": "listings.models.Listing.Status",
        "ListingVersionStatusEnum": "listings.models.ListingVersion.Status",
        "PricePlanKindEnum": "listings.models.PricePlan.Kind",
        "OrganisationKindEnum": "exchange.participants.models.Organisation.Kind",
        "OrganisationStatusEnum": "exchange.participants.models.Organisation.Status",
    },
}
# Catalogue searches are cached this many seconds per kind of viewer (writes invalidate at once).
LISTINGS_SEARCH_CACHE_SECONDS = env_int("LISTINGS_SEARCH_CACHE_SECONDS", 60)
# Above this many matches (PostgreSQL) a search stops counting: the total and the facet counts are
# estimated from a sample of about LISTINGS_SEARCH_SAMPLE_ROWS rows and flagged approximate, and
# relevance ranks only the first LISTINGS_SEARCH_RANK_WINDOW candidates (title/keyword hits first).
LISTINGS_SEARCH_EXACT_LIMIT = env_int("LISTINGS_SEARCH_EXACT_LIMIT", 1000)
LISTINGS_SEARCH_SAMPLE_ROWS = env_int("LISTINGS_SEARCH_SAMPLE_ROWS", 4000)
LISTINGS_SEARCH_RANK_WINDOW = env_int("LISTINGS_SEARCH_RANK_WINDOW", 50)

# --- Object storage ---------------------------------------------------------------------------
# "local": two folders under STORAGE_LOCAL_ROOT, links signed by Django.
# "s3": any S3-compatible endpoint through boto3 (SeaweedFS, MinIO, Ceph, OSS, AWS).
STORAGE_BACKEND = env("STORAGE_BACKEND", "local")
STORAGE_LOCAL_ROOT = Path(env("STORAGE_LOCAL_ROOT", str(VAR_DIR / "storage")))
S3_ENDPOINT_URL = env("S3_ENDPOINT_URL")
S3_REGION = env("S3_REGION", "us-east-1")
S3_ACCESS_KEY_ID = env("S3_ACCESS_KEY_ID")
S3_SECRET_ACCESS_KEY = env("S3_SECRET_ACCESS_KEY")
S3_QUARANTINE_BUCKET = env("S3_QUARANTINE_BUCKET", "exchange-quarantine")
S3_PUBLISHED_BUCKET = env("S3_PUBLISHED_BUCKET", "exchange-published")
S3_ADDRESSING_STYLE = env("S3_ADDRESSING_STYLE", "path")
# Buyers' links live minutes, never hours: a leaked link is worth little.
DOWNLOAD_LINK_TTL_SECONDS = env_int("DOWNLOAD_LINK_TTL_SECONDS", 300)
UPLOAD_LINK_TTL_SECONDS = env_int("UPLOAD_LINK_TTL_SECONDS", 3600)
STORAGE_MULTIPART_THRESHOLD = env_int("STORAGE_MULTIPART_THRESHOLD", 64 * 1024 * 1024)
STORAGE_MULTIPART_CHUNK = env_int("STORAGE_MULTIPART_CHUNK", 16 * 1024 * 1024)
# Parts sent at once per upload: memory per upload is about (this + 3) × STORAGE_MULTIPART_CHUNK.
STORAGE_MULTIPART_CONCURRENCY = env_int("STORAGE_MULTIPART_CONCURRENCY", 2)
STORAGE_MAX_DOWNLOAD_LINK_TTL_SECONDS = env_int("STORAGE_MAX_DOWNLOAD_LINK_TTL_SECONDS", 900)
STORAGE_MAX_UPLOAD_LINK_TTL_SECONDS = env_int("STORAGE_MAX_UPLOAD_LINK_TTL_SECONDS", 21600)
# The address buyers reach the store at, when it differs from the one the platform uses.
S3_PUBLIC_ENDPOINT_URL = env("S3_PUBLIC_ENDPOINT_URL")
# Absolute prefix of the local backend's signed links (default SITE_URL).
STORAGE_LOCAL_BASE_URL = env("STORAGE_LOCAL_BASE_URL", SITE_URL)

# --- Celery -----------------------------------------------------------------------------------
# The embedded default is a broker kept in a folder, so `make run` needs no server.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "filesystem://")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", f"file://{VAR_DIR / 'celery-results'}")
CELERY_FILESYSTEM_FOLDER = VAR_DIR / "celery-broker"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Longest a task may run; the broker must not redeliver a message before a worker could
# possibly have finished it, so the visibility timeout is derived from the hard limit.
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 25 * 60)
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", CELERY_TASK_TIME_LIMIT + 5 * 60)
CELERY_MAX_REDELIVERIES = env_int("CELERY_MAX_REDELIVERIES", 3)

# --- Upload pipeline ----------------------------------------------------------------------------
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 5 * 1024**3)
UPLOAD_MULTIPART_THRESHOLD = env_int("UPLOAD_MULTIPART_THRESHOLD", 64 * 1024**2)
UPLOAD_PART_BYTES = env_int("UPLOAD_PART_BYTES", 16 * 1024**2)
UPLOAD_MAX_FIELD_BYTES = env_int("UPLOAD_MAX_FIELD_BYTES", 1024**2)
UPLOAD_MAX_COLUMNS = env_int("UPLOAD_MAX_COLUMNS", 2000)
UPLOAD_MAX_ROWS = env_int("UPLOAD_MAX_ROWS", 100_000_000)
UPLOAD_MAX_ARCHIVE_RATIO = env_int("UPLOAD_MAX_ARCHIVE_RATIO", 100)
UPLOAD_MAX_ARCHIVE_ENTRIES = env_int("UPLOAD_MAX_ARCHIVE_ENTRIES", 10)
UPLOAD_VALIDATION_SECONDS = env_int("UPLOAD_VALIDATION_SECONDS", 1800)
# Text files above this are split at record boundaries and cleaned in parallel (a chord).
PIPELINE_CHUNK_BYTES = env_int("PIPELINE_CHUNK_BYTES", 64 * 1024**2)
# Raw uploads leave quarantine once published (0), or after this many seconds.
QUARANTINE_RETENTION_SECONDS = env_int("QUARANTINE_RETENTION_SECONDS", 0)
# Pseudonym keys are derived from this and a per-listing salt; defaults to SECRET_KEY.
PSEUDONYM_MASTER_KEY = env("PSEUDONYM_MASTER_KEY")

# --- Money ----------------------------------------------------------------------------------------
# The payment provider; the sandbox simulates bank transfers and is refused in production unless
# PAYMENT_SANDBOX_ALLOWED is set (a simulated callback creates money).
PAYMENT_PROVIDER_CLASS = env(
    "PAYMENT_PROVIDER_CLASS", "exchange.ledger.payments.sandbox.SandboxBankTransferProvider"
)
PAYMENT_SANDBOX_SECRET = env("PAYMENT_SANDBOX_SECRET")
PAYMENT_SANDBOX_ALLOWED = env_bool("PAYMENT_SANDBOX_ALLOWED", False)
PAYMENT_CALLBACK_TOLERANCE_SECONDS = env_int("PAYMENT_CALLBACK_TOLERANCE_SECONDS", 300)
IDEMPOTENCY_KEY_TTL_HOURS = env_int("IDEMPOTENCY_KEY_TTL_HOURS", 24)
IDEMPOTENCY_LOCK_TIMEOUT_SECONDS = env_int("IDEMPOTENCY_LOCK_TIMEOUT_SECONDS", 120)
LEDGER_MAX_AMOUNT_FEN = env_int("LEDGER_MAX_AMOUNT_FEN", 10**12 - 100)

# --- Trading ----------------------------------------------------------------------------------
PLATFORM_FEE_BPS = env_int("PLATFORM_FEE_BPS", 500)  # basis points of each sale; floor in fen
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8)
WEBHOOK_BACKOFF_BASE_SECONDS = env_int("WEBHOOK_BACKOFF_BASE_SECONDS", 30)
WEBHOOK_BACKOFF_MAX_SECONDS = env_int("WEBHOOK_BACKOFF_MAX_SECONDS", 21600)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 5)
# Webhook targets on loopback or private networks are refused (SSRF) unless this is on.
WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
# Keys that encrypt webhook signing secrets at rest (AES-256-GCM): comma-separated base64 of 32
# bytes; the first encrypts, all decrypt (rotation: see docs/WEBHOOKS.md). Empty in development:
# a key derived from SECRET_KEY. Production must set it: deriving from DJANGO_SECRET_KEY would tie
# every stored webhook secret to that key, so rotating it (routine after a leak) would silently
# make all endpoints unable to sign.
WEBHOOK_SECRET_KEYS = env_list("WEBHOOK_SECRET_KEYS")
if PRODUCTION and not WEBHOOK_SECRET_KEYS:
    raise RuntimeError("WEBHOOK_SECRET_KEYS must be set when EXCHANGE_PROFILE=production")

CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "trading-auto-accept": {"task": "trading.auto_accept_due_orders", "schedule": 60.0},
    "trading-retry-webhooks": {"task": "trading.retry_webhooks", "schedule": 60.0},
    "trading-notify-subscribers": {"task": "trading.notify_subscribers", "schedule": 300.0},
    "ledger-purge-idempotency-keys": {
        "task": "exchange.ledger.tasks.purge_idempotency_keys",
        "schedule": 3600.0,
    },
    "ledger-verify": {"task": "exchange.ledger.tasks.verify_ledger", "schedule": 86400.0},
    "pipeline-purge-expired-quarantine": {
        "task": "pipeline.purge_expired_quarantine",
        "schedule": 600.0,
    },
    "licensing-expire-due-licences": {
        "task": "licensing.expire_due_licences",
        "schedule": 300.0,
    },
}

# --- Platform rules ---------------------------------------------------------------------------
API_KEY_DEFAULT_LIFETIME_DAYS = env_int("API_KEY_DEFAULT_LIFETIME_DAYS", 365)

# --- Logging: structured enough to grep, never with secrets or personal data ------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
}

# --- Production hardening (what `check --deploy` asks for) ------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the page scripts read it for htmx requests
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
