"""Settings: the only place that reads the environment.

Besides the process environment: a `.env` file in the working directory (the environment
wins over it), and for every variable vidgate reads, `NAME_FILE` naming a file that holds
its value (Docker and Kubernetes secrets are mounted as files).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType


class SettingsError(ValueError):
    """An environment variable has a value vidgate cannot use (the message names it)."""


@dataclass(frozen=True)
class EmulatorSettings:
    """How the emulators misbehave (`VIDGATE_EMULATE_*`); see `service.sandbox.emulators.knobs`."""

    latency: float = 3.0
    fail_rate: float = 0.0
    error_rate: float = 0.0
    webhook_loss: float = 0.0
    webhook_duplicate: float = 0.0
    webhook_delay: float = 0.0
    webhook_reorder: float = 0.0
    stall_rate: float = 0.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> EmulatorSettings:
        def chance(name: str) -> float:
            return _float(env, f"VIDGATE_EMULATE_{name}", 0.0, 0.0, 1.0)

        return cls(
            latency=_float(env, "VIDGATE_EMULATE_LATENCY", 3.0, 0.0, 3600.0),
            fail_rate=chance("FAIL_RATE"),
            error_rate=chance("ERROR_RATE"),
            webhook_loss=chance("WEBHOOK_LOSS"),
            webhook_duplicate=chance("WEBHOOK_DUPLICATE"),
            webhook_delay=_float(env, "VIDGATE_EMULATE_WEBHOOK_DELAY", 0.0, 0.0, 3600.0),
            webhook_reorder=chance("WEBHOOK_REORDER"),
            stall_rate=chance("STALL_RATE"),
        )


# Provider name → the prefix of its variables (`VIDGATE_<PREFIX>_BASE_URL`, credentials).
ENV_PREFIXES = MappingProxyType(
    {
        "veo": "GEMINI",
        "vertex-veo": "VERTEX",
        "fal": "FAL",
        "replicate": "REPLICATE",
        "minimax": "MINIMAX",
        "luma": "LUMA",
        "runway": "RUNWAY",
        "sora": "OPENAI",
        "kling": "KLING",
        "seedance": "ARK",
    }
)


@dataclass(frozen=True)
class ProviderSettings:
    """Upstream credentials; a provider is enabled when its credential is set.

    `base_urls` maps a provider name to a `VIDGATE_<PREFIX>_BASE_URL` override, in the form its
    adapter's `base_url` takes (Replicate, Runway, Sora: with `/v1`; Luma: with
    `/dream-machine/v1`; Seedance: with `/api/v3`; the others: the bare origin).
    """

    gemini_api_key: str | None = None
    vertex_api_key: str | None = None
    vertex_project: str | None = None
    vertex_location: str = "us-central1"
    fal_key: str | None = None
    fal_user_id: str | None = None
    fal_jwks_url: str | None = None
    replicate_api_token: str | None = None
    replicate_webhook_secret: str | None = None
    minimax_api_key: str | None = None
    luma_api_key: str | None = None
    runway_api_key: str | None = None
    openai_api_key: str | None = None
    openai_webhook_secret: str | None = None
    kling_access_key: str | None = None
    kling_secret_key: str | None = None
    ark_api_key: str | None = None
    base_urls: Mapping[str, str] = field(default_factory=dict)

    def configured(self) -> frozenset[str]:
        """The providers whose credentials are set."""
        credentials = {
            "veo": self.gemini_api_key,
            "vertex-veo": self.vertex_api_key,
            "fal": self.fal_key,
            "replicate": self.replicate_api_token,
            "minimax": self.minimax_api_key,
            "luma": self.luma_api_key,
            "runway": self.runway_api_key,
            "sora": self.openai_api_key,
            "kling": self.kling_access_key,
            "seedance": self.ark_api_key,
        }
        return frozenset(name for name, credential in credentials.items() if credential)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ProviderSettings:
        def value(name: str) -> str | None:
            return (env.get(f"VIDGATE_{name}") or "").strip() or None

        _together(env, "VIDGATE_FAL_KEY", "VIDGATE_FAL_USER_ID")
        _together(env, "VIDGATE_KLING_ACCESS_KEY", "VIDGATE_KLING_SECRET_KEY")
        _together(env, "VIDGATE_KLING_SECRET_KEY", "VIDGATE_KLING_ACCESS_KEY")
        _together(env, "VIDGATE_VERTEX_API_KEY", "VIDGATE_VERTEX_PROJECT")
        overrides = {
            name: _url(env, f"VIDGATE_{prefix}_BASE_URL") for name, prefix in ENV_PREFIXES.items()
        }
        return cls(
            gemini_api_key=value("GEMINI_API_KEY"),
            vertex_api_key=value("VERTEX_API_KEY"),
            vertex_project=value("VERTEX_PROJECT"),
            vertex_location=_location(env, "VIDGATE_VERTEX_LOCATION"),
            fal_key=value("FAL_KEY"),
            fal_user_id=value("FAL_USER_ID"),
            fal_jwks_url=_url(env, "VIDGATE_FAL_JWKS_URL"),
            replicate_api_token=value("REPLICATE_API_TOKEN"),
            replicate_webhook_secret=_webhook_secret(env, "VIDGATE_REPLICATE_WEBHOOK_SECRET"),
            minimax_api_key=value("MINIMAX_API_KEY"),
            luma_api_key=value("LUMA_API_KEY"),
            runway_api_key=value("RUNWAY_API_KEY"),
            openai_api_key=value("OPENAI_API_KEY"),
            openai_webhook_secret=_webhook_secret(env, "VIDGATE_OPENAI_WEBHOOK_SECRET"),
            kling_access_key=value("KLING_ACCESS_KEY"),
            kling_secret_key=value("KLING_SECRET_KEY"),
            ark_api_key=value("ARK_API_KEY"),
            base_urls={name: url for name, url in overrides.items() if url},
        )


@dataclass(frozen=True)
class StorageSettings:
    """Where outputs, thumbnails and uploaded inputs live (`VIDGATE_STORAGE_URL`).

    `url` None: the data dir, exactly as before object storage existed. `s3://bucket/prefix`:
    an S3-compatible bucket, at `endpoint_url` for servers other than AWS (MinIO, moto, R2 …).
    """

    url: str | None = None
    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    region: str = "us-east-1"
    # Content requests answer with a redirect to a presigned URL of the bucket, valid this long.
    content_redirect: bool = False
    redirect_ttl: float = 300.0

    @property
    def is_s3(self) -> bool:
        return (self.url or "").startswith("s3://")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StorageSettings:
        url = _storage_url(env, "VIDGATE_STORAGE_URL")
        redirect = _bool(env, "VIDGATE_CONTENT_REDIRECT", False)
        if redirect and not (url or "").startswith("s3://"):
            raise SettingsError("VIDGATE_CONTENT_REDIRECT needs an s3:// VIDGATE_STORAGE_URL")
        return cls(
            url=url,
            endpoint_url=_url(env, "VIDGATE_S3_ENDPOINT_URL"),
            access_key_id=_text(env, "AWS_ACCESS_KEY_ID"),
            secret_access_key=_text(env, "AWS_SECRET_ACCESS_KEY"),
            session_token=_text(env, "AWS_SESSION_TOKEN"),
            region=_text(env, "AWS_REGION") or _text(env, "AWS_DEFAULT_REGION") or cls.region,
            content_redirect=redirect,
            redirect_ttl=float(_int(env, "VIDGATE_CONTENT_REDIRECT_TTL_S", 300, 1, 7 * 86400)),
        )


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("var")
    database_url: str | None = None
    database_schema: str = "public"
    # PostgreSQL: one pool per process, shared by the event store and every view: connections
    # kept open, and how many more may open under load (at most their sum per process, plus
    # the workers' leader lock). Threads beyond it wait for a connection (group commit makes
    # one write transaction serve many submits, so few are needed).
    db_pool_size: int = 2
    db_max_overflow: int = 14
    # The connections' `application_name` (pg_stat_activity); default `vidgate-<role>-<pid>`.
    db_application_name: str | None = None
    # Aggregates (jobs …) kept in memory between reads; a read fetches only newer events.
    aggregate_cache: int = 10_000
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str | None = None
    bootstrap_api_key: str | None = None
    run_workers: bool = True
    max_body_bytes: int = 25 * 1024 * 1024
    # Slow clients: a request's headers must arrive within `header_timeout` seconds of the
    # connection (or of its first byte, on a kept-alive one) and its body within
    # `body_timeout` of the headers; past `max_connections` open ones, new ones get a 503.
    header_timeout: float = 10.0
    body_timeout: float = 60.0
    max_connections: int = 2048
    # While requests wait on jobs, how often the process looks for events other processes
    # wrote (its own saves wake the waiters at once).
    watch_interval: float = 0.5
    # An event stream (Server-Sent Events) sends a comment this often while nothing happens,
    # so that proxies keep its connection open.
    stream_heartbeat: float = 15.0
    # How soon a worker notices events other processes wrote, on SQLite (one `PRAGMA
    # data_version` per interval; PostgreSQL notifies at once). Its own saves wake it.
    follow_interval: float = 0.05
    # How often each worker loop looks for work nobody woke it for: a safety net only.
    idle_interval: float = 5.0
    local_concurrency: int = 2
    # Upstream provider → most unfinished dispatched jobs at once; absent: no cap.
    provider_concurrency: Mapping[str, int] = field(default_factory=dict)
    local_frame_delay: float = 0.0
    # The whole download of an input image (a host may drip it a byte at a time).
    input_fetch_timeout: float = 30.0
    # The whole copy of one upstream output by the mirror, per attempt.
    download_timeout: float = 600.0
    poll_after_ms: int = 1000
    public_url: str | None = None
    # How long a signed output link (the compatible surfaces' video and thumbnail URLs,
    # fetched without a key) stays valid; GET the job again for a fresh one.
    output_link_ttl: int = 3 * 24 * 3600
    allowed_private_networks: str = ""
    delivery_lease_seconds: float = 60.0
    # Leaderless workers (PostgreSQL): how long a claimed job stays a worker's without its
    # renewal, and the longest one upstream submit may take (shorter: see claiming.py).
    dispatch_lease: float = 60.0
    submit_timeout: float = 20.0
    # A submit without an answer (its worker died, froze, or the answer was lost) is left
    # to that worker this long; then it is looked up where the upstream can be asked, and
    # otherwise failed (`upstream_outcome_unknown`) unless `resubmit_unknown`: submitted
    # again, at the risk of a second paid render.
    submit_outcome_wait: float = 60.0
    resubmit_unknown: bool = False
    worker_metrics_port: int = 0  # a worker process serves /metrics here (0: it does not)
    # Poll-only upstreams: the earliest first status call after dispatch, and the shortest
    # gap between two (the schedule itself follows the model's typical render time).
    poll_first: float = 1.0
    # Seconds a render usually takes, for every model (None: each model's catalog figure,
    # in sandbox mode the emulators' latency): where polls start and estimates aim.
    typical_render: float | None = None
    poll_grace: float = 60.0  # webhook upstreams: first fallback poll after dispatch
    poll_cap: float = 120.0  # the longest wait between two status calls
    job_deadline: float = 3600.0  # an upstream job not finished by then fails (timeout)
    credits_required: bool = False  # every tenant prepaid (else: only those with an account)
    sandbox: bool = False
    sandbox_port: int = 0
    sandbox_url: str | None = None  # emulators run elsewhere (`vidgate emulate`)
    emulate: EmulatorSettings = field(default_factory=EmulatorSettings)
    providers: ProviderSettings = field(default_factory=ProviderSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)

    @property
    def base_url(self) -> str:
        """Where clients reach this gateway (links in webhook payloads)."""
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def uses_postgres(self) -> bool:
        return self.database_url is not None

    @property
    def pg_application_name(self) -> str:
        """Names this process's connections in `pg_stat_activity` (to count them per process)."""
        if self.db_application_name:
            return self.db_application_name[:63]
        role = "serve" if self.run_workers else "web"
        return f"vidgate-{role}-{os.getpid()}"

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, env_file: Path | None = None
    ) -> Settings:
        """Settings from `environ` (default: the process environment over `./.env`) and
        `env_file` under it; then every `NAME_FILE` becomes `NAME`."""
        if environ is None:
            environ, env_file = os.environ, env_file or Path(".env")
        env = with_secret_files(with_env_file(environ, env_file))
        url = env.get("VIDGATE_DATABASE_URL") or None
        if url is not None and not url.startswith(("postgresql://", "postgres://")):
            raise SettingsError("VIDGATE_DATABASE_URL must start with postgresql://")
        return cls(
            data_dir=Path(env.get("VIDGATE_DATA_DIR") or "var"),
            database_url=url,
            database_schema=env.get("VIDGATE_DATABASE_SCHEMA") or "public",
            db_pool_size=_int(env, "VIDGATE_DB_POOL_SIZE", 2, 1, 100),
            db_max_overflow=_int(env, "VIDGATE_DB_MAX_OVERFLOW", 14, 0, 1000),
            db_application_name=env.get("VIDGATE_DB_APPLICATION_NAME") or None,
            aggregate_cache=_int(env, "VIDGATE_AGGREGATE_CACHE", 10_000, 0, 10_000_000),
            host=env.get("HOST") or "127.0.0.1",
            port=_int(env, "PORT", 8000, 1, 65535),
            secret_key=env.get("VIDGATE_SECRET_KEY") or None,
            bootstrap_api_key=_bootstrap_key(env),
            run_workers=_bool(env, "VIDGATE_RUN_WORKERS", True),
            max_body_bytes=_int(env, "VIDGATE_MAX_BODY_BYTES", 25 * 1024 * 1024, 1024, 2**31),
            header_timeout=_float(env, "VIDGATE_HEADER_TIMEOUT_S", 10.0, 0.1, 3600.0),
            body_timeout=_float(env, "VIDGATE_BODY_TIMEOUT_S", 60.0, 0.1, 3600.0),
            max_connections=_int(env, "VIDGATE_MAX_CONNECTIONS", 2048, 1, 1_000_000),
            watch_interval=_int(env, "VIDGATE_WATCH_INTERVAL_MS", 500, 1, 60_000) / 1000,
            stream_heartbeat=_float(env, "VIDGATE_STREAM_HEARTBEAT_S", 15.0, 0.1, 3600.0),
            follow_interval=_int(env, "VIDGATE_FOLLOW_INTERVAL_MS", 50, 1, 60_000) / 1000,
            idle_interval=_int(env, "VIDGATE_IDLE_INTERVAL_MS", 5000, 1, 600_000) / 1000,
            local_concurrency=_int(env, "VIDGATE_LOCAL_CONCURRENCY", 2, 1, 64),
            provider_concurrency=_caps(env, "VIDGATE_PROVIDER_CONCURRENCY"),
            local_frame_delay=_int(env, "VIDGATE_LOCAL_FRAME_DELAY_MS", 0, 0, 10_000) / 1000,
            input_fetch_timeout=_int(env, "VIDGATE_INPUT_FETCH_TIMEOUT_MS", 30_000, 10, 600_000)
            / 1000,
            download_timeout=float(_int(env, "VIDGATE_DOWNLOAD_TIMEOUT_S", 600, 1, 86_400)),
            poll_after_ms=_int(env, "VIDGATE_POLL_AFTER_MS", 1000, 0, 600_000),
            public_url=_url(env, "VIDGATE_PUBLIC_URL"),
            output_link_ttl=_int(env, "VIDGATE_OUTPUT_LINK_TTL_S", 3 * 24 * 3600, 60, 30 * 86400),
            allowed_private_networks=_networks(env, "VIDGATE_ALLOWED_PRIVATE_NETWORKS"),
            delivery_lease_seconds=float(_int(env, "VIDGATE_DELIVERY_LEASE_SECONDS", 60, 1, 3600)),
            **_dispatch_lease(env),
            submit_outcome_wait=_float(env, "VIDGATE_SUBMIT_OUTCOME_WAIT_S", 60.0, 0.0, 86_400.0),
            resubmit_unknown=_bool(env, "VIDGATE_RESUBMIT_UNKNOWN", False),
            worker_metrics_port=_int(env, "VIDGATE_WORKER_METRICS_PORT", 0, 0, 65535),
            poll_first=_int(env, "VIDGATE_POLL_FIRST_MS", 1000, 10, 3_600_000) / 1000,
            typical_render=(
                _float(env, "VIDGATE_TYPICAL_RENDER_S", 0.0, 0.0, 86_400.0)
                if env.get("VIDGATE_TYPICAL_RENDER_S")
                else None
            ),
            poll_grace=_int(env, "VIDGATE_POLL_GRACE_MS", 60_000, 10, 3_600_000) / 1000,
            poll_cap=_int(env, "VIDGATE_POLL_CAP_MS", 120_000, 10, 3_600_000) / 1000,
            job_deadline=float(_int(env, "VIDGATE_JOB_DEADLINE_S", 3600, 1, 7 * 86400)),
            credits_required=_bool(env, "VIDGATE_CREDITS_REQUIRED", False),
            sandbox=_bool(env, "VIDGATE_SANDBOX", False),
            sandbox_port=_int(env, "VIDGATE_SANDBOX_PORT", 0, 0, 65535),
            sandbox_url=_url(env, "VIDGATE_SANDBOX_URL"),
            emulate=EmulatorSettings.from_env(env),
            providers=ProviderSettings.from_env(env),
            storage=StorageSettings.from_env(env),
        )


def _dispatch_lease(env: Mapping[str, str]) -> dict[str, float]:
    """The lease must outlast a submit by a margin: a worker that is not frozen has its
    answer before another worker may claim the job."""
    lease = _float(env, "VIDGATE_DISPATCH_LEASE_S", 60.0, 1.0, 3600.0)
    submit = _float(env, "VIDGATE_SUBMIT_TIMEOUT_S", min(20.0, lease / 3), 0.1, 600.0)
    if submit > lease / 2:
        raise SettingsError(
            f"VIDGATE_SUBMIT_TIMEOUT_S ({submit:g}) must be at most half of "
            f"VIDGATE_DISPATCH_LEASE_S ({lease:g})"
        )
    return {"dispatch_lease": lease, "submit_timeout": submit}


def with_env_file(environ: Mapping[str, str], env_file: Path | None) -> Mapping[str, str]:
    """`environ` over the variables of `env_file` (a `.env`), when there is one."""
    if env_file is None or not env_file.is_file():
        return environ
    from dotenv import dotenv_values

    loaded = {name: value for name, value in dotenv_values(env_file).items() if value is not None}
    return {**loaded, **environ}


# The AWS variables vidgate reads; AWS's own `…_FILE` ones (AWS_SHARED_CREDENTIALS_FILE,
# AWS_WEB_IDENTITY_TOKEN_FILE …) are paths for the client, not values to read here.
AWS_NAMES = frozenset(
    {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION"}
    | {"AWS_DEFAULT_REGION"}
)


def with_secret_files(env: Mapping[str, str]) -> Mapping[str, str]:
    """`NAME_FILE=/path` sets `NAME` (of vidgate's and the AWS variables) to that file's
    content, without the trailing newline editors add; setting both is refused."""
    resolved = dict(env)
    for name, path in env.items():
        target = name.removesuffix("_FILE")
        ours = target.startswith("VIDGATE_") or target in AWS_NAMES
        if target == name or not ours or not path:
            continue
        if env.get(target):
            raise SettingsError(f"set {target} or {name}, not both")
        try:
            resolved[target] = Path(path).read_text().rstrip("\r\n")
        except OSError as error:
            raise SettingsError(f"{name}: cannot read {path!r} ({error.strerror})") from None
    return resolved


def _text(env: Mapping[str, str], name: str) -> str | None:
    return (env.get(name) or "").strip() or None


def _storage_url(env: Mapping[str, str], name: str) -> str | None:
    """`file:///absolute/dir` or `s3://bucket[/prefix]`; unset: the data dir."""
    raw = (env.get(name) or "").strip().rstrip("/")
    if not raw:
        return None
    if raw.startswith("file:///"):
        return raw
    bucket = raw.removeprefix("s3://").partition("/")[0]
    if not raw.startswith("s3://") or not bucket:
        raise SettingsError(f"{name} must be file:///absolute/dir or s3://bucket/prefix")
    return raw


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not low <= value <= high:  # also refuses nan
        raise SettingsError(f"{name} must be between {low:g} and {high:g}, got {raw}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _bootstrap_key(env: Mapping[str, str]) -> str | None:
    key = env.get("VIDGATE_BOOTSTRAP_API_KEY") or None
    if key is not None and (len(key) < 8 or any(ch.isspace() for ch in key)):
        raise SettingsError("VIDGATE_BOOTSTRAP_API_KEY must be 8+ characters without spaces")
    return key


def _url(env: Mapping[str, str], name: str) -> str | None:
    raw = (env.get(name) or "").strip().rstrip("/")
    if raw and not raw.startswith(("http://", "https://")):
        raise SettingsError(f"{name} must be an http(s) URL, got {raw!r}")
    return raw or None


def _networks(env: Mapping[str, str], name: str) -> str:
    import ipaddress

    raw = env.get(name) or ""
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise SettingsError(f"{name}: {entry!r} is not a network like 127.0.0.0/8") from None
    return raw


def _caps(env: Mapping[str, str], name: str) -> Mapping[str, int]:
    """`fal=20,kling=5`: the most unfinished dispatched jobs per upstream provider."""
    caps: dict[str, int] = {}
    for entry in filter(None, (part.strip() for part in (env.get(name) or "").split(","))):
        provider, _, raw = (piece.strip() for piece in entry.partition("="))
        if provider not in ENV_PREFIXES:
            known = ", ".join(sorted(ENV_PREFIXES))
            raise SettingsError(
                f"{name}: {entry!r} names no upstream provider; known: {known} "
                "(local renders: VIDGATE_LOCAL_CONCURRENCY)"
            )
        if provider in caps:
            raise SettingsError(f"{name}: {entry!r} repeats provider {provider!r}")
        if not raw.isdigit() or not 1 <= int(raw) <= 100_000:
            raise SettingsError(
                f"{name}: {entry!r} must be PROVIDER=N with N a whole number from 1 to 100000"
            )
        caps[provider] = int(raw)
    return MappingProxyType(caps)


def _together(env: Mapping[str, str], name: str, needed: str) -> None:
    if (env.get(name) or "").strip() and not (env.get(needed) or "").strip():
        raise SettingsError(f"{needed} must be set along with {name}")


def _webhook_secret(env: Mapping[str, str], name: str) -> str | None:
    raw = (env.get(name) or "").strip()
    if raw and not raw.startswith("whsec_"):
        raise SettingsError(f"{name} must be the whsec_… signing secret, got {raw[:6]!r}…")
    return raw or None


def _location(env: Mapping[str, str], name: str) -> str:
    raw = (env.get(name) or "").strip() or "us-central1"
    if not raw.replace("-", "").isalnum() or not raw.islower():
        raise SettingsError(f"{name} must be a region like us-central1 or global, got {raw!r}")
    return raw


@dataclass(frozen=True)
class ClientSettings:
    """Where the `vidgate videos …` client commands send their requests, and with which key."""

    url: str = "http://127.0.0.1:8000"
    api_key: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ClientSettings:
        env = os.environ if environ is None else environ
        key = (env.get("VIDGATE_API_KEY") or "").strip() or None
        return cls(url=_url(env, "VIDGATE_URL") or cls.url, api_key=key)
