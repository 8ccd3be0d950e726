"""API operations the CLI needs beyond the SDK's (``clients/sdk``): filtered experiment
lists, deletes, the dataset list, and short ids resolved on the server.

Each calls one operation of the generated client (``icl_it_client``) and raises the SDK's
typed errors (``icl_it_sdk.errors.error_for``), as the SDK's own methods do; nothing here
talks HTTP by hand.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

from icl_it_client import AuthenticatedClient, Client
from icl_it_client.api.datasets import delete_dataset as delete_dataset_op
from icl_it_client.api.datasets import list_datasets as list_datasets_op
from icl_it_client.api.experiments import delete_experiment as delete_experiment_op
from icl_it_client.api.experiments import list_experiments as list_experiments_op
from icl_it_client.models import (
    Dataset,
    DatasetList,
    ExperimentList,
    ExperimentStatus,
    ExperimentSummary,
)
from icl_it_client.types import UNSET, Response
from icl_it_sdk.errors import error_for

T = TypeVar("T")
FULL_ID = re.compile(r"^[0-9a-f]{32}$")
ID_PREFIX = re.compile(r"^[0-9a-f]{1,31}$")
SHOWN_CANDIDATES = 10


class IdError(LookupError):
    """A short id that names no experiment, or more than one."""


def _check(response: Response[Any], status: int, kind: type[T] | None = None) -> T:
    ok = int(response.status_code) == status
    if not ok or (kind is not None and not isinstance(response.parsed, kind)):
        raise error_for(int(response.status_code), response.status_code.phrase, response.content)
    return cast(T, response.parsed)


def experiments(
    client: Client | AuthenticatedClient,
    *,
    statuses: Sequence[str] = (),
    name: str | None = None,
    tags: Sequence[str] = (),
    id_prefix: str | None = None,
    page_size: int = 100,
) -> Iterator[ExperimentSummary]:
    """Every experiment visible to the key that matches the filters (the server applies
    them), newest first, page by page."""
    after: str | None = None
    while True:
        page = _check(
            list_experiments_op.sync_detailed(
                client=cast(AuthenticatedClient, client),
                limit=page_size,
                after=after if after is not None else UNSET,
                status=[ExperimentStatus(s) for s in statuses] or UNSET,
                name=name if name else UNSET,
                tag=list(tags) or UNSET,
                id_prefix=id_prefix if id_prefix else UNSET,
            ),
            200,
            ExperimentList,
        )
        yield from page.data
        if not page.has_more or not isinstance(page.next_cursor, str):
            return
        after = page.next_cursor


def delete_experiment(client: Client | AuthenticatedClient, experiment_id: str) -> None:
    """DELETE a finished experiment (``Conflict`` while it is not finished)."""
    response = delete_experiment_op.sync_detailed(
        experiment_id, client=cast(AuthenticatedClient, client)
    )
    _check(response, 204)


def datasets(client: Client | AuthenticatedClient) -> list[Dataset]:
    """The key's uploaded datasets, newest first."""
    response = list_datasets_op.sync_detailed(client=cast(AuthenticatedClient, client))
    return _check(response, 200, DatasetList).data


def delete_dataset(client: Client | AuthenticatedClient, dataset_id: str) -> None:
    """DELETE an uploaded dataset (``Conflict`` while an unfinished experiment reads it)."""
    response = delete_dataset_op.sync_detailed(dataset_id, client=cast(AuthenticatedClient, client))
    _check(response, 204)


def resolve_id(client: Client | AuthenticatedClient, text: str) -> str:
    """The full id of the one experiment whose id starts with ``text`` (asked of the server,
    so only the key's own experiments count). A full id, or anything that is not hex, is
    returned as given: the command's own request answers for it."""
    prefix = text.strip().lower()
    if FULL_ID.match(prefix) or not ID_PREFIX.match(prefix):
        return text
    found = []
    for e in experiments(client, id_prefix=prefix, page_size=SHOWN_CANDIDATES + 1):
        found.append(e)
        if len(found) > SHOWN_CANDIDATES:
            break
    if not found:
        raise IdError(f"no experiment id starts with {prefix!r} (see `icl-it list`)")
    if len(found) > 1:
        more = " and more" if len(found) > SHOWN_CANDIDATES else ""
        lines = [
            f"  {e.id}  {e.status.value:10s} {e.created_at:%Y-%m-%d %H:%M}  {e.name}"
            for e in found[:SHOWN_CANDIDATES]
        ]
        raise IdError(
            f"id prefix {prefix!r} is ambiguous: it matches {len(found[:SHOWN_CANDIDATES])}"
            f"{more} experiments; give more characters:\n" + "\n".join(lines)
        )
    return found[0].id


def resolve_args_id(client: Client | AuthenticatedClient, args: argparse.Namespace) -> None:
    """Replace a short ``args.id`` by the full experiment id. A local path given where a
    command also takes one (``icl-it export DIR``) is left alone."""
    given = getattr(args, "id", None)
    if isinstance(given, str) and not Path(given).exists():
        args.id = resolve_id(client, given)
