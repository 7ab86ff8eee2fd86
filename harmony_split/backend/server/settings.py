"""Django settings of harmony_split. Every setting that people change comes from an environment variable,
documented in ``harmony_split/README.md``; the defaults suit one machine (``make serve``).

Production mode (``HARMONY_PRODUCTION=1``) requires ``SECRET_KEY`` and turns on HTTPS-only cookies, HSTS and the
HTTPS redirect, so that ``manage.py check --deploy`` is clean.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

REPO = Path(__file__).resolve().parents[3]
BACKEND = Path(__file__).resolve().parents[1]


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None or value == "" else value.strip().lower() in ("1", "true", "yes", "on")


def env_number(name: str, default: float) -> float:
    value = os.environ.get(name, "")
    try:
        return float(value) if value else default
    except ValueError as err:
        raise ImproperlyConfigured(f"{name}={value!r}: not a number") from err


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# --- harmony_split's own settings (read at call time through django.conf.settings, so tests can override) ---
HARMONY_DATA_DIR = Path(os.environ.get("HARMONY_DATA_DIR") or REPO / "harmony_split" / "data").resolve()
HARMONY_CHECKPOINT_DIR = Path(os.environ.get("HARMONY_CHECKPOINT_DIR") or REPO / "checkpoints").resolve()
HARMONY_CHECKPOINT = os.environ.get("HARMONY_CHECKPOINT", "")  # default model; "" = newest best checkpoint
HARMONY_MAX_UPLOAD_MB = env_number("HARMONY_MAX_UPLOAD_MB", 200)  # megabytes (10^6 bytes) per upload
HARMONY_MAX_MINUTES = env_number("HARMONY_MAX_MINUTES", 20)  # longest accepted audio, minutes
# What a separation costs grows with channels x rate x minutes: both are bounded too (mono and stereo songs,
# up to the highest rate audio interfaces record at).
HARMONY_MAX_CHANNELS = int(env_number("HARMONY_MAX_CHANNELS", 2))  # most channels an upload may have
HARMONY_MAX_SAMPLE_RATE = int(env_number("HARMONY_MAX_SAMPLE_RATE", 192000))  # highest sample rate accepted, Hz
HARMONY_MAX_QUEUED = int(env_number("HARMONY_MAX_QUEUED", 5))  # queued or running jobs per user
HARMONY_RETENTION_DAYS = env_number("HARMONY_RETENTION_DAYS", 7)  # tracks older than this are removed, days
# Abuse limits (0 turns one off); each refusal is a 429 with Retry-After (tracks/throttles.py).
HARMONY_SIGN_INS_PER_NAME = int(env_number("HARMONY_SIGN_INS_PER_NAME", 20))  # sign-in attempts per user name, per hour
HARMONY_SIGN_INS_PER_ADDRESS = int(env_number("HARMONY_SIGN_INS_PER_ADDRESS", 60))  # per client address, per hour
HARMONY_UPLOADS_PER_HOUR = int(env_number("HARMONY_UPLOADS_PER_HOUR", 30))  # upload attempts per account, per hour
HARMONY_MAX_STORED_MB = env_number("HARMONY_MAX_STORED_MB", 2000)  # uploads plus stems per account, MB (10^6 bytes)
# Proxies in front of the web server whose X-Forwarded-For entries are trusted: 0 = the client address is the
# connection's (REMOTE_ADDR), so a client cannot pick its own address by sending that header.
HARMONY_TRUSTED_PROXIES = int(env_number("HARMONY_TRUSTED_PROXIES", int(env_bool("HARMONY_BEHIND_PROXY", False))))
HARMONY_HEARTBEAT_SECONDS = env_number("HARMONY_HEARTBEAT_SECONDS", 5)  # worker heartbeat period, s
HARMONY_STALE_SECONDS = env_number("HARMONY_STALE_SECONDS", 60)  # heartbeat age that marks a worker dead, s
HARMONY_CHUNK_SECONDS = env_number("HARMONY_CHUNK_SECONDS", 10)  # audio per separation block (progress step), s
HARMONY_WORKER_NICE = int(env_number("HARMONY_WORKER_NICE", 10))  # CPU niceness added to worker processes
HARMONY_PRECISION = os.environ.get("HARMONY_PRECISION", "float32")  # float32 | bfloat16 | float16
# What runs the network in workers (Models.api.choose_engine): auto = onnxruntime when the checkpoint has its ONNX
# export beside it (or TensorFlow is not installed), else TensorFlow; tf; onnx.
HARMONY_ENGINE = os.environ.get("HARMONY_ENGINE", "auto")
if HARMONY_ENGINE not in ("auto", "tf", "onnx"):
    raise ImproperlyConfigured(f"HARMONY_ENGINE={HARMONY_ENGINE!r}: must be auto, tf or onnx")
HARMONY_PRODUCTION = env_bool("HARMONY_PRODUCTION", False)
HARMONY_FRONTEND_DIR = REPO / "harmony_split" / "frontend" / "dist"  # the built browser app (part 2)

# --- Django ---
DEBUG = env_bool("HARMONY_DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if HARMONY_PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY is not set: production mode (HARMONY_PRODUCTION=1) needs one")
    # One machine: `manage.py serve` keeps a random key in the data folder (readable by its owner only), which its
    # web server and workers share. A process started without that file (a management command, a one-process test
    # server) gets a random key of its own: never a fixed one, which anybody could read in this repository.
    key_file = HARMONY_DATA_DIR / "secret_key"
    SECRET_KEY = key_file.read_text().strip() if key_file.is_file() else secrets.token_urlsafe(50)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", f"127.0.0.1,localhost,[::1],{os.environ.get('HARMONY_HOST', '')}")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_tasks",
    "django_tasks_db",
    "django_rq",
    "django_tasks_rq",
    "harmony_split.backend.tracks",
]

MIDDLEWARE = [
    "harmony_split.backend.server.isolation.CrossOriginIsolationMiddleware",  # COOP/COEP: WASM threads
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "harmony_split.backend.server.urls"
WSGI_APPLICATION = "harmony_split.backend.server.wsgi.application"
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
            ]
        },
    }
]

# SQLite in the data folder (WAL: the web server reads while a worker writes), or DATABASE_URL (PostgreSQL).
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{HARMONY_DATA_DIR / 'db.sqlite3'}", conn_max_age=0 if "DATABASE_URL" not in os.environ
        else 60)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Jobs: the database queue and `manage.py worker` (db_worker) by default; with REDIS_URL, RQ workers.
REDIS_URL = os.environ.get("REDIS_URL", "")
RQ_QUEUES = {"default": {"URL": REDIS_URL or "redis://127.0.0.1:6379/0", "DEFAULT_TIMEOUT": 24 * 3600}}
if REDIS_URL:
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static files (the admin's) and the built frontend, both through WhiteNoise; uploads and stems never are:
# they live in HARMONY_DATA_DIR and leave only through the authorised download views.
STATIC_URL = "/static/"
STATIC_ROOT = None  # no collectstatic step: WhiteNoise serves the apps' static files where they are
WHITENOISE_USE_FINDERS = True
WHITENOISE_ROOT = HARMONY_FRONTEND_DIR if HARMONY_FRONTEND_DIR.is_dir() else None
WHITENOISE_INDEX_FILE = True

# Uploads: streamed to a temporary file by the size-checking handler (413 before the body is stored whole).
FILE_UPLOAD_HANDLERS = ["harmony_split.backend.tracks.uploads.LimitedUploadHandler"]
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

# The cache holds the sign-in and upload counts, so every web process and machine must share it: a table of the
# database (created by `migrate`, see tracks/apps.py), or Redis with REDIS_URL. (Django's default, a per-process
# memory cache, would give each gunicorn worker counts of its own.)
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": "harmony"}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "harmony_cache",
                          "OPTIONS": {"MAX_ENTRIES": 100_000}}}  # culling would forget counts (default: 300)

REST_FRAMEWORK = {
    # Token first, so an unauthenticated request answers 401 with "WWW-Authenticate: Token" (not 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "harmony_split.backend.tracks.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "NUM_PROXIES": HARMONY_TRUSTED_PROXIES,  # the throttles' client address (DRF: None would trust any header)
}
SPECTACULAR_SETTINGS = {
    "TITLE": "harmony_split API",
    "DESCRIPTION": "Singing-voice separation as a service: upload a song, get its vocals and accompaniment.",
    "VERSION": "1.0.0",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django.request": {"level": "ERROR"}},
}

# Security: the defaults of `check --deploy`; HTTPS-only cookies, HSTS and the redirect in production mode.
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if HARMONY_PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("HARMONY_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^api/health/$"]  # load balancers probe over plain HTTP
    SECURE_HSTS_SECONDS = int(env_number("HARMONY_HSTS_SECONDS", 31536000))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HARMONY_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("HARMONY_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading puts the domain on browsers' built-in lists for good: an opt-in (HARMONY_HSTS_PRELOAD=1).
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    if env_bool("HARMONY_BEHIND_PROXY", False):  # a TLS-terminating proxy sets X-Forwarded-Proto
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_FAILURE_VIEW = "harmony_split.backend.tracks.errors.csrf_failure"
