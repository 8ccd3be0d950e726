"""``make demo``: the whole service on one machine, driven through the generated client.

    python -m services.cli.demo [SPEC] [--out out/demo]

Starts the API and both workers on the embedded defaults (SQLite, Celery's SQLAlchemy
transport on SQLite, local artifacts, embedded SmolLM2) on a free port, in a fresh
state directory (``var/demo`` unless ICL_IT_HOME is set), waits for /readyz, submits
``examples/default.yaml`` through the client with a progress bar, prints the result
table, writes ``report.html`` and ``results.json``, and stops everything, also on
Ctrl-C or failure. The stack's logs go to ``<out>/stack.log``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SPEC = REPO_ROOT / "examples" / "default.yaml"
EXTERNAL_URLS = ("DATABASE_URL", "REDIS_URL", "ARTIFACT_URL")
READY_TIMEOUT_S = 120.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` now (the OS picks it; another process may still take it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def embedded_env(home: Path | None = None) -> dict[str, str]:
    """The children's environment: embedded defaults, a fresh home, the shared model cache."""
    env = {k: v for k, v in os.environ.items() if k not in EXTERNAL_URLS}
    from services.common.runtime.settings import apply_local_defaults

    apply_local_defaults(env)  # Hub ids allowed, as on any single-user stack
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    if home is None and "ICL_IT_HOME" not in env:
        home = Path("var/demo")
        # The dequantised embedded model is kept where `icl-it run` keeps it (var/models),
        # so only the first demo on a machine pays for the conversion.
        env.setdefault("ICL_IT_MODEL_CACHE", str(Path("var/models").resolve()))
        shutil.rmtree(home, ignore_errors=True)
    if home is not None:
        env["ICL_IT_HOME"] = str(home.resolve())
    Path(env["ICL_IT_HOME"]).mkdir(parents=True, exist_ok=True)
    return env


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so the stack is stopped either way."""

    def _raise(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "".join(path.read_text(errors="replace").splitlines(keepends=True)[-lines:])
    except OSError:
        return ""


def _wait_ready(stack: Any, client: Any) -> None:
    from services.cli import remote as client_cli
    from services.common.runtime.retry import poll_until

    def ready() -> bool:
        stack.check_alive()
        return client_cli.is_ready(client)

    poll_until(ready, timeout_s=READY_TIMEOUT_S, what="/readyz not ok")


def run_demo(spec_path: Path, out: Path) -> int:
    """Start the embedded stack, run ``spec_path`` through the client, write the report and results
    to ``out`` and stop the stack; returns the exit code."""
    from services.cli import remote as client_cli
    from services.cli.specs import format_validation, load_spec
    from services.local.stack import Stack

    t_start = time.monotonic()
    try:
        spec = load_spec(str(spec_path), None, None, [])
    except Exception as exc:
        print(format_validation(exc), file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "stack.log"
    env = embedded_env()
    host, port = "127.0.0.1", free_port()
    timings: list[tuple[str, float]] = []

    def mark(label: str, since: float) -> float:
        now = time.monotonic()
        timings.append((label, now - since))
        return now

    print(f"icl-it demo: {spec_path.name} on the embedded stack", flush=True)
    print(f"  API       http://{host}:{port}", flush=True)
    print(f"  state     {env['ICL_IT_HOME']}", flush=True)
    print(f"  logs      {log_path}", flush=True)
    code = 1
    with open(log_path, "w", buffering=1) as log, sigterm_as_interrupt():
        stack = Stack(env, host=host, port=port, log=log)
        try:
            t = time.monotonic()
            stack.start()
            client = client_cli.make_client(stack.url, api_key=stack.api_key)
            _wait_ready(stack, client)
            t = mark("stack up (migrate, API, 2 workers, /readyz ok)", t)

            experiment = client_cli.submit_spec(client, spec)
            print(
                f"submitted {experiment.id}: {experiment.name}, "
                f"{experiment.progress.total_runs} run(s)",
                flush=True,
            )
            experiment = client_cli.wait_for(client, experiment.id, on_poll=stack.check_alive)
            t = mark(f"experiment {experiment.status.value} (submit to finished)", t)

            print(flush=True)
            code = client_cli.finish(
                client,
                experiment,
                report=out / "report.html",
                results_path=out / "results.json",
            )
            mark("results + report fetched", t)
        except KeyboardInterrupt:
            print("\ninterrupted; stopping the stack", file=sys.stderr, flush=True)
            code = 130
        except client_cli.ApiError as exc:
            print(f"demo failed: {exc}", file=sys.stderr, flush=True)
        except Exception as exc:
            print(f"demo failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        finally:
            t = time.monotonic()
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C waits
            try:
                # Nothing to preserve after a failure or Ctrl-C: don't wait out a running task.
                stack.stop(grace=10.0 if code == 0 else 2.0)
            finally:
                signal.signal(signal.SIGINT, previous)
            mark("stack stopped", t)
        if code not in (0, 130):
            print(f"--- last lines of {log_path} ---\n{_tail(log_path)}", file=sys.stderr)
    mark("total", t_start)
    print("\ntimings:")
    for label, seconds in timings:
        print(f"  {seconds:7.1f} s  {label}")
    return code


def main(argv: list[str] | None = None) -> int:
    """``python -m services.cli.demo [SPEC] [--out DIR]``; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m services.cli.demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("spec", nargs="?", default=str(DEFAULT_SPEC), help="experiment spec")
    parser.add_argument("--out", default="out/demo", help="where report.html etc. go")
    args = parser.parse_args(argv)
    return run_demo(Path(args.spec), Path(args.out))


if __name__ == "__main__":
    sys.exit(main())
