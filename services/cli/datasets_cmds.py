"""``icl-it datasets list / show / delete``: your uploaded datasets (``datasets upload``
is in ``main``). A dataset is named by its id, a unique prefix of it, or ``upload:<id>``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from services.cli.experiments_cmds import guarded
from services.cli.tables import format_table, human_size

TASK_PREFIX = "upload:"


def register(dsub: Any) -> None:
    """Add list, show and delete to the ``icl-it datasets`` subparsers."""
    dsub.add_parser("list", help="list your uploaded datasets").set_defaults(func=list_datasets)
    q = dsub.add_parser("show", help="one dataset's kind, rows, size and hash")
    q.add_argument("dataset", help="dataset id, a unique prefix of it, or upload:<id>")
    q.set_defaults(func=show)
    q = dsub.add_parser("delete", help="delete a dataset (refused while an experiment uses it)")
    q.add_argument("dataset", help="dataset id, a unique prefix of it, or upload:<id>")
    q.set_defaults(func=delete)


def _resolve(client: Any, given: str) -> str | None:
    """The id of the one dataset ``given`` names (among the key's own), else None after
    printing why."""
    from services.cli import api_ops
    from services.cli.remote import _fail

    text = given.removeprefix(TASK_PREFIX).strip().lower()
    ids = [d.id for d in api_ops.datasets(client)]
    matches = [i for i in ids if i == text] or [i for i in ids if i.startswith(text)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        _fail(f"no dataset {given!r} (see `icl-it datasets list`)")
    else:
        _fail(f"{given!r} is ambiguous: it starts {len(matches)} dataset ids: {', '.join(matches)}")
    return None


@guarded
def list_datasets(args: argparse.Namespace) -> int:
    """A header row, then one aligned row per dataset."""
    from services.cli import api_ops
    from services.cli.remote import make_client

    found = api_ops.datasets(make_client())
    if not found:
        print("no datasets (upload one with `icl-it datasets upload FILE`)")
        return 0
    rows = [
        [
            f"{TASK_PREFIX}{d.id}",
            d.kind.value,
            d.n_rows,
            human_size(d.size_bytes),
            f"{d.created_at:%Y-%m-%d %H:%M}",
        ]
        for d in found
    ]
    print(format_table(["TASK", "KIND", "ROWS", "SIZE", "CREATED"], rows, right=[2, 3]))
    return 0


@guarded
def show(args: argparse.Namespace) -> int:
    """Every field of one dataset."""
    from services.cli.remote import make_client, sdk

    client = make_client()
    dataset_id = _resolve(client, args.dataset)
    if dataset_id is None:
        return 1
    d = sdk(client).dataset(dataset_id)
    print(f"task:     {d.task}")
    print(f"kind:     {d.kind.value}")
    print(f"rows:     {d.n_rows}")
    print(f"size:     {human_size(d.size_bytes)} ({d.size_bytes} bytes)")
    print(f"sha256:   {d.sha256}")
    print(f"created:  {d.created_at:%Y-%m-%d %H:%M:%S}")
    return 0


@guarded
def delete(args: argparse.Namespace) -> int:
    """Delete one dataset."""
    from services.cli import api_ops
    from services.cli.remote import make_client

    client = make_client()
    dataset_id = _resolve(client, args.dataset)
    if dataset_id is None:
        return 1
    api_ops.delete_dataset(client, dataset_id)
    print(f"deleted {TASK_PREFIX}{dataset_id}", file=sys.stdout)
    return 0
