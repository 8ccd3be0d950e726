"""``icl-it``: run the ICL-vs-instruction-tuning experiments in-process or through the service.

icl-it run examples/default.yaml --out out/default     in-process, with a progress bar
icl-it run --preset duan2023 --scale smoke --out out/smoke
icl-it submit examples/default.yaml --wait             through the HTTP API
icl-it status ID | wait ID | results ID --table | export ID | events ID -f | artifacts ID
icl-it list --status running --tag baseline | cancel ID | delete ID   (ID: a unique prefix)
icl-it up                                              API + workers, embedded defaults
icl-it keys create --name alice                        API keys (keys list, keys revoke)
icl-it design --effect 0.02 --n-tests 13 --pilot results.json   n per cell, before a run
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from services.cli import datasets_cmds, experiments_cmds
from services.cli.datasets import add_mapping_arguments, add_upload_command, mapping_options
from services.cli.design import add_design_command
from services.cli.help import DESCRIPTION, EPILOG, completion_script, settings_help
from services.cli.specs import DATA_HELP, format_validation, load_spec, with_local_dataset

# Fractional runs (a run is part done) as a percentage and n with two decimals, never
# "0.3333333333333333/1".
# Commands that may reach the Hugging Face Hub: they keep the user's HF_HUB_OFFLINE (a
# model in the Hub cache loads without the network either way; docs/DATA.md).
HUB_COMMANDS = frozenset({"run", "up", "models"})
RUN_BAR_FORMAT = "{desc}{percentage:3.0f}%|{bar}| {n:.2f}/{total} runs [{elapsed}<{remaining}]"


def cmd_run(args: argparse.Namespace) -> int:
    """``icl-it run``: run a spec in this process (no services) with a progress bar, then print the
    summary table; 2 on an invalid spec or dataset."""
    from tqdm import tqdm

    from services.common.runtime.settings import apply_local_defaults

    apply_local_defaults(os.environ)  # this process is a single-user stack
    try:
        spec = load_spec(args.spec, args.preset, args.scale, args.set)
    except Exception as exc:
        print(format_validation(exc), file=sys.stderr)
        return 2
    if args.data:
        try:
            spec = with_local_dataset(spec, Path(args.data), mapping_options(args))
        except Exception as exc:
            print(f"icl-it: {args.data}: {exc}", file=sys.stderr)
            return 2
    from services.common.spec import expand_runs
    from services.local.runner import run_experiment

    runs = expand_runs(spec)
    out = Path(args.out)
    print(f"{spec.name}: {len(runs)} run(s) -> {out}", file=sys.stderr)
    bar = tqdm(
        total=len(runs),
        unit="run",
        disable=args.quiet,
        dynamic_ncols=True,
        bar_format=RUN_BAR_FORMAT,
    )

    def on_progress(i: int, n: int, run: Any, done: float, total: int, stage: str) -> None:
        bar.n = round(i + done / max(total, 1), 4)
        label = ",".join(f"{k.split('.')[-1]}={v}" for k, v in run.factors.items()) or "base"
        bar.set_description(f"run {i + 1}/{n} [{run.control}] {label} seed={run.seed}: {stage}")
        bar.refresh()

    results = run_experiment(spec, out, on_progress=on_progress)
    bar.n = len(runs)
    bar.close()
    print(summary_table(results))
    print(f"\nresults: {out / 'results.json'}\nreport:  {out / 'report.html'}")
    return 0


def summary_table(results: Mapping[str, Any]) -> str:
    """The plain-text summary table of a results document (``analysis.tables.summary_table``)."""
    from services.analysis.documents import Results
    from services.analysis.tables import summary_table as table

    return str(table(cast(Results, results)))  # JSON, checked by the schema at the edge


def cmd_models(args: argparse.Namespace) -> int:
    """``icl-it models``: list the catalog's models with their size and source, then the Hub
    cache's."""
    from services.common.spec.catalog import KNOWN_MODELS

    for m in KNOWN_MODELS.values():
        print(f"{m.name:20s} {m.params:>6s}  {m.source:8s} {m.description}")
    from services.cli.models import print_cached_models

    print_cached_models()
    return 0


def cmd_tasks(args: argparse.Namespace) -> int:
    """``icl-it tasks``: list the builtin tasks with their row counts and labels."""
    from services.common.spec.catalog import BUILTIN_TASKS
    from services.common.storage.datasets import load_builtin

    for name in BUILTIN_TASKS:
        ds = load_builtin(name)
        labels = ", ".join(ds.labels) or "(generation)"
        print(f"{name:20s} {len(ds.examples):5d} rows  {labels}")
    return 0


def cmd_tiny(args: argparse.Namespace) -> int:
    """``icl-it make-tiny-model``: write a tiny random-init Llama (for tests) and print its path."""
    from services.gpu_worker.models import save_tiny_llama

    target = Path(args.dir)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)  # as mkdir -p would
        print(save_tiny_llama(target, seed=args.seed))
    except OSError as exc:
        print(f"icl-it: cannot write a model to {target}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    """``icl-it up``: run the API and both workers on this machine until Ctrl-C."""
    from services.common.runtime.settings import get_settings
    from services.local.stack import run_stack

    settings = get_settings()
    return int(run_stack(args.host or settings.host, args.port or settings.port) or 0)


def cmd_keys(args: argparse.Namespace) -> int:
    """Manage API keys directly in the database (the operator's side; no API call)."""
    from services.common import db
    from services.common.db import keys

    db.migrate()
    with db.session_scope() as s:
        if args.keys_command == "create":
            try:
                row, key = keys.create_key(s, args.name, admin=args.admin)
            except ValueError as exc:  # the name (shown escaped: it may hold ESC etc.)
                print(f"icl-it keys create: --name {args.name!r}: {exc}", file=sys.stderr)
                return 2
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
    from services.common.jobs.reconciler import broker_queue_size, reconcile_once
    from services.common.runtime.celery_app import make_celery

    db.migrate()
    app = make_celery()
    result = reconcile_once(
        lambda name, args: app.send_task(name, args=args), broker_queue_size(app)
    )
    for field, ids in vars(result).items():
        print(f"{field:16} {len(ids):4}  {' '.join(ids)}".rstrip())
    return 0


def cmd_completion(args: argparse.Namespace) -> int:
    """``icl-it completion SHELL``: print the shell completion script."""
    sys.stdout.write(completion_script(build_parser(), args.shell))
    return 0


def _client_cmd(name: str):
    def run(args: argparse.Namespace) -> int:
        from services.cli import remote as client_cli

        return int(getattr(client_cli, name)(args))

    return run


def build_parser() -> argparse.ArgumentParser:
    """The ``icl-it`` argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="icl-it",
        description=DESCRIPTION,
        epilog=EPILOG + "\n" + settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _add_run_command(sub)
    _add_remote_commands(sub)
    _add_local_commands(sub)
    return parser


def _add_run_command(sub: Any) -> None:
    p = sub.add_parser("run", help="run a spec in-process (no services needed)")
    p.add_argument("spec", nargs="?", help="YAML or JSON experiment spec")
    p.add_argument("--preset", choices=["duan2023"], help="expand a named study design")
    p.add_argument("--scale", choices=["smoke", "default", "powered", "paper"], help="preset size")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a field, e.g. --set demos.k=8 (repeatable)",
    )
    p.add_argument("--data", metavar="FILE", help=DATA_HELP)
    add_mapping_arguments(p)
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_run)


def _add_remote_commands(sub: Any) -> None:
    """The HTTP API, through the SDK (services/cli/remote.py)."""
    p = sub.add_parser("submit", help="POST a spec to the API (optionally wait for it)")
    p.add_argument("spec", nargs="?", help="YAML or JSON experiment spec")
    p.add_argument("--preset", choices=["duan2023"])
    p.add_argument("--scale", choices=["smoke", "default", "powered", "paper"])
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    p.add_argument("--wait", action="store_true", help="poll with a progress bar until done")
    p.add_argument("--report", help="with --wait: write the HTML report here")
    p.add_argument("--idempotency-key", help="resubmitting with the same key is safe")
    p.add_argument("--tag", action="append", default=[], help="tag the experiment (repeatable)")
    p.add_argument("--data", metavar="FILE", help=DATA_HELP + " (uploaded first)")
    add_mapping_arguments(p)
    p.set_defaults(func=_client_cmd("submit"))

    p = sub.add_parser("status", help="show an experiment's status and progress")
    p.add_argument("id")
    p.set_defaults(func=_client_cmd("status"))
    experiments_cmds.register(sub)  # list, wait, results, delete, artifacts

    p = sub.add_parser(
        "export",
        help="results as a long table (CSV or Parquet), or --to mlflow (docs/EXPORTS.md)",
        description="The long table of cell statistics, or with --per-example one row per "
        "example, run, metric, pair and layer. ID is an experiment id, or the --out "
        "directory of `icl-it run`.",
    )
    p.add_argument("id", help="experiment id, or a local results directory")
    p.add_argument("--format", choices=["csv", "parquet", "json"], default="csv")
    p.add_argument("--per-example", action="store_true", help="the per-example table")
    p.add_argument("-o", "--output", help="write here (default: stdout)")
    p.set_defaults(func=_client_cmd("export"))
    from services.cli.mlflow_export import register as add_mlflow_export

    add_mlflow_export(p)  # --to mlflow

    p = sub.add_parser("cancel", help="cancel an experiment (stops at the next step)")
    p.add_argument("id")
    p.set_defaults(func=_client_cmd("cancel"))

    p = sub.add_parser("events", help="print an experiment's events")
    p.add_argument("id")
    p.add_argument("--follow", "-f", action="store_true", help="keep printing until final")
    p.add_argument("--after", type=int, help="only events with a larger id")
    p.set_defaults(func=_client_cmd("events"))

    p = sub.add_parser("download", help="download one artifact")
    p.add_argument("id")
    p.add_argument("artifact", help="artifact id (see `icl-it artifacts ID`)")
    p.add_argument("-o", "--output", help="file to write (default: stdout)")
    p.set_defaults(func=_client_cmd("download"))

    p = sub.add_parser("report", help="save an experiment's HTML report")
    p.add_argument("id")
    p.add_argument("-o", "--output", help="file to write (default: ID.html)")
    p.add_argument("--open", action="store_true", help="open it in a web browser")
    p.set_defaults(func=_client_cmd("report"))

    p = sub.add_parser("datasets", help="your datasets: upload, list, show, delete (docs/DATA.md)")
    dsub = p.add_subparsers(dest="datasets_command", required=True, metavar="ACTION")
    add_upload_command(dsub, _client_cmd("datasets_upload"))
    datasets_cmds.register(dsub)


def _add_local_commands(sub: Any) -> None:
    """Commands on this machine: the stack, keys, models, the reconciler, the design."""
    add_design_command(sub)
    p = sub.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh, tcsh)",
        description="e.g. `source <(icl-it completion bash)` in ~/.bashrc, or "
        "`icl-it completion zsh > ~/.zfunc/_icl-it` (a directory on $fpath).",
    )
    p.add_argument("shell", choices=["bash", "zsh", "tcsh"])
    p.set_defaults(func=cmd_completion)

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
        "reconcile", help="requeue silent runs, re-send lost tasks, finalize (one pass)"
    ).set_defaults(func=cmd_reconcile)

    p = sub.add_parser("models", help="list known model names; `models pull NAME` downloads one")
    p.set_defaults(func=cmd_models)
    from services.cli.models import add_pull_parser

    add_pull_parser(p.add_subparsers(dest="models_command", metavar="ACTION"))
    sub.add_parser("tasks", help="list builtin tasks").set_defaults(func=cmd_tasks)

    p = sub.add_parser("make-tiny-model", help="write a tiny random-init Llama (for tests)")
    p.add_argument("dir")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_tiny)


def main(argv: list[str] | None = None) -> int:
    """The ``icl-it`` entry point; returns the exit code (0 when the reader of stdout goes away)."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    if args.command not in HUB_COMMANDS:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`icl-it results ID | head`): not an error, no traceback.
        # Point stdout at devnull so the interpreter's final flush cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
