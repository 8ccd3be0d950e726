"""Container healthchecks, standard library only (they run every few seconds).

    python -m services.common.runtime.healthcheck http://127.0.0.1:8000/healthz
    python -m services.common.runtime.healthcheck --heartbeat FILE --max-age 60

The first asks the API; the second checks that a worker's main loop touched its
heartbeat file recently (``services.common.runtime.worker_signals`` touches it from the worker's
timer, so a stuck event loop, not only a dead process, turns the container unhealthy).
Exit status 0 is healthy, 1 unhealthy.
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.request
from pathlib import Path


def check_url(url: str, timeout: float) -> str | None:
    """None when ``url`` answers 200 within ``timeout`` seconds, else what went wrong."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status = int(response.status)
    except Exception as exc:
        return f"{url}: {type(exc).__name__}: {exc}"
    return None if status == 200 else f"{url}: HTTP {status}"


def check_heartbeat(path: Path, max_age: float) -> str | None:
    """None when the heartbeat file was touched within ``max_age`` seconds, else what is wrong."""
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return f"{path}: no heartbeat yet"
    return None if age <= max_age else f"{path}: last heartbeat {age:.0f}s ago (> {max_age:.0f}s)"


def main(argv: list[str] | None = None) -> int:
    """Check a URL or a heartbeat file, for container healthchecks; exit code 0 when healthy."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?", help="an HTTP URL that must answer 200")
    parser.add_argument("--heartbeat", type=Path, help="a file the worker touches")
    parser.add_argument("--max-age", type=float, default=60.0, help="seconds (heartbeat)")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds (URL)")
    args = parser.parse_args(argv)
    if bool(args.url) == bool(args.heartbeat):
        parser.error("give either a URL or --heartbeat FILE")
    problem = (
        check_url(args.url, args.timeout)
        if args.url
        else check_heartbeat(args.heartbeat, args.max_age)
    )
    if problem:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
