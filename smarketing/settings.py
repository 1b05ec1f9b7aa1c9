"""smarketing settings: one file, read from environment variables.

With nothing set, the product runs embedded: a SQLite file under ``var/``, Celery on
kombu's filesystem transport (no server needed), DEBUG off and a secret key made once and kept
in ``var/``. ``DEBUG=1`` is for development. Production sets ``DATABASE_URL``,
``CELERY_BROKER_URL``, ``REDIS_URL``, ``SECRET_KEY`` and ``DEBUG=0``.
"""

import os
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from smarketing.lib.env import (
    env_bool,
    env_given,
    env_int,
    env_list,
    env_str,
    secret_from_file,
    secret_key_problem,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("SMARKETING_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
DEFAULT_SECRET_KEY = "insecure-smarketing-default-key-change-me"  # noqa: S105
SECRET_KEY_FILE = VAR_DIR / "secret_key"
SECRET_KEY = env_str("SECRET_KEY", "")
# The embedded run (`make run`: no SECRET_KEY, no DATABASE_URL) makes a random key once and keeps
# it in var/, so sessions outlive a restart. An explicit DEBUG=0 reuses that key but never makes
# one: a server set up by hand that forgot SECRET_KEY refuses to start rather than invent a key.
# Development (DEBUG=1) signs with a fixed key.
EMBEDDED = not (SECRET_KEY or DEBUG or env_given("DATABASE_URL"))
if EMBEDDED:
    SECRET_KEY = secret_from_file(SECRET_KEY_FILE, create=not env_given("DEBUG")) or ""
# With DEBUG off, refuse any key `check --deploy` would flag (and .env.example's placeholder):
# sessions, password resets and webhook signatures are only as strong as it.
if not DEBUG and (problem := secret_key_problem(SECRET_KEY, default=DEFAULT_SECRET_KEY)):
    raise ImproperlyConfigured(
        f"DEBUG is off: set SECRET_KEY to a long random value ({problem}). Make one with: "
        'python -c "import secrets; print(secrets.token_urlsafe(50))"'
    )
SECRET_KEY = SECRET_KEY or DEFAULT_SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    "anymail",
    "axes",
    "smarketing",
    "smarketing.audit",
    "leads",
    "playbooks",
    "reports",
]

MIDDLEWARE = [
    "smarketing.middleware.ServerTimingMiddleware",
    "smarketing.middleware.RefusalLogMiddleware",
    "smarketing.middleware.DatabaseUnavailableMiddleware",  # the database unreachable: 503, not 500
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a refused login into the lockout page
]

ROOT_URLCONF = "smarketing.urls"
CSRF_FAILURE_VIEW = "smarketing.errors.csrf_failure"  # the product's page; the reason goes to the log
WSGI_APPLICATION = "smarketing.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "smarketing.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
# SQLite by default, tuned so concurrent writers (web, worker, beat) wait for the lock
# instead of failing: WAL lets readers run beside a writer, IMMEDIATE takes the write lock
# at BEGIN so a transaction never has to upgrade (and deadlock), the timeout is the wait.
SQLITE_PATH = Path(env_str("SQLITE_PATH", str(VAR_DIR / "smarketing.sqlite3")))  # tests point a worker at theirs
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # No JIT: compiling a capture's statements (their estimates look big) took longer than
        # running them. The bulk rescore turns it back on for its ranges (leads/scoring/services.py).
        # Random reads priced as the cached or SSD reads they are (the default, 4, prices a
        # disk seek): otherwise a list filtered by stage walked the newest-first index over
        # every newer lead of other stages (114,000 rows, 69 ms) instead of reading the
        # stage's own index (0.3 ms).
        options = DATABASES["default"].setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c jit=off -c random_page_cost=1.1".strip()
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "cached_statements": 1024,  # parsed statements kept per connection (128 by default)
                # SQLite's own page cache is 2 MB; 64 MB and memory-mapped reads keep a demo-sized
                # database in memory (the 3,000-lead demo seeds ~10% faster).
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA busy_timeout=20000;"
                    "PRAGMA cache_size=-65536;PRAGMA mmap_size=268435456;PRAGMA temp_store=MEMORY;"
                ),
            },
            # A file, not memory, so a real Celery worker process can share the test database;
            # one per test run, so two runs side by side never share it.
            "TEST": {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")},
        }
    }
    # The events' (type, occurred_at) index carries the lead on PostgreSQL (INCLUDE) for
    # segment counts; SQLite has no non-key index columns and builds it on the key alone.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth -----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login protection (django-axes), on the login page and the admin's alike: after
# LOGIN_FAILURE_LIMIT wrong passwords for one username from one address, that pair is refused
# for LOGIN_COOLOFF_MINUTES from its last failure, with a page that says until when. Other users
# and addresses log in as before, a right password clears the count, and a manager may unlock
# sooner (/logins/, or `manage.py axes_reset_username`). LOGIN_LOCKOUT_BY=username,ip_address
# counts each alone instead (then a username is locked from every address).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [group.split("+") for group in env_list("LOGIN_LOCKOUT_BY", ["username+ip_address"])]
if (
    AXES_FAILURE_LIMIT < 1
    or AXES_COOLOFF_TIME.total_seconds() <= 0
    or not all(set(group) <= {"username", "ip_address"} for group in AXES_LOCKOUT_PARAMETERS)
):
    raise ImproperlyConfigured(
        "LOGIN_FAILURE_LIMIT and LOGIN_COOLOFF_MINUTES are 1 or more; LOGIN_LOCKOUT_BY lists "
        "username, ip_address or username+ip_address, comma-separated."
    )
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # the page's "until" holds: retrying does not extend it
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # each failure with its time, for the managers' page
AXES_CLIENT_IP_CALLABLE = "leads.capture.api.client_ip"  # X-Forwarded-For behind NUM_PROXIES, as capture
AXES_LOCKOUT_CALLABLE = "smarketing.accounts.views.locked_out"

# --- Internationalisation -------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")  # the instance's zone: pages and periods follow it
USE_I18N = True
USE_TZ = True
CURRENCY = env_str("CURRENCY", "USD")

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"

# --- Security (production) ------------------------------------------------------------
# With DEBUG off: HTTPS only and cookies that never travel over plain http. The embedded run
# serves plain http on 127.0.0.1, where a redirect to https or a secure-only cookie would lock
# everyone out, so there both default to off. (HSTS is only ever sent over https.)
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not EMBEDDED)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = not EMBEDDED
    CSRF_COOKIE_SECURE = not EMBEDDED
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"  # links out (a lead's website) don't carry our URLs
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts, styles and everything else from this origin
# only, no inline script, handler or style attribute, nothing frames our pages. The views that
# need more say so themselves: the API docs (Swagger UI, smarketing/urls.py) and a message's
# HTML, framed by the outbox and the template preview (playbooks/email/views.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# --- Email ----------------------------------------------------------------------------
# Django's own settings from the environment. By default nothing leaves the machine: every
# message is kept in the app's outbox (playbooks.email.backends). EMAIL_BACKEND=smtp sends
# through EMAIL_HOST; an email service is an anymail backend ("anymail.backends.postmark.EmailBackend")
# with its ANYMAIL_* settings, and its webhooks (/email/webhooks/) suppress bounces and complaints.
EMAIL_BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "outbox": "playbooks.email.backends.KeptInOutbox",
}
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "outbox")
EMAIL_BACKEND = EMAIL_BACKENDS.get(EMAIL_BACKEND, EMAIL_BACKEND)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "smarketing@localhost")
ANYMAIL = {"WEBHOOK_SECRET": env_str("ANYMAIL_WEBHOOK_SECRET", "")}
# Where links in sent email point (tracking, unsubscribe): the address people reach the app at.
SITE_URL = env_str("SITE_URL", f"http://localhost:{env_int('PORT', 8000)}")
# The rules that always hold: promotional email per lead per 7 days, and whether marketing email
# needs the lead's recorded consent.
EMAIL_PROMOTIONAL_PER_WEEK = env_int("EMAIL_PROMOTIONAL_PER_WEEK", 3)
EMAIL_CONSENT_REQUIRED = env_bool("EMAIL_CONSENT_REQUIRED", True)
# How many runners the playbook tick starts each minute; they share the due work (SKIP LOCKED).
PLAYBOOK_RUNNERS = env_int("PLAYBOOK_RUNNERS", 2)
# Outgoing webhooks: host names or CIDRs they may call although private (on-premises receivers, tests).
WEBHOOK_ALLOWED_HOSTS = env_list("WEBHOOK_ALLOWED_HOSTS", [])
# The key that signs them (playbooks/outgoing/signing.py); empty: one derived from SECRET_KEY.
WEBHOOK_SIGNING_SECRET = env_str("WEBHOOK_SIGNING_SECRET", "")
# What a referrer is credited for each new lead their link brings (earned when it becomes a customer).
try:
    REFERRAL_CREDIT = Decimal(env_str("REFERRAL_CREDIT", "50.00")).quantize(Decimal("0.01"))
except InvalidOperation:
    REFERRAL_CREDIT = Decimal(-1)
if not REFERRAL_CREDIT.is_finite() or not 0 <= REFERRAL_CREDIT < 10**8:
    raise ImproperlyConfigured("REFERRAL_CREDIT must be an amount of 0 or more, like 50.00.")

# --- REST framework -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "smarketing.lib.schema.ProductAutoSchema",
    "EXCEPTION_HANDLER": "smarketing.lib.api.exception_handler",
    # Behind a load balancer, how many proxies add X-Forwarded-For (client IPs for rate limits).
    "NUM_PROXIES": env_int("NUM_PROXIES", 0) or None,
}
CAPTURE_RATE_LIMIT = env_int("CAPTURE_RATE_LIMIT", 30)  # public form posts a minute, per IP and form
SPECTACULAR_SETTINGS = {
    "TITLE": "smarketing API",
    "DESCRIPTION": "Leads, events, capture, the sales queue and reports.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the sidecar package, served locally: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Two choice sets share the field name "kind": name each one's schema component.
    "ENUM_NAME_OVERRIDES": {
        "ActivityKindEnum": "leads.models.sales.Activity.Kind",
        "ReasonKindEnum": "leads.models.sales.Reason.Kind",
        "EmailKindEnum": "playbooks.models.email.TemplateKind",
        "ListKindEnum": "playbooks.models.lists.LeadList.Kind",
    },
}

# --- Celery ---------------------------------------------------------------------------
# Without CELERY_BROKER_URL, kombu's filesystem transport: messages are files under var/,
# so `make run` needs no server. Production points it at Redis.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_FOLDER = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_FOLDER / "queue"),
        "data_folder_out": str(CELERY_BROKER_FOLDER / "queue"),
        "processed_folder": str(CELERY_BROKER_FOLDER / "processed"),
        "control_folder": str(CELERY_BROKER_FOLDER / "control"),  # kombu's default is ./control
        "store_processed": False,
        # kombu looks for new messages once a second by default, and a prefork worker takes as
        # many as it has free children: two a second would send a playbook's emails slowly.
        "polling_interval": 0.1,
    }
CELERY_TASK_IGNORE_RESULT = True  # progress and outcomes live in the database (leads.Job)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The task modules of the features inside apps (autodiscovery finds only <app>.tasks).
CELERY_IMPORTS = (
    "leads.capture.tasks",
    "leads.scoring.tasks",
    "leads.qualification.tasks",
    "leads.sales.tasks",
    "playbooks.email.tasks",
    "playbooks.engine.tasks",
    "playbooks.outgoing.tasks",
    "playbooks.referrals.tasks",
    "reports.pack.tasks",
    "reports.attribution.tasks",
)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# What apps built on leads/ add to the demo (leads.demo.simulation.Extension), by path: leads/
# never imports them.
DEMO_EXTENSIONS = ("playbooks.demo.PlaybooksDemo", "reports.demo.ReportsDemo")
# Tasks that read the stage history (leads.history): each is sent after every commit that adds
# to it, and beat runs it every minute in case a message was lost.
HISTORY_READERS = ("sales.handoffs_follow", "playbooks.enrolments_follow", "playbooks.referrals_follow")
# The weekly meeting pack (reports.pack): built for the week before by beat on this day and hour
# in TIME_ZONE, mailed to managers; its top-N lists and the attribution model of its campaigns.
MEETING_PACK_DAY = env_str("MEETING_PACK_DAY", "monday").strip().lower()
MEETING_PACK_HOUR = env_int("MEETING_PACK_HOUR", 8)
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
if MEETING_PACK_DAY not in DAY_NAMES or not 0 <= MEETING_PACK_HOUR <= 23:
    raise ImproperlyConfigured("MEETING_PACK_DAY is a weekday's English name and MEETING_PACK_HOUR 0 to 23.")
MEETING_PACK_TOP = env_int("MEETING_PACK_TOP", 5)
MEETING_PACK_ATTRIBUTION_MODEL = env_str("MEETING_PACK_ATTRIBUTION_MODEL", "linear")
# Background jobs (leads.jobs): a running job's lease, renewed by each committed chunk and, while
# the run commits one at least every JOB_STALL_SECONDS, between them; beat's sweep re-queues a
# job whose lease ran out (its worker died or hung) and sends again a queued job nobody took
# (the broker was down or lost it, or every worker is busy) after JOB_SEND_AGAIN_SECONDS, then
# twice as long after each send up to JOB_SEND_AGAIN_MAX_SECONDS; after JOB_MAX_ATTEMPTS claims
# a job fails.
JOB_LEASE_SECONDS = env_int("JOB_LEASE_SECONDS", 60)
JOB_STALL_SECONDS = env_int("JOB_STALL_SECONDS", 15 * 60)
JOB_SEND_AGAIN_SECONDS = env_int("JOB_SEND_AGAIN_SECONDS", 60)
JOB_SEND_AGAIN_MAX_SECONDS = env_int("JOB_SEND_AGAIN_MAX_SECONDS", 30 * 60)
JOB_SWEEP_SECONDS = env_int("JOB_SWEEP_SECONDS", 30)
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 5)
if not 0 < JOB_LEASE_SECONDS < JOB_STALL_SECONDS or not 0 <= JOB_SEND_AGAIN_SECONDS <= JOB_SEND_AGAIN_MAX_SECONDS:
    raise ImproperlyConfigured(
        "JOB_STALL_SECONDS must be longer than JOB_LEASE_SECONDS (a run is taken for hung only after its "
        "lease was renewed at least once), JOB_LEASE_SECONDS above 0, and JOB_SEND_AGAIN_MAX_SECONDS at "
        "least JOB_SEND_AGAIN_SECONDS (0: every sweep)."
    )
CELERY_BEAT_SCHEDULE = {
    "sales-handoffs-follow": {
        "task": "sales.handoffs_follow",
        "schedule": crontab(minute="*"),
    },
    "jobs-sweep": {
        "task": "jobs.sweep",
        "schedule": timedelta(seconds=JOB_SWEEP_SECONDS),
    },
    "sales-speed-to-lead": {
        "task": "sales.speed_to_lead",
        "schedule": crontab(minute="*"),
    },
    "scoring-decay-nightly": {
        "task": "scoring.decay_nightly",
        "schedule": crontab(hour=3, minute=15),
    },
    "playbooks-enrolments-follow": {
        "task": "playbooks.enrolments_follow",
        "schedule": crontab(minute="*"),
    },
    "playbooks-tick": {
        "task": "playbooks.tick",
        "schedule": crontab(minute="*"),
    },
    # The tick starts the runners; this one runs even if the tick's messages are lost.
    "playbooks-run-due": {
        "task": "playbooks.run_due",
        "schedule": crontab(minute="*"),
    },
    "email-outbox-flush": {
        "task": "email.outbox_flush",
        "schedule": crontab(minute="*"),
    },
    "outgoing-webhooks-due": {
        "task": "outgoing.webhooks_due",
        "schedule": crontab(minute="*"),
    },
    "sales-recycled-revisit": {
        "task": "sales.revisit_recycled",
        "schedule": crontab(minute="7"),
    },
    "playbooks-referrals-follow": {
        "task": "playbooks.referrals_follow",
        "schedule": crontab(minute="*"),
    },
    # The ROI rollups, a few seconds behind the rows they read (reports.attribution.services).
    "reports-rollups-update": {
        "task": "reports.rollups_update",
        "schedule": timedelta(seconds=15),
    },
    "reports-meeting-pack": {
        "task": "reports.meeting_pack_build",
        "schedule": crontab(day_of_week=MEETING_PACK_DAY[:3], hour=MEETING_PACK_HOUR, minute=0),
    },
    # Makes up a weekly build lost with its worker or its message (reports.pack.services).
    "reports-meeting-pack-catch-up": {
        "task": "reports.meeting_pack_catch_up",
        "schedule": crontab(minute=30),
    },
}

# A refused request (4xx) is one line, written by smarketing.middleware.RefusalLogMiddleware
# with the reason: django.request keeps only its 5xx records, which carry the traceback of a
# real crash, and django.security.csrf's line about a failed check would repeat it.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"server_errors_only": {"()": "smarketing.lib.logs.ServerErrorsOnly"}},
    "formatters": {"plain": {"()": "smarketing.lib.logs.RefusalFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "django.request": {"filters": ["server_errors_only"]},
        "django.security.csrf": {"filters": ["server_errors_only"]},
        "axes": {"level": "WARNING"},  # each failure and lockout; not its bookkeeping on every login
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
