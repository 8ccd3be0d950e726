"""``icl-it``: run the ICL-vs-instruction-tuning experiments in-process or through the service.

icl-it run examples/default.yaml --out out/default     in-process, with a progress bar
icl-it run --preset duan2023 --scale smoke --out out/smoke
icl-it submit examples/default.yaml --wait             through the HTTP API
icl-it status ID | icl-it results ID
icl-it up                                              API + workers, embedded defaults
icl-it keys create --name alice                        API keys (keys list, keys revoke)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

DESCRIPTION = """\
Does in-context learning behave like implicit instruction tuning on your model?
(Duan et al., arXiv 2311.10367.) For each inference example x and demonstration set D,
the service takes the last-prompt-token hidden state at every layer in three conditions:
anchor (zero-shot), ICL (D in the prompt) and IT (no D, but a LoRA adapter tuned on D),
and compares them layer by layer (cosine, centered cosine, linear CKA) with confidence
intervals, task accuracy and controls (random-init model, untuned adapter).
"""

EPILOG = """\
examples:
  icl-it run examples/default.yaml --out out/default
  icl-it run --preset duan2023 --scale smoke --out out/smoke
  icl-it up                      # API on 127.0.0.1:8000 (ICL_IT_PORT) + workers
  icl-it submit examples/default.yaml --wait
  icl-it results <experiment id> > results.json

environment:
  DATABASE_URL   Postgres URL (default: SQLite under $ICL_IT_HOME)
  REDIS_URL      Celery broker (default: Celery's SQLAlchemy transport on SQLite)
  ARTIFACT_URL   artifact store, any fsspec URL (default: $ICL_IT_HOME/artifacts)
  ICL_IT_HOME    embedded state directory (default: ./var)
  ICL_IT_MODEL_DIRS  directories local models may be loaded from
  ICL_IT_URL     API base URL for submit/status/results (default http://127.0.0.1:8000)
  ICL_IT_API_KEY sent as a Bearer token (default: the local key the stack writes to
                 $ICL_IT_HOME/api_key); experiments are visible only to the same key
  icl-it keys create --name NAME [--admin] | keys list | keys revoke ID_OR_NAME
"""


def load_spec(path: str | None, preset: str | None, scale: str | None, overrides: list[str]):
    """Read a YAML/JSON spec file, apply --preset/--scale and --set a.b=value overrides."""
    import yaml

    from services.common.spec import ExperimentSpec

    data: dict[str, Any] = {}
    if path:
        text = Path(path).read_text()
        data = (json.loads(text) if path.endswith(".json") else yaml.safe_load(text)) or {}
    if preset:
        data["preset"] = preset
    if scale:
        data["scale"] = scale
    for item in overrides:
        dotted, _, raw = item.partition("=")
        target = data
        *parents, leaf = dotted.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = yaml.safe_load(raw)
    return ExperimentSpec.model_validate(data)


def _format_validation(exc: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        lines = [f"invalid spec ({exc.error_count()} error(s)):"]
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "(spec)"
            lines.append(f"  {loc}: {err['msg']}")
        return "\n".join(lines)
    return f"invalid spec: {exc}"


def cmd_run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    try:
        spec = load_spec(args.spec, args.preset, args.scale, args.set)
    except Exception as exc:
        print(_format_validation(exc), file=sys.stderr)
        return 2
    from services.common.spec import expand_runs
    from services.runner import run_in_process

    runs = expand_runs(spec)
    out = Path(args.out)
    print(f"{spec.name}: {len(runs)} run(s) -> {out}", file=sys.stderr)
    bar = tqdm(total=len(runs), unit="run", disable=args.quiet, dynamic_ncols=True)

    def on_progress(i: int, n: int, run: Any, done: int, total: int, stage: str) -> None:
        bar.n = i + done / max(total, 1)
        label = ",".join(f"{k.split('.')[-1]}={v}" for k, v in run.factors.items()) or "base"
        bar.set_description(f"run {i + 1}/{n} [{run.control}] {label} seed={run.seed}: {stage}")
        bar.refresh()

    results = run_in_process(spec, out, on_progress=on_progress)
    bar.n = len(runs)
    bar.close()
    print(summary_table(results))
    print(f"\nresults: {out / 'results.json'}\nreport:  {out / 'report.html'}")
    return 0


def summary_table(results: dict[str, Any]) -> str:
    from services.analysis.report import summary_table as table

    return str(table(results))


def cmd_models(args: argparse.Namespace) -> int:
    from services.common.catalog import KNOWN_MODELS

    for m in KNOWN_MODELS.values():
        print(f"{m.name:20s} {m.params:>6s}  {m.source:8s} {m.description}")
    return 0


def cmd_tasks(args: argparse.Namespace) -> int:
    from services.common.catalog import BUILTIN_TASKS
    from services.common.datasets import load_builtin

    for name in BUILTIN_TASKS:
        ds = load_builtin(name)
        labels = ", ".join(ds.labels) or "(generation)"
        print(f"{name:20s} {len(ds.examples):5d} rows  {labels}")
    return 0


def cmd_tiny(args: argparse.Namespace) -> int:
    from services.gpu_worker.models import save_tiny_llama

    print(save_tiny_llama(Path(args.dir), seed=args.seed))
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from services.common.settings import get_settings
    from services.stack import run_stack

    settings = get_settings()
    return int(run_stack(args.host or settings.host, args.port or settings.port) or 0)


def cmd_keys(args: argparse.Namespace) -> int:
    """Manage API keys directly in the database (the operator's side; no API call)."""
    from services.common import db, keys

    db.migrate()
    with db.session_scope() as s:
        if args.keys_command == "create":
            row, key = keys.create_key(s, args.name, admin=args.admin)
            s.commit()
            print(f"created key {row.id} ({row.name}{', admin' if row.admin else ''})")
            print("the key (shown once; store it, e.g. export ICL_IT_API_KEY=...):")
            print(key)
            return 0
        if args.keys_command == "list":
            print(f"{'id':32}  {'name':20}  {'admin':5}  {'created':20}  revoked")
            for row in keys.list_keys(s):
                created = row.created_at.strftime("%Y-%m-%d %H:%M:%S")
                revoked = row.revoked_at.strftime("%Y-%m-%d %H:%M:%S") if row.revoked_at else "-"
                print(f"{row.id:32}  {row.name:20}  {'yes' if row.admin else 'no':5}  "
                      f"{created:20}  {revoked}")  # fmt: skip
            return 0
        n = keys.revoke(s, args.key)
        s.commit()
        if n == 0:
            print(f"no active key with id or name {args.key!r}", file=sys.stderr)
            return 1
        print(f"revoked {n} key(s)")
        return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    """One reconciler pass by hand (the workers run it at start and periodically)."""
    from services.common import db
    from services.common.celery_app import make_celery
    from services.common.reconciler import broker_queue_size, reconcile_once

    db.migrate()
    app = make_celery()
    result = reconcile_once(
        lambda name, args: app.send_task(name, args=args), broker_queue_size(app)
    )
    for field, ids in vars(result).items():
        print(f"{field:16} {len(ids):4}  {' '.join(ids)}".rstrip())
    return 0


def _client_cmd(name: str):
    def run(args: argparse.Namespace) -> int:
        from services import client_cli

        return int(getattr(client_cli, name)(args))

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="icl-it",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run a spec in-process (no services needed)")
    p.add_argument("spec", nargs="?", help="YAML or JSON experiment spec")
    p.add_argument("--preset", choices=["duan2023"], help="expand a named study design")
    p.add_argument("--scale", choices=["smoke", "default", "paper"], help="preset size")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a field, e.g. --set demos.k=8 (repeatable)",
    )
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("submit", help="POST a spec to the API (optionally wait for it)")
    p.add_argument("spec", nargs="?", help="YAML or JSON experiment spec")
    p.add_argument("--preset", choices=["duan2023"])
    p.add_argument("--scale", choices=["smoke", "default", "paper"])
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    p.add_argument("--wait", action="store_true", help="poll with a progress bar until done")
    p.add_argument("--report", help="with --wait: write the HTML report here")
    p.add_argument("--idempotency-key", help="resubmitting with the same key is safe")
    p.set_defaults(func=_client_cmd("submit"))

    p = sub.add_parser("status", help="show an experiment's status and progress")
    p.add_argument("id")
    p.set_defaults(func=_client_cmd("status"))

    p = sub.add_parser("results", help="print an experiment's results JSON")
    p.add_argument("id")
    p.set_defaults(func=_client_cmd("results"))

    p = sub.add_parser("up", help="start the API and both workers in the foreground")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("keys", help="create, list and revoke API keys (in the database)")
    keys_sub = p.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    k = keys_sub.add_parser("create", help="create a key and print it once")
    k.add_argument("--name", required=True)
    k.add_argument("--admin", action="store_true", help="sees every owner's experiments")
    keys_sub.add_parser("list", help="list keys (never the keys themselves)")
    k = keys_sub.add_parser("revoke", help="revoke a key by id, or every key of a name")
    k.add_argument("key", metavar="ID_OR_NAME")
    p.set_defaults(func=cmd_keys)

    sub.add_parser(
        "reconcile", help="requeue silent runs, re-send lost tasks, finalise (one pass)"
    ).set_defaults(func=cmd_reconcile)


    p = sub.add_parser("models", help="list known model names; `models pull NAME` downloads one")
    p.set_defaults(func=cmd_models)
    from services.model_pull import add_pull_parser

    add_pull_parser(p.add_subparsers(dest="models_command", metavar="ACTION"))
    sub.add_parser("tasks", help="list builtin tasks").set_defaults(func=cmd_tasks)

    p = sub.add_parser("make-tiny-model", help="write a tiny random-init Llama (for tests)")
    p.add_argument("dir")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_tiny)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
