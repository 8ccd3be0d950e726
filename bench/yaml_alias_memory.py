"""The API process's memory before and after a YAML alias ("billion laughs") body.

    python -m bench.yaml_alias_memory [--levels 7]

Starts the API (uvicorn, one process, embedded SQLite in a temporary ICL_IT_HOME) with a
fresh key, reads its resident memory (VmRSS) once it answers, posts a body of nested
aliases to ``POST /ui/parse-spec`` (as application/yaml, with the key; an older API that
reads any type gets the same bytes), and reads VmRSS (and the peak, VmHWM) again. Prints one JSON line: the
body's size, the answer's status, size and time, and RSS before/after in MB.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def alias_body(levels: int) -> str:
    """Nine 'lol's, then each level a list of nine aliases of the one before:
    9**levels strings once expanded."""
    names = "abcdefghijklmnop"
    lols = ",".join(['"lol"'] * 9)
    lines = [f"a: &a [{lols}]"]
    for prev, name in zip(names, names[1:levels], strict=False):
        aliases = ",".join([f"*{prev}"] * 9)
        lines.append(f"{name}: &{name} [{aliases}]")
    return "\n".join(lines) + "\n"


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory now (VmRSS) or its peak so far (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--levels", type=int, default=7)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="alias-mem-")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(ICL_IT_HOME=home, OMP_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "keys", "create", "--name", "mem"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    key = out.stdout.strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "services.api.main:app", "--port", str(port),
         "--no-access-log", "--log-level", "warning"],
        env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        time.sleep(1.0)
        before = rss_mb(server.pid)
        body = alias_body(args.levels)
        t0 = time.perf_counter()
        r = httpx.post(
            f"{url}/ui/parse-spec",
            content=body,
            headers={"content-type": "application/yaml", "authorization": f"Bearer {key}"},
            timeout=600,
        )
        elapsed = time.perf_counter() - t0
        time.sleep(0.5)
        after, peak = rss_mb(server.pid), rss_mb(server.pid, "VmHWM")
        print(json.dumps({
            "levels": args.levels, "body_bytes": len(body.encode()), "status": r.status_code,
            "answer_bytes": len(r.content), "seconds": round(elapsed, 3),
            "rss_before_mb": round(before, 1), "rss_after_mb": round(after, 1),
            "rss_added_mb": round(after - before, 1), "rss_peak_mb": round(peak, 1),
        }))  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
