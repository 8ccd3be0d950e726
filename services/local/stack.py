"""The whole system on one machine: the API and both workers as child processes.

``run_stack(host, port)`` (``make up`` / ``icl-it up``) migrates the database, starts

    api        uvicorn services.api.main:app
    gpu        celery worker -Q gpu       (one process; CUDA and the model live in its child)
    analysis   celery worker -Q analysis  (no torch)

streams their logs with a prefix, and stops all of them on Ctrl-C or SIGTERM (or when
one of them dies). With no URLs set it runs on the embedded defaults: SQLite, Celery's
SQLAlchemy transport on SQLite, a local artifact directory. ``Stack`` is the same thing
as an object, which the tests use to start real worker processes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

import httpx

from services.common.runtime.retry import poll_until

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("api", "gpu", "analysis")
WORKER_APPS = {"gpu": "services.gpu_worker.worker", "analysis": "services.analysis.tasks"}


def api_argv(host: str, port: int) -> list[str]:
    """The command line of the API process (uvicorn; the access log is the app's own)."""
    return [
        sys.executable, "-m", "uvicorn", "services.api.main:app",
        "--host", host, "--port", str(port), "--no-access-log",
    ]  # fmt: skip


def worker_argv(queue: str, concurrency: int = 1, loglevel: str = "INFO") -> list[str]:
    """A Celery worker for one queue. Prefork: tasks run in a child process, so CUDA is
    initialised there, and a child killed mid-task is replaced and its task redelivered."""
    return [
        sys.executable, "-m", "celery", "--quiet", "-A", WORKER_APPS[queue], "worker",
        "-Q", queue, "-c", str(concurrency), "-P", "prefork", "-n", f"{queue}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", loglevel,
    ]  # fmt: skip


class Stack:
    """Child processes for some of the services, with their logs prefixed and forwarded."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        services: Sequence[str] = SERVICES,
        log: IO[str] | None = None,
    ):
        self.env = dict(os.environ if env is None else env)
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        # children import ``services`` from this checkout, whatever the working directory
        paths = [str(ROOT), *filter(None, self.env.get("PYTHONPATH", "").split(os.pathsep))]
        self.env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
        self.host, self.port = host, port
        self.services = list(services)
        self.log = log or sys.stdout
        # a person reading a terminal gets text lines; a log file gets JSON lines
        self.env.setdefault("ICL_IT_LOG_FORMAT", "text" if self.log.isatty() else "json")
        self.procs: dict[str, subprocess.Popen[str]] = {}
        self._threads: list[threading.Thread] = []
        self._log_lock = threading.Lock()

    @property
    def url(self) -> str:
        """The API's base URL."""
        return f"http://{self.host}:{self.port}"

    def migrate(self) -> None:
        """Migrate once, before the children start, so they never race on the schema;
        make sure the local API key exists (``$ICL_IT_HOME/api_key``)."""
        code = (
            "from services.common.db import migrate; migrate(); "
            "from services.common.db.keys import ensure_local_key; ensure_local_key()"
        )
        subprocess.run([sys.executable, "-c", code], env=self.env, check=True)

    @property
    def api_key(self) -> str:
        """The local admin key written by ``migrate`` (what the CLI uses by default)."""
        home = Path(self.env.get("ICL_IT_HOME") or "var")  # children share our cwd
        return (home / "api_key").read_text().strip()

    def start(self) -> Stack:
        """Migrate, then start the API and the workers as child processes; returns self."""
        self.migrate()
        for name in self.services:
            argv = api_argv(self.host, self.port) if name == "api" else worker_argv(name)
            self.start_one(name, argv)
        return self

    def start_one(self, name: str, argv: list[str]) -> subprocess.Popen[str]:
        """Start a child in its own process group; its output goes to the log, prefixed by name."""
        proc = subprocess.Popen(
            argv,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # its own process group: we signal it and its pool
        )
        self.procs[name] = proc
        thread = threading.Thread(target=self._pump, args=(name, proc), daemon=True)
        thread.start()
        self._threads.append(thread)
        return proc

    def _pump(self, name: str, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self._log_lock:
                self.log.write(f"[{name:>8}] {line}")
                self.log.flush()

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until the API answers /healthz (raises if a child died or time is up)."""

        def healthy() -> bool:
            self.check_alive()
            try:
                return httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200
            except httpx.HTTPError:
                return False

        poll_until(
            healthy, timeout_s=timeout, what=f"the API did not answer on {self.url}", interval_s=0.2
        )

    def check_alive(self) -> None:
        """Raise if any child process has exited."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with code {proc.returncode}")

    def first_exited(self) -> str | None:
        """The name of a child process that has exited, or None while all run."""
        return next((n for n, p in self.procs.items() if p.poll() is not None), None)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM (warm shutdown), then SIGQUIT (cold: Celery requeues unacked tasks),
        then SIGKILL, each to the child's own process group."""
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGQUIT, 3.0), (signal.SIGKILL, 3.0)):
            alive = [p for p in self.procs.values() if p.poll() is None]
            if not alive:
                break
            for proc in alive:
                try:  # warm shutdown: the main process stops its own pool
                    if sig == signal.SIGTERM:
                        os.kill(proc.pid, sig)
                    else:
                        os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + wait
            for proc in alive:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=max(deadline - time.monotonic(), 0.01))
        for thread in self._threads:
            thread.join(timeout=2.0)

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_stack(host: str | None = None, port: int | None = None) -> int:
    """Run the API and both workers in the foreground until Ctrl-C / SIGTERM."""
    from services.common.runtime.settings import apply_local_defaults, get_settings

    apply_local_defaults(os.environ)  # before the children copy the environment
    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    stack = Stack(host=host, port=port)
    stopping = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        stopping.set()

    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"icl-it: database {settings.db_url}", flush=True)
        print(f"icl-it: broker   {_redact(settings.broker_url)}", flush=True)
        print(f"icl-it: artifacts {settings.artifacts}", flush=True)
        print(f"icl-it: models   {hub_policy_line(os.environ)}", flush=True)
        stack.start()
        try:
            stack.wait_ready(timeout=120)  # print where it is once it answers there
        except (RuntimeError, TimeoutError) as exc:
            print(f"icl-it: {exc}; stopping the stack", file=sys.stderr, flush=True)
            return 1
        for line in ready_lines(host, port, stack.api_key, settings.home / "api_key"):
            print(f"icl-it: {line}", flush=True)
        while not stopping.wait(0.5):
            dead = stack.first_exited()
            if dead is not None:
                print(f"icl-it: {dead} exited; stopping the stack", file=sys.stderr, flush=True)
                return 1
        return 0
    finally:
        print("icl-it: stopping", flush=True)
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def browse_url(host: str, port: int) -> str:
    """The URL a client on this machine uses for an API bound to ``host:port`` (a wildcard
    bind such as 0.0.0.0 is reached on 127.0.0.1), as the SDK's ``default_url`` does."""
    host = "127.0.0.1" if host in ("", "0.0.0.0", "::", "[::]") else host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def ready_lines(host: str, port: int, key: str, key_file: Path) -> list[str]:
    """What ``icl-it up`` prints once the API answers: where it is, how the client finds
    it, and a dashboard link that logs a browser tab in. The key rides in the link's
    fragment, which a browser never sends to a server; ``/login``'s script moves it into
    the tab's sessionStorage and drops it from the address bar and the history."""
    url = browse_url(host, port)
    return [
        f"API on {url} (docs: {url}/docs); Ctrl-C stops",
        f"dashboard (logs this browser tab in): {url}/login#key={key}",
        f"API key in {key_file} (the CLI and the SDK read it)",
        "client commands and the SDK read ICL_IT_PORT and ICL_IT_HOST as `up` does "
        "(ICL_IT_URL wins when set); in another shell:",
        f"  export ICL_IT_URL={url}",
    ]


def hub_policy_line(env: Mapping[str, str]) -> str:
    """Which Hub ids the stack loads, and from where: the allow-list and the Hub cache."""
    from huggingface_hub import constants

    patterns = env.get("ICL_IT_HUB_MODELS", "") or "none"
    offline = env.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
    mode = "offline: cached models only" if offline else "downloads what is not cached"
    return (
        f"catalog names and Hub ids matching {patterns} (ICL_IT_HUB_MODELS); Hub cache "
        f"{constants.HF_HUB_CACHE} ({mode}; icl-it models pull NAME fills it)"
    )


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m services.local.stack [--host] [--port]``: run the stack in the foreground."""
    import argparse

    parser = argparse.ArgumentParser(description="API + GPU worker + analysis worker")
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    return run_stack(args.host, args.port)


if __name__ == "__main__":
    raise SystemExit(main())
