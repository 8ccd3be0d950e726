"""One settings class for every service. Embedded defaults when no URLs are set."""

from __future__ import annotations

from collections.abc import MutableMapping
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting of the API, the workers and the CLI, read from the environment; unset URLs fall
    back to the embedded defaults under ``ICL_IT_HOME``."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    home: Path = Field(
        Path("var"),
        validation_alias="ICL_IT_HOME",
        description="Where embedded state lives (SQLite files, artifacts, model cache).",
    )
    database_url: str | None = Field(None, validation_alias="DATABASE_URL")
    redis_url: str | None = Field(None, validation_alias="REDIS_URL")
    artifact_url: str | None = Field(None, validation_alias="ARTIFACT_URL")
    model_cache: Path | None = Field(None, validation_alias="ICL_IT_MODEL_CACHE")
    model_dirs: str = Field(
        "",
        validation_alias="ICL_IT_MODEL_DIRS",
        description="os.pathsep-separated directories a spec may load local models from.",
    )
    hub_models: str = Field(
        "",
        validation_alias="ICL_IT_HUB_MODELS",
        description="Comma-separated fnmatch patterns of Hugging Face Hub ids a spec may name "
        "directly (e.g. 'meta-llama/*,HuggingFaceTB/*'), matched per '/'-separated part ('*' "
        "never crosses a '/'; '*/*' is any org/name id); empty (the default of a shared "
        "server): only the catalog's names and local directories under ICL_IT_MODEL_DIRS. "
        "The single-user local stack (icl-it up, icl-it run, make demo) sets '*/*' when it is "
        "unset. Checked at submit and by the worker; trust_remote_code is never enabled.",
    )
    hub_datasets: str = Field(
        "",
        validation_alias="ICL_IT_HUB_DATASETS",
        description="Patterns (as ICL_IT_HUB_MODELS) of Hugging Face dataset ids a spec's "
        "data.hf may name, read with datasets.load_dataset (from the datasets cache when "
        "HF_HUB_OFFLINE=1); empty (the default of a shared server): none. The single-user "
        "local stack sets '*,*/*' when it is unset.",
    )
    data_dirs: str = Field(
        "",
        validation_alias="ICL_IT_DATA_DIRS",
        description="os.pathsep-separated directories a spec's data.hf may read a "
        "datasets save_to_disk directory from (by absolute path).",
    )
    max_model_params: float | None = Field(
        None,
        gt=0,
        validation_alias="ICL_IT_MAX_MODEL_PARAMS",
        description="Largest model, in parameters (e.g. 14e9), a worker loads; counted from "
        "the model's config before any weight is read. Without it, the weights must fit "
        "in the device's free memory.",
    )
    port: int = Field(8000, validation_alias="ICL_IT_PORT")
    host: str = Field("127.0.0.1", validation_alias="ICL_IT_HOST")
    device: str | None = Field(None, validation_alias="ICL_IT_DEVICE")
    task_time_limit_s: int = Field(4 * 3600, validation_alias="ICL_IT_TASK_TIME_LIMIT")
    visibility_timeout_s: int | None = Field(
        None,
        validation_alias="ICL_IT_VISIBILITY_TIMEOUT",
        description="Redis broker: seconds before an unacknowledged task is redelivered. "
        "Must exceed every task time limit (default: the GPU task time limit + 1 h).",
    )
    heartbeat_timeout_s: float = Field(
        120.0,
        gt=0,
        validation_alias="ICL_IT_HEARTBEAT_TIMEOUT",
        description="Seconds without a heartbeat after which the reconciler takes a running "
        "run away from its worker (the worker beats every quarter of this).",
    )
    max_attempts: int = Field(
        3,
        ge=1,
        validation_alias="ICL_IT_MAX_ATTEMPTS",
        description="Deliveries of one run (worker lost or silent) before it is failed.",
    )
    reconcile_every_s: float = Field(
        30.0,
        ge=0,
        validation_alias="ICL_IT_RECONCILE_EVERY",
        description="Seconds between reconciler passes in each worker's main process "
        "(0: only at worker start).",
    )
    redispatch_after_s: float = Field(
        60.0,
        ge=0,
        validation_alias="ICL_IT_REDISPATCH_AFTER",
        description="A queued run (or an extracted run awaiting analysis) whose task was sent "
        "this long ago is sent again when its queue holds fewer messages than such runs.",
    )
    allow_anonymous: bool = Field(
        False,
        validation_alias="ICL_IT_ALLOW_ANONYMOUS",
        description="Accept requests without an API key (owner 'local'); a warning is "
        "logged at start. Off by default: every request needs a key (icl-it keys create).",
    )
    rate_limit_per_min: int = Field(
        600,
        ge=1,
        validation_alias="ICL_IT_RATE_LIMIT",
        description="Requests per minute per API key, counted in Redis across all API "
        "replicas when REDIS_URL is set (else in the one API process); more is a 429.",
    )
    rate_burst: int = Field(
        60,
        ge=1,
        validation_alias="ICL_IT_RATE_BURST",
        description="Requests a key may make in any one second.",
    )
    rate_limit_anonymous_per_min: int = Field(
        60,
        ge=1,
        validation_alias="ICL_IT_RATE_LIMIT_ANONYMOUS",
        description="Requests per minute per client address without a valid key (none, "
        "unknown or revoked: the 401s); more is a 429.",
    )
    max_active_experiments: int = Field(
        20,
        ge=1,
        validation_alias="ICL_IT_MAX_ACTIVE_EXPERIMENTS",
        description="Experiments per API key that may be queued or running at once; a "
        "submission over it is a 429.",
    )
    max_datasets: int = Field(
        100,
        ge=0,
        validation_alias="ICL_IT_MAX_DATASETS",
        description="Uploaded datasets an API key may keep; an upload over it is a 409 "
        "(DELETE /v1/datasets/{id} frees one).",
    )
    max_dataset_bytes: int = Field(
        100 * 1024 * 1024,
        ge=0,
        validation_alias="ICL_IT_MAX_DATASET_BYTES",
        description="Bytes of uploaded datasets an API key may keep, all together.",
    )
    broker_prefix: str = Field(
        "icl_it:",
        validation_alias="ICL_IT_BROKER_PREFIX",
        description="Prefix of every Redis key the broker writes (one Redis, many stacks).",
    )
    # -- operations: logs, metrics, shutdown (services/common/runtime/observability.py) ----------
    log_format: str = Field(
        "auto",
        pattern="^(auto|json|text)$",
        validation_alias="ICL_IT_LOG_FORMAT",
        description="json (one object per line), text, or auto: text on a terminal, else json.",
    )
    log_level: str = Field("INFO", validation_alias="ICL_IT_LOG_LEVEL")
    access_log: bool = Field(
        False,
        validation_alias="ICL_IT_ACCESS_LOG",
        description="One log event per HTTP request (route, status, duration, experiment id, "
        "the query string with key-like values redacted). Off unless asked for.",
    )
    metrics_port: int | None = Field(
        None,
        validation_alias="ICL_IT_METRICS_PORT",
        description="Workers: serve Prometheus /metrics of all pool processes on this port. "
        "API: serve /metrics without a key on ICL_IT_METRICS_HOST:this port, for a "
        "Prometheus on a private network (on the API's own port /metrics needs an admin key "
        "or ICL_IT_METRICS_TOKEN). Multi-process values are kept in "
        "PROMETHEUS_MULTIPROC_DIR (a temporary directory when unset).",
    )
    metrics_token: str | None = Field(
        None,
        validation_alias="ICL_IT_METRICS_TOKEN",
        description="API: a bearer token that may read /metrics on the API port (as may "
        "admin API keys); without a key or this token /metrics is a 401.",
    )
    metrics_host: str = Field(
        "127.0.0.1",
        validation_alias="ICL_IT_METRICS_HOST",
        description="API: the address of the separate, key-less /metrics listener that "
        "ICL_IT_METRICS_PORT opens (0.0.0.0 in a container whose port is not published).",
    )
    heartbeat_file: Path | None = Field(
        None,
        validation_alias="ICL_IT_HEARTBEAT_FILE",
        description="Workers: a file the worker's main loop touches every 10 s, for "
        "container healthchecks and liveness probes.",
    )
    soft_shutdown_s: float = Field(
        0.0,
        ge=0,
        validation_alias="ICL_IT_SOFT_SHUTDOWN",
        description="Workers: on a cold shutdown (SIGQUIT, or SIGTERM with "
        "REMAP_SIGTERM=SIGQUIT), seconds running tasks get to finish before they are "
        "stopped and put back on the queue. Keep the orchestrator's grace period above it.",
    )

    @property
    def db_url(self) -> str:
        """DATABASE_URL (``postgresql://`` gets psycopg) or SQLite in the home directory."""
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://") :]
            return url
        return f"sqlite:///{(self.home / 'icl_it.db').resolve()}"

    @property
    def broker_url(self) -> str:
        """REDIS_URL, or Celery's SQLAlchemy transport on SQLite under the home directory."""
        if self.redis_url:
            return self.redis_url
        return f"sqla+sqlite:///{(self.home / 'broker.db').resolve()}"

    @property
    def artifacts(self) -> str:
        """The artifact store URL: ARTIFACT_URL or the home directory's ``artifacts`` folder."""
        return self.artifact_url or str((self.home / "artifacts").resolve())

    @property
    def model_cache_dir(self) -> Path:
        """Where the embedded model is prepared: ICL_IT_MODEL_CACHE or ``<home>/models``."""
        return (self.model_cache or self.home / "models").resolve()

    @property
    def allowed_model_dirs(self) -> list[Path]:
        """The resolved directories a spec may load a local model from (ICL_IT_MODEL_DIRS)."""
        import os

        return [Path(p).resolve() for p in self.model_dirs.split(os.pathsep) if p]

    @property
    def allowed_data_dirs(self) -> list[Path]:
        """The resolved directories data.hf may name a saved dataset in (ICL_IT_DATA_DIRS)."""
        import os

        return [Path(p).resolve() for p in self.data_dirs.split(os.pathsep) if p]


# What a single-user stack on one's own machine allows by default (ICL_IT_HUB_MODELS,
# ICL_IT_HUB_DATASETS): any org/name model id; any dataset id (many are one part: imdb).
LOCAL_HUB_MODELS = "*/*"
LOCAL_HUB_DATASETS = "*,*/*"


def apply_local_defaults(env: MutableMapping[str, str]) -> None:
    """The defaults of a single-user local stack (``icl-it up``, ``icl-it run``, ``make
    demo``), set in ``env`` where the user has not: any Hugging Face Hub id (org/name) may be
    named, from the Hub cache (HF_HOME / HF_HUB_CACHE) or downloaded unless HF_HUB_OFFLINE=1,
    and any Hugging Face dataset id in data.hf. A shared server keeps the allow-list default (ICL_IT_HUB_MODELS empty)."""
    env.setdefault("ICL_IT_HUB_MODELS", LOCAL_HUB_MODELS)
    env.setdefault("ICL_IT_HUB_DATASETS", LOCAL_HUB_DATASETS)


@lru_cache
def get_settings() -> Settings:
    """The settings, read from the environment once per process."""
    return Settings()
