"""``icl-it list / wait / results / delete / artifacts``: finding, following and tidying
experiments (through the SDK and ``api_ops``). Experiment ids may be given as any unique
prefix (resolved on the server by ``remote``'s guard)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any, cast

from services.cli.tables import format_table, human_size

SHORT_ID = 12  # `list` shows this much of an id; any unique prefix works as an id
# common.db.status.ExperimentStatus's values (a test keeps them equal); not imported here,
# so that building the parser does not load SQLAlchemy and the generated client.
STATUSES = ("queued", "running", "cancelling", "succeeded", "failed", "cancelled")
WAIT_CODES = "exit status: 0 succeeded, 1 failed or cancelled, 124 --timeout passed"


Command = Callable[[argparse.Namespace], int]


def guarded(command: Command) -> Command:
    """``remote._guard`` applied when the command runs (short ids resolved, API errors as
    one line), imported only then."""

    def run(args: argparse.Namespace) -> int:
        from services.cli.remote import _guard

        return _guard(command)(args)

    run.__doc__ = command.__doc__
    return run


def register(sub: Any) -> None:
    """Add list, wait, results, delete and artifacts to the ``icl-it`` subparsers."""
    p = sub.add_parser(
        "list",
        help="list your experiments (newest first; filter by status, name, tag)",
        description="Your experiments, newest first, filtered on the server. IDs are shown "
        f"shortened to {SHORT_ID} characters: any unique prefix is accepted as an id.",
    )
    p.add_argument("--limit", type=int, default=0, help="at most this many (default: all)")
    p.add_argument("--status", action="append", default=[], choices=STATUSES, help="repeatable")
    p.add_argument("--name", help="names containing this text (any case)")
    p.add_argument("--tag", action="append", default=[], help="has this tag (repeatable: all)")
    p.add_argument("--full-ids", action="store_true", help="print whole ids")
    p.set_defaults(func=list_experiments)

    p = sub.add_parser(
        "wait",
        help="wait until an experiment has finished, with a progress line",
        description=f"Block until the experiment is final. {WAIT_CODES}.",
    )
    p.add_argument("id", help="experiment id or a unique prefix of it")
    p.add_argument("--timeout", type=float, help="give up after this many seconds")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=wait)

    p = sub.add_parser(
        "results",
        help="print an experiment's results (the JSON document, or --table)",
        description="The results document as JSON (the default, or --json), or --table: "
        "the summary table `submit --wait` prints.",
    )
    p.add_argument("id", help="experiment id or a unique prefix of it")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--table", action="store_true", help="the summary table")
    how.add_argument("--json", action="store_true", help="the JSON document (default)")
    p.set_defaults(func=results)

    p = sub.add_parser(
        "delete",
        help="delete a finished experiment with its runs, events and files",
        description="Delete a finished (succeeded, failed or cancelled) experiment and every "
        "file it stored. A running one is refused: `icl-it cancel` it first.",
    )
    p.add_argument("id", help="experiment id or a unique prefix of it")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=delete)

    p = sub.add_parser("artifacts", help="list an experiment's artifacts with their sizes")
    p.add_argument("id", help="experiment id or a unique prefix of it")
    p.set_defaults(func=artifacts)


@guarded
def list_experiments(args: argparse.Namespace) -> int:
    """A header row, then one aligned row per experiment; a message when there is none."""
    from services.cli import api_ops
    from services.cli.remote import make_client

    rows: list[list[str]] = []
    page = min(args.limit, 100) if args.limit > 0 else 100  # the API's largest page
    found = api_ops.experiments(
        make_client(), statuses=args.status, name=args.name, tags=args.tag, page_size=page
    )
    for e in found:
        if args.limit and len(rows) >= args.limit:
            break
        p = e.progress
        rows.append(
            [
                e.id if args.full_ids else e.id[:SHORT_ID],
                e.status.value,
                f"{p.completed_runs}/{p.total_runs}",
                f"{p.fraction:.0%}",
                f"{e.created_at:%Y-%m-%d %H:%M}",
                e.name,
                ",".join(e.tags),
            ]
        )
    if not rows:
        filters = {"status": args.status, "name": args.name, "tag": args.tag}
        given = " ".join(
            f"{k}={','.join(v) if isinstance(v, list) else v}" for k, v in filters.items() if v
        )
        print(f"no experiments{f' match {given}' if given else ''}")
        return 0
    headers = ["ID", "STATUS", "RUNS", "DONE", "CREATED", "NAME", "TAGS"]
    print(format_table(headers, rows, right=[2, 3]))
    return 0


@guarded
def wait(args: argparse.Namespace) -> int:
    """Follow the experiment to its end with a progress line; the exit status says how it
    ended (0 succeeded)."""
    from icl_it_sdk.errors import WaitTimeout

    from services.cli.remote import _fail, make_client, wait_for

    try:
        experiment = wait_for(make_client(), args.id, progress=not args.quiet, timeout=args.timeout)
    except WaitTimeout as exc:
        return _fail(str(exc), 124)
    status = experiment.status.value
    p = experiment.progress
    print(f"{experiment.id}  {status}  ({p.completed_runs}/{p.total_runs} runs)")
    if experiment.error is not None:
        print(f"error: {experiment.error.code}: {experiment.error.message}", file=sys.stderr)
    return 0 if status == "succeeded" else 1


@guarded
def results(args: argparse.Namespace) -> int:
    """The results document as JSON, or (--table) the summary table."""
    from services.cli.remote import get_results, make_client

    doc = get_results(make_client(), args.id)
    if args.table:
        from services.analysis.documents import Results
        from services.analysis.tables import summary_table

        print(summary_table(cast(Results, doc)))  # JSON, checked by the schema at the edge
        return 0
    json.dump(doc, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


@guarded
def delete(args: argparse.Namespace) -> int:
    """Delete a finished experiment (asks first on a terminal, unless --yes)."""
    from services.cli import api_ops
    from services.cli.remote import _fail, make_client, sdk

    if not args.yes and sys.stdin.isatty():
        e = sdk().experiment(args.id)
        answer = input(f"delete {e.id} ({e.name}, {e.status.value}) and its files? [y/N] ")
        if answer.strip().lower() not in {"y", "yes"}:
            return _fail("not deleted", 1)
    api_ops.delete_experiment(make_client(), args.id)
    print(f"deleted {args.id}")
    return 0


@guarded
def artifacts(args: argparse.Namespace) -> int:
    """Id, kind, size and shape of every artifact (download one with `icl-it download`)."""
    from services.cli.remote import sdk

    rows = []
    for a in sdk().artifacts(args.id):
        size = a.size_bytes if isinstance(a.size_bytes, int) else None
        shape = "x".join(map(str, a.shape)) if isinstance(a.shape, list) else ""
        rows.append([a.id, a.kind.value, human_size(size), shape])
    if not rows:
        print("no artifacts yet")
        return 0
    print(format_table(["ID", "KIND", "SIZE", "SHAPE"], rows, right=[2]))
    return 0
