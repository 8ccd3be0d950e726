"""The bench spec through the services vs in-process, side by side in one run (issue 5).

    python -m bench.services                         # bench/sweep.yaml, embedded stack
    python -m bench.services --backend external      # $DATABASE_URL + $REDIS_URL
    python -m bench.services --quick --model tiny    # seconds: the tiny random-init Llama

One command starts the whole stack (API, GPU worker, analysis worker; ``services.local.stack``)
and, while it idles, times the same experiment two ways:

    in-process  ``services.local.runner.run_experiment``: a fresh Engine (model load included),
                every run, per-run analysis, summary, figures and report, into a directory;
    services    submit through the generated client -> API -> Celery GPU worker (its model
                loads on the first run) -> artifact store -> analysis worker -> finalize,
                polled until terminal, then results.json and report.html fetched.

Both start cold (the worker's engine is created at fork but loads its model on the first
task, as in production). It prints both wall times, the overhead of the services path, the
largest difference between the two results documents' numbers, and where the services'
time went (engine time recorded on the run rows vs queueing, transfers and analysis).
JSON goes to bench/results/, one dated line to bench/NOTES.md. Run it on a quiet machine:
two torch processes on two cores slow each other down (the paths never overlap here).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.report import NOTES, RESULTS_DIR, machine
from bench.workload import DEFAULT_SPEC, bench_model, load_runs, start

EXCLUDED_KEYS = {"timings", "created_at", "finished_at", "experiment_id", "id", "generated_at"}


def numeric_leaves(doc: Any, path: str = "") -> dict[str, float]:
    """Every number in a JSON document by its path (timings and ids left out)."""
    out: dict[str, float] = {}
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k not in EXCLUDED_KEYS:
                out.update(numeric_leaves(v, f"{path}/{k}"))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.update(numeric_leaves(v, f"{path}/{i}"))
    elif isinstance(doc, bool) or doc is None:
        pass
    elif isinstance(doc, int | float):
        out[path] = float(doc)
    return out


def compare_results(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Largest |difference| over the numbers both documents hold, and how many differ in
    structure (a path in one and not the other)."""
    la, lb = numeric_leaves(a), numeric_leaves(b)
    common = la.keys() & lb.keys()
    diffs = [
        abs(la[k] - lb[k])
        for k in common
        if la[k] == la[k] and lb[k] == lb[k]  # NaN on both sides (e.g. n=1 CIs) is equal
    ]
    return {
        "compared": len(common),
        "only_in_one": len(la.keys() ^ lb.keys()),
        "max_abs": max(diffs, default=0.0),
    }


def stack_env(home: Path, backend: str, model_dirs: str | None) -> dict[str, str]:
    from services.cli.demo import embedded_env

    env = embedded_env(home)
    env["ICL_IT_MODEL_CACHE"] = str(Path("var/models").resolve())
    if backend == "external":
        for name in ("DATABASE_URL", "REDIS_URL"):
            if not os.environ.get(name):
                raise SystemExit(f"--backend external needs ${name}")
            env[name] = os.environ[name]
    if model_dirs:
        env["ICL_IT_MODEL_DIRS"] = model_dirs
    return env


def run_services(client: Any, spec: Any, out: Path, on_poll: Any) -> dict[str, Any]:
    from services.cli import remote as client_cli

    experiment = client_cli.submit_spec(client, spec)
    experiment = client_cli.wait_for(client, experiment.id, interval=0.5, on_poll=on_poll)
    if experiment.status.value != "succeeded":
        raise RuntimeError(f"experiment {experiment.id} {experiment.status.value}")
    results = client_cli.get_results(client, experiment.id)
    (out / "results.json").write_text(json.dumps(results))
    (out / "report.html").write_text(client_cli.get_report(client, experiment.id))
    return results


def engine_seconds(results: Mapping[str, Any]) -> float:
    """Engine time summed over the runs (each results document carries the runs' timings)."""
    return float((results.get("timings") or {}).get("total", 0.0))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.services",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--spec", type=Path, default=DEFAULT_SPEC)
    p.add_argument("--model", default=None, help="model name; 'tiny' = tiny random-init Llama")
    p.add_argument("--examples", type=int, default=None, help="inference examples per run")
    p.add_argument("--quick", action="store_true", help="4 examples, 2 epochs")
    p.add_argument(
        "--backend",
        choices=["embedded", "external"],
        default="embedded",
        help="embedded: SQLite + Celery's SQLAlchemy broker; external: $DATABASE_URL + $REDIS_URL",
    )
    p.add_argument(
        "--order",
        choices=["in-process-first", "services-first"],
        default="in-process-first",
    )
    p.add_argument("--label", default="", help="what changed (goes into NOTES.md)")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    p.add_argument("--no-notes", action="store_true", help="do not append to NOTES.md")
    p.add_argument("--keep", action="store_true", help="keep the state directory")
    return p.parse_args(argv)


def wait_ready(client: Any, stack: Any, timeout_s: float = 120) -> None:
    """Until the stack's /readyz answers ok; raises if a process died or on the timeout."""
    from services.cli import remote as client_cli
    from services.common.runtime.retry import poll_until

    def ready() -> bool:
        stack.check_alive()
        return client_cli.is_ready(client)

    poll_until(ready, timeout_s=timeout_s, what="/readyz not ok")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Time the same spec in-process and through the running services, in one run."""
    args = parse_args(argv)
    command = start("bench.services", argv)

    import torch

    from services.cli import remote as client_cli
    from services.cli.demo import free_port
    from services.common.runtime.settings import Settings, get_settings
    from services.gpu_worker.engine import Engine
    from services.local.runner import run_experiment
    from services.local.stack import Stack

    model, model_dirs = bench_model(args.model, get_settings())
    spec, runs = load_runs(args.spec, model, args.examples, args.quick)
    work = Path(tempfile.mkdtemp(prefix="bench-services-"))
    env = stack_env(work / "home", args.backend, model_dirs)
    dirs: dict[str, Any] = {"ICL_IT_MODEL_DIRS": model_dirs} if model_dirs else {}
    inproc_settings = Settings(
        ICL_IT_HOME=str(work / "inproc-home"), ICL_IT_MODEL_CACHE=env["ICL_IT_MODEL_CACHE"], **dirs
    )
    log_path = work / "stack.log"
    wall: dict[str, float] = {}
    res: dict[str, Any] = {}
    print(f"bench.services: {len(runs)} runs x {spec.inference.n} examples, {args.backend} stack")
    print(f"  state and logs in {work}")
    with open(log_path, "w", buffering=1) as log:
        stack = Stack(env, port=free_port(), log=log)
        try:
            t = time.perf_counter()
            stack.start()
            client = client_cli.make_client(stack.url, api_key=stack.api_key)
            wait_ready(client, stack)
            wall["stack_start"] = time.perf_counter() - t
            paths = ["in_process", "services"]
            if args.order == "services-first":
                paths.reverse()
            results: dict[str, Mapping[str, Any]] = {}
            for name in paths:
                print(f"-- {name}", flush=True)
                out = work / name
                out.mkdir(parents=True, exist_ok=True)
                t = time.perf_counter()
                if name == "in_process":
                    engine = Engine(settings=inproc_settings)
                    results[name] = run_experiment(spec, out, engine=engine)
                    del engine
                else:
                    results[name] = run_services(client, spec, out, on_poll=stack.check_alive)
                wall[name] = time.perf_counter() - t
                print(f"   {wall[name]:.1f} s", flush=True)
            overhead = wall["services"] / wall["in_process"] - 1.0
            res = {
                "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "command": command.strip(),
                "label": args.label,
                "backend": args.backend,
                "machine": machine(torch.device("cpu")),
                "model": runs[0].model.name,
                "n_runs": len(runs),
                "n_examples": spec.inference.n,
                "order": paths,
                "wall_s": wall,
                "services_overhead": overhead,
                "services_engine_s": engine_seconds(results["services"]),
                "in_process_engine_s": engine_seconds(results["in_process"]),
                "results_diff": compare_results(results["in_process"], results["services"]),
            }
        finally:
            stack.stop()
    for line in summary_lines(res):
        print(line)
    write(res, args)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return res


def summary_lines(res: dict[str, Any]) -> list[str]:
    w = res["wall_s"]
    diff = res["results_diff"]
    return [
        f"{res['model']}, {res['n_runs']} runs x {res['n_examples']} examples, "
        f"{res['backend']} stack (started in {w['stack_start']:.1f} s, not counted)",
        f"in-process (Engine + analysis + report): {w['in_process']:.1f} s "
        f"(engine {res['in_process_engine_s']:.1f} s)",
        f"services (submit -> succeeded -> results + report fetched): {w['services']:.1f} s "
        f"(engine on the GPU worker {res['services_engine_s']:.1f} s)",
        f"services / in-process: {w['services'] / w['in_process']:.3f} "
        f"({100 * res['services_overhead']:+.1f}%; target within +15%)",
        f"results documents: {diff['compared']} numbers compared, largest |difference| "
        f"{diff['max_abs']:.1e}, {diff['only_in_one']} present in only one",
    ]


def write(res: dict[str, Any], args: argparse.Namespace) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = res["date"][:19].replace(":", "").replace("-", "")
    path = args.out / f"{stamp}-services-{Path(res['model']).name}-n{res['n_examples']}.json"
    path.write_text(json.dumps(res, indent=1))
    print(f"wrote {path}")
    if args.no_notes:
        return
    m = res["machine"]
    w = res["wall_s"]
    line = (
        f"- {res['date'][:10]} `{res['command']}` on {m['cpu']}, {m['torch_threads']} threads, "
        f"load {m['load_avg'][0]:.1f}: {res['model']}, {res['n_runs']} runs x "
        f"{res['n_examples']} examples, {res['backend']} stack. in-process {w['in_process']:.1f} s, "
        f"services {w['services']:.1f} s: {100 * res['services_overhead']:+.1f}%; "
        f"max |results diff| {res['results_diff']['max_abs']:.1e}."
        + (f" What changed: {res['label']}." if res["label"] else "")
    )
    with NOTES.open("a") as f:
        f.write(line + "\n")


if __name__ == "__main__":
    main()
