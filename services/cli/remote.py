"""``icl-it submit / status / results / cancel / events / ...``: the HTTP API via the SDK.

The SDK is ``clients/sdk/icl_it_sdk``, a typed layer over ``clients/python/icl_it_client``
(generated from the committed openapi.json by ``make client``); nothing here talks HTTP
or polls by hand. The API is at ``$ICL_IT_URL``, else where ``icl-it up`` listens
(``$ICL_IT_HOST``/``$ICL_IT_PORT``, default http://127.0.0.1:8000: ``default_url``);
``$ICL_IT_API_KEY``, if set, is sent as a Bearer token. ``services.cli.demo`` uses the same
functions.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeAlias, cast

import httpx
from icl_it_client import AuthenticatedClient, Client
from icl_it_client.models import Experiment
from icl_it_sdk import DEFAULT_URL, TERMINAL, ApiError, IclIt, ServerError, default_url

from services.cli.datasets import mapping_options

__all__ = ["DEFAULT_URL", "TERMINAL", "ApiError", "ServerError"]  # re-exported for callers

ApiClient: TypeAlias = Client | AuthenticatedClient
POLL_INTERVAL_S = 1.0


def local_key() -> str | None:
    """The key the local stack wrote to $ICL_IT_HOME/api_key (``make up``), if any."""
    from services.common.runtime.settings import Settings

    try:
        return (Settings().home / "api_key").read_text().strip() or None
    except OSError:
        return None


def make_client(url: str | None = None, api_key: str | None = None) -> ApiClient:
    """A generated-client instance for ``url`` (default: ``default_url()``)."""
    base = (url or default_url()).rstrip("/")
    key = api_key if api_key is not None else os.environ.get("ICL_IT_API_KEY") or local_key()
    timeout = httpx.Timeout(30.0, connect=5.0)
    if key:
        return AuthenticatedClient(base_url=base, token=key, timeout=timeout)
    return Client(base_url=base, timeout=timeout)


def sdk(client: ApiClient | None = None) -> IclIt:
    """The SDK over ``client`` (default: ``make_client()``); every remote command uses it."""
    return IclIt(client=client if client is not None else make_client())


def is_ready(client: ApiClient) -> bool:
    """True when /readyz says the database and the broker answer."""
    return sdk(client).ready()


def submit_spec(client: ApiClient, spec: Any, idempotency_key: str | None = None) -> Experiment:
    """POST a validated ``services.common.spec.ExperimentSpec``; returns the experiment."""
    return sdk(client).submit(spec.model_dump(mode="json"), idempotency_key=idempotency_key)


def get_experiment(client: ApiClient, experiment_id: str) -> Experiment:
    """The experiment with its runs (``GET /v1/experiments/{id}``)."""
    return sdk(client).experiment(experiment_id)


def get_results(client: ApiClient, experiment_id: str) -> dict[str, Any]:
    """A finished experiment's results document."""
    return sdk(client).results_json(experiment_id)


def get_report(client: ApiClient, experiment_id: str) -> str:
    """A finished experiment's HTML report."""
    return sdk(client).report(experiment_id)


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
    timeout: float | None = None,
) -> Experiment:
    """``IclIt.wait`` with a tqdm bar over the runs (fractional within a run)."""
    from tqdm import tqdm

    bar_format = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}{postfix}]"
    with tqdm(
        total=1, unit="run", disable=not progress, dynamic_ncols=True, bar_format=bar_format
    ) as bar:

        def show(experiment: Experiment) -> None:
            p = experiment.progress
            bar.total = max(p.total_runs, 1)
            bar.n = round(min(p.fraction, 1.0) * bar.total, 3)
            bar.set_description_str(_stage(experiment)[:70], refresh=False)
            bar.set_postfix_str(
                f"{p.completed_runs}/{p.total_runs} runs, {experiment.status.value}"
            )
            if on_poll is not None and experiment.status.value not in TERMINAL:
                on_poll()

        return sdk(client).wait(
            experiment_id,
            timeout,
            on_progress=show,
            poll_interval=POLL_INTERVAL_S if interval is None else interval,
        )


def format_status(experiment: Experiment) -> str:
    """The experiment as ``icl-it status`` prints it: status, progress, times, one line per run."""
    p = experiment.progress
    lines = [
        f"{experiment.id}  {experiment.name}",
        f"status:   {experiment.status.value}",
        f"progress: {p.completed_runs}/{p.total_runs} runs ({p.fraction:.0%})",
        f"created:  {experiment.created_at:%Y-%m-%d %H:%M:%S}"
        + (f"  started {experiment.started_at:%H:%M:%S}" if experiment.started_at else "")
        + (f"  finished {experiment.finished_at:%H:%M:%S}" if experiment.finished_at else ""),
    ]
    if experiment.tags:
        lines.append(f"tags:     {', '.join(experiment.tags)}")
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
        from services.cli.api_ops import IdError, resolve_args_id

        try:
            resolve_args_id(make_client(), args)  # a short id -> the full one (server-side)
            return command(args)
        except IdError as exc:
            return _fail(str(exc))
        except ApiError as exc:
            return _fail(str(exc))
        except httpx.ConnectError:
            return _fail(
                f"cannot reach the API at {default_url()} (start it with `icl-it up`, "
                "or set ICL_IT_URL or ICL_IT_PORT)"
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
    from services.cli.specs import format_validation, load_spec
    from services.common.spec import DataSpec

    try:
        spec = load_spec(args.spec, args.preset, args.scale, args.set)
        if getattr(args, "tag", None):
            spec = with_tags(spec, args.tag)
    except Exception as exc:
        return _fail(format_validation(exc), 2)
    client = make_client()
    if getattr(args, "data", None):
        dataset = sdk(client).upload_dataset(Path(args.data), **mapping_options(args))
        print(f"uploaded {args.data}: {dataset.task} ({dataset.n_rows} rows)", file=sys.stderr)
        spec = spec.model_copy(update={"data": DataSpec(task=dataset.task)})  # replaces data.hf
    experiment = submit_spec(client, spec, args.idempotency_key)
    print(experiment.id)
    if not args.wait:
        return 0
    print(f"{experiment.name}: {experiment.progress.total_runs} run(s)", file=sys.stderr)
    experiment = wait_for(client, experiment.id)
    return finish(client, experiment, report=args.report)


def with_tags(spec: Any, tags: list[str]) -> Any:
    """The spec with ``tags`` added to its own (``submit --tag``), validated as the spec's
    tags are (a bad tag is a ValidationError naming it)."""
    from pydantic import TypeAdapter

    from services.common.spec.tags import Tags

    merged = TypeAdapter(Tags).validate_python(list(dict.fromkeys([*spec.tags, *tags])))
    return spec.model_copy(update={"tags": merged})


def finish(
    client: ApiClient,
    experiment: Experiment,
    *,
    report: str | os.PathLike[str] | None = None,
    results_path: str | os.PathLike[str] | None = None,
) -> int:
    """After a wait: print the summary table (and errors), write the report / results files."""
    from services.analysis.documents import Results
    from services.analysis.tables import summary_table

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
    print(summary_table(cast(Results, results)))  # JSON, checked by the schema at the edge
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
def cancel(args: argparse.Namespace) -> int:
    """Ask the server to cancel; running work stops at its next step."""
    experiment = sdk().cancel(args.id)
    print(f"{experiment.id}: {experiment.status.value}")
    return 0


@_guard
def events(args: argparse.Namespace) -> int:
    """Print the experiment's events; --follow reads the server-sent event stream and
    prints each event as it is written, until the experiment is final."""
    for event in sdk().events(args.id, after=args.after, follow=args.follow):
        run = f" run={event.run_id[:8]}" if isinstance(event.run_id, str) else ""
        print(
            f"{event.id:6d} {event.created_at:%H:%M:%S} {event.level:7s} {event.type_:20s}"
            f" {event.message}{run}",
            flush=True,
        )
    return 0


@_guard
def download(args: argparse.Namespace) -> int:
    """Stream one artifact to a file (-o), or to stdout."""
    api = sdk()
    if args.output and args.output != "-":
        path = api.download_to(args.id, args.artifact, args.output)
        print(path, file=sys.stderr)
    else:
        api.download(args.id, args.artifact, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    return 0


@_guard
def report(args: argparse.Namespace) -> int:
    """Write the HTML report (-o, default <id>.html); --open shows it in a browser."""
    html = sdk().report(args.id)
    path = Path(args.output or f"{args.id}.html")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html)
    print(path)
    if args.open:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())
    return 0


@_guard
def datasets_upload(args: argparse.Namespace) -> int:
    """Upload a dataset (JSONL, CSV or Parquet, with a column mapping); prints the task name to
    use in a spec (upload:<id>)."""
    dataset = sdk().upload_dataset(Path(args.file), **mapping_options(args))
    print(dataset.task)
    print(
        f"{dataset.kind.value}, {dataset.n_rows} rows, {dataset.size_bytes} bytes", file=sys.stderr
    )
    return 0


@_guard
def export(args: argparse.Namespace) -> int:
    """Long table of an experiment's results (remote id, or a local --out directory)."""
    from services.common.storage import exports

    table = "examples" if args.per_example else "cells"
    local = Path(args.id)
    if local.exists():
        data = exports.render(local_table(local, table), args.format)
    else:
        data = sdk().export(args.id, args.format, table)
    if args.output and args.output != "-":
        Path(args.output).write_bytes(data)
        print(args.output, file=sys.stderr)
    elif args.format == "parquet" and sys.stdout.isatty():
        return _fail("parquet is binary: pass -o FILE (or pipe stdout)", 2)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return 0


def local_table(path: Path, table: str) -> Any:
    """The export table of an in-process run's output (``icl-it run --out DIR``)."""
    from services.common.storage import exports
    from services.common.storage.layout import ANALYSIS_FILE, RESULTS_FILE, local_run_dir

    root = path if path.is_dir() else path.parent
    results = json.loads((root / RESULTS_FILE).read_text())
    name = root.name
    if table == "cells":
        return exports.cell_table(results, name)
    keys = [run["key"] for run in results.get("runs", [])]
    analyses = [json.loads((local_run_dir(root, k) / ANALYSIS_FILE).read_text()) for k in keys]
    return exports.example_table(analyses, name)
