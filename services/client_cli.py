"""``icl-it submit / status / results``: the HTTP API through the generated client.

The client is ``clients/python/icl_it_client``, generated from the committed openapi.json
by openapi-python-client (``make client``); nothing here talks HTTP by hand. The API
is at ``$ICL_IT_URL`` (default http://127.0.0.1:8000); ``$ICL_IT_API_KEY``, if set, is
sent as a Bearer token. ``services.demo`` uses the same functions.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

CLIENT_DIR = Path(__file__).resolve().parents[1] / "clients" / "python"
if CLIENT_DIR.is_dir() and str(CLIENT_DIR) not in sys.path:
    # A fresh clone imports the committed client from the tree; no install step needed.
    sys.path.insert(0, str(CLIENT_DIR))

from icl_it_client import AuthenticatedClient, Client  # noqa: E402
from icl_it_client.api.experiments import (  # noqa: E402
    get_experiment as get_experiment_op,
)
from icl_it_client.api.experiments import (  # noqa: E402
    get_report as get_report_op,
)
from icl_it_client.api.experiments import (  # noqa: E402
    get_results as get_results_op,
)
from icl_it_client.api.experiments import (  # noqa: E402
    submit_experiment as submit_experiment_op,
)
from icl_it_client.api.health import readyz as readyz_op  # noqa: E402
from icl_it_client.models import Experiment, ExperimentSpec, Problem  # noqa: E402
from icl_it_client.types import UNSET, Response  # noqa: E402

DEFAULT_URL = "http://127.0.0.1:8000"
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
POLL_INTERVAL_S = 1.0

ApiClient = Client | AuthenticatedClient


class ApiError(Exception):
    """An HTTP answer other than the one expected, rendered from its problem document."""

    def __init__(self, status: int, title: str, detail: str | None = None, errors: Any = ()):
        self.status, self.title, self.detail = status, title, detail
        self.errors = list(errors)
        super().__init__(self.render())

    @classmethod
    def from_response(cls, response: Response[Any]) -> ApiError:
        status = int(response.status_code)
        parsed = response.parsed
        if not isinstance(parsed, Problem):
            try:
                body = json.loads(response.content)
                parsed = Problem.from_dict(body) if isinstance(body, dict) else None
            except (ValueError, KeyError, TypeError):
                parsed = None
        if parsed is None:
            text = response.content.decode(errors="replace").strip()
            return cls(status, response.status_code.phrase, text[:500] or None)
        errors = [(".".join(str(p) for p in item.loc), item.msg) for item in (parsed.errors or [])]
        detail = parsed.detail if isinstance(parsed.detail, str) else None
        return cls(status, parsed.title, detail, errors)

    def render(self) -> str:
        lines = [f"HTTP {self.status} {self.title}" + (f": {self.detail}" if self.detail else "")]
        lines += [f"  {loc or '(body)'}: {msg}" for loc, msg in self.errors]
        return "\n".join(lines)


def local_key() -> str | None:
    """The key the local stack wrote to $ICL_IT_HOME/api_key (``make up``), if any."""
    from services.common.settings import Settings

    try:
        return (Settings().home / "api_key").read_text().strip() or None
    except OSError:
        return None


def make_client(url: str | None = None, api_key: str | None = None) -> ApiClient:
    """A generated-client instance for ``url`` (default $ICL_IT_URL)."""
    base = (url or os.environ.get("ICL_IT_URL") or DEFAULT_URL).rstrip("/")
    key = api_key if api_key is not None else os.environ.get("ICL_IT_API_KEY") or local_key()
    timeout = httpx.Timeout(30.0, connect=5.0)
    if key:
        return AuthenticatedClient(base_url=base, token=key, timeout=timeout)
    return Client(base_url=base, timeout=timeout)


def _expect(response: Response[Any], status: int) -> Any:
    if int(response.status_code) != status or response.parsed is None:
        raise ApiError.from_response(response)
    return response.parsed


def is_ready(client: ApiClient) -> bool:
    """True when /readyz says the database and the broker answer."""
    try:
        return int(readyz_op.sync_detailed(client=client).status_code) == 200
    except httpx.HTTPError:
        return False


def submit_spec(client: ApiClient, spec: Any, idempotency_key: str | None = None) -> Experiment:
    """POST a validated ``services.common.spec.ExperimentSpec``; returns the experiment."""
    body = ExperimentSpec.from_dict(spec.model_dump(mode="json"))
    response = submit_experiment_op.sync_detailed(
        client=client,  # type: ignore[arg-type]  # the API key is optional
        body=body,
        idempotency_key=idempotency_key if idempotency_key is not None else UNSET,
    )
    return _expect(response, 202)


def get_experiment(client: ApiClient, experiment_id: str) -> Experiment:
    return _expect(get_experiment_op.sync_detailed(experiment_id, client=client), 200)


def get_results(client: ApiClient, experiment_id: str) -> dict[str, Any]:
    return _expect(get_results_op.sync_detailed(experiment_id, client=client), 200).to_dict()


def get_report(client: ApiClient, experiment_id: str) -> str:
    return _expect(get_report_op.sync_detailed(experiment_id, client=client), 200)


def _stage(experiment: Experiment) -> str:
    running = [r for r in experiment.runs if r.status.value == "running"]
    if not running:
        return experiment.status.value
    run = running[0]
    label = ",".join(f"{k.split('.')[-1]}={v}" for k, v in run.factors.to_dict().items())
    return f"run {run.index + 1} [{run.control}] {label or 'base'}: {run.stage or 'starting'}"


def wait_for(
    client: ApiClient,
    experiment_id: str,
    *,
    progress: bool = True,
    interval: float | None = None,
    on_poll: Callable[[], None] | None = None,
) -> Experiment:
    """Poll until the experiment is terminal, with a tqdm bar over its runs."""
    from tqdm import tqdm

    experiment = get_experiment(client, experiment_id)
    total = max(experiment.progress.total_runs, 1)
    bar_format = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}{postfix}]"
    with tqdm(
        total=total,
        desc=_stage(experiment),
        unit="run",
        disable=not progress,
        dynamic_ncols=True,
        bar_format=bar_format,
    ) as bar:
        while True:
            p = experiment.progress
            bar.n = round(min(p.fraction, 1.0) * total, 3)
            bar.set_description_str(_stage(experiment)[:70], refresh=False)
            bar.set_postfix_str(
                f"{p.completed_runs}/{p.total_runs} runs, {experiment.status.value}"
            )
            if experiment.status.value in TERMINAL:
                break
            if on_poll is not None:
                on_poll()
            time.sleep(POLL_INTERVAL_S if interval is None else interval)
            experiment = _poll(client, experiment_id, experiment)
    return experiment


def _poll(client: ApiClient, experiment_id: str, last: Experiment, attempts: int = 5) -> Experiment:
    """One status read, riding out a few transient failures (a busy server, a 5xx)."""
    for attempt in range(attempts):
        try:
            return get_experiment(client, experiment_id)
        except (httpx.TransportError, ApiError) as exc:
            transient = not isinstance(exc, ApiError) or exc.status >= 500
            if not transient or attempt == attempts - 1:
                raise
            time.sleep(min(2.0**attempt, 10.0))
    return last


def format_status(experiment: Experiment) -> str:
    p = experiment.progress
    lines = [
        f"{experiment.id}  {experiment.name}",
        f"status:   {experiment.status.value}",
        f"progress: {p.completed_runs}/{p.total_runs} runs ({p.fraction:.0%})",
        f"created:  {experiment.created_at:%Y-%m-%d %H:%M:%S}"
        + (f"  started {experiment.started_at:%H:%M:%S}" if experiment.started_at else "")
        + (f"  finished {experiment.finished_at:%H:%M:%S}" if experiment.finished_at else ""),
    ]
    if experiment.error is not None:
        lines.append(f"error:    {experiment.error.code}: {experiment.error.message}")
    for run in experiment.runs:
        factors = ", ".join(f"{k}={v}" for k, v in run.factors.to_dict().items()) or "base"
        line = f"  run {run.index:3d}  {run.status.value:10s} [{run.control}] {factors} seed={run.seed}"
        if run.status.value == "running" and run.stage:
            line += f"  ({run.stage}, {run.progress:.0%})"
        if run.error is not None:
            line += f"  error {run.error.code}: {run.error.message}"
        lines.append(line)
    return "\n".join(lines)


def _fail(message: str, code: int = 1) -> int:
    print(f"icl-it: {message}", file=sys.stderr)
    return code


def _guard(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn HTTP and connection problems into one clear line (plus field errors) and exit 1."""

    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except ApiError as exc:
            return _fail(str(exc))
        except httpx.ConnectError:
            url = os.environ.get("ICL_IT_URL") or DEFAULT_URL
            return _fail(
                f"cannot reach the API at {url} (start it with `icl-it up`, or set ICL_IT_URL)"
            )
        except httpx.HTTPError as exc:
            return _fail(f"HTTP error: {type(exc).__name__}: {exc}")
        except KeyboardInterrupt:
            return _fail("interrupted (the experiment keeps running on the server)", 130)

    run.__name__ = command.__name__
    run.__doc__ = command.__doc__
    return run


@_guard
def submit(args: argparse.Namespace) -> int:
    """Validate the spec locally, POST it, print the id; with --wait, follow it to the end."""
    from services.cli import _format_validation, load_spec

    try:
        spec = load_spec(args.spec, args.preset, args.scale, args.set)
    except Exception as exc:
        return _fail(_format_validation(exc), 2)
    client = make_client()
    experiment = submit_spec(client, spec, args.idempotency_key)
    print(experiment.id)
    if not args.wait:
        return 0
    print(f"{experiment.name}: {experiment.progress.total_runs} run(s)", file=sys.stderr)
    experiment = wait_for(client, experiment.id)
    return finish(client, experiment, report=args.report)


def finish(
    client: ApiClient,
    experiment: Experiment,
    *,
    report: str | os.PathLike[str] | None = None,
    results_path: str | os.PathLike[str] | None = None,
) -> int:
    """After a wait: print the summary table (and errors), write the report / results files."""
    from services.analysis.report import summary_table

    status = experiment.status.value
    if experiment.error is not None:
        print(f"{status}: {experiment.error.code}: {experiment.error.message}", file=sys.stderr)
    if status != "succeeded":
        for run in experiment.runs:
            if run.error is not None:
                print(f"  run {run.index}: {run.error.code}: {run.error.message}", file=sys.stderr)
    try:
        results = get_results(client, experiment.id)
    except ApiError as exc:
        if status == "succeeded":
            raise
        return _fail(f"experiment {status}; no results ({exc.detail or exc.title})")
    print(summary_table(results))
    if results_path is not None:
        path = Path(results_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2) + "\n")
        print(f"results: {path}", file=sys.stderr)
    if report is not None:
        path = Path(report)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(get_report(client, experiment.id))
        print(f"report:  {path}", file=sys.stderr)
    return 0 if status == "succeeded" else 1


@_guard
def status(args: argparse.Namespace) -> int:
    """Print status, progress, error and each run's state."""
    experiment = get_experiment(make_client(), args.id)
    print(format_status(experiment))
    return 0


@_guard
def results(args: argparse.Namespace) -> int:
    """Print the results document (JSON) to stdout."""
    doc = get_results(make_client(), args.id)
    json.dump(doc, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0
