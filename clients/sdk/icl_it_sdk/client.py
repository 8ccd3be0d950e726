"""``IclIt``: the typed, raising layer over the generated client (``icl_it_client``).

The generated package stays exactly as ``make client`` writes it; this module calls its
operations, turns every non-success answer into a typed exception carrying the problem
document (``errors.py``), and adds what a script needs: ``wait``, cursor iterators,
artifact downloads to bytes or to a file, and long-table exports.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Literal, TypeVar, cast

import httpx
import tenacity
from icl_it_client import AuthenticatedClient, Client
from icl_it_client.api.datasets import get_dataset as get_dataset_op
from icl_it_client.api.datasets import upload_dataset as upload_dataset_op
from icl_it_client.api.experiments import cancel_experiment as cancel_op
from icl_it_client.api.experiments import download_artifact as download_op
from icl_it_client.api.experiments import get_experiment as get_experiment_op
from icl_it_client.api.experiments import get_report as get_report_op
from icl_it_client.api.experiments import list_artifacts as list_artifacts_op
from icl_it_client.api.experiments import list_events as list_events_op
from icl_it_client.api.experiments import list_experiments as list_experiments_op
from icl_it_client.api.health import readyz as readyz_op
from icl_it_client.models import (
    Artifact,
    ArtifactList,
    Dataset,
    Event,
    EventList,
    Experiment,
    ExperimentList,
    ExperimentSummary,
    UploadDatasetFormat,
)
from icl_it_client.types import UNSET, File, Response

from icl_it_sdk.address import default_url, local_key
from icl_it_sdk.errors import ServerError, WaitTimeout, error_for
from icl_it_sdk.events import TRANSIENT_TRIES, TRANSIENT_WAIT_MAX_S, follow_events
from icl_it_sdk.results import ExportTable, Results, bind_tables

TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
T = TypeVar("T")
ExportFormat = Literal["csv", "parquet", "json"]


class IclIt:
    """A connection to the icl-it API.

    ``url`` defaults to ``default_url()``: ``$ICL_IT_URL``, else where ``icl-it up``
    listens (``$ICL_IT_HOST``, ``$ICL_IT_PORT``; http://127.0.0.1:8000); ``api_key`` to
    ``$ICL_IT_API_KEY``, else the local stack's key in ``$ICL_IT_HOME/api_key``. The API
    answers 401 (``Unauthorized``) without a registered key.
    Use as a context manager, or call ``close()``.
    """

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        client: Client | AuthenticatedClient | None = None,
    ) -> None:
        self.url = (url or default_url()).rstrip("/")
        key = api_key if api_key is not None else os.environ.get("ICL_IT_API_KEY") or local_key()
        limits = httpx.Timeout(timeout, connect=5.0)
        # Every generated operation is typed AuthenticatedClient, though a plain one works.
        self._client: AuthenticatedClient = (
            cast(AuthenticatedClient, client)
            if client is not None
            else AuthenticatedClient(base_url=self.url, token=key, timeout=limits)
            if key
            else cast(AuthenticatedClient, Client(base_url=self.url, timeout=limits))
        )

    # -- plumbing ----------------------------------------------------------------------
    def __enter__(self) -> IclIt:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.get_httpx_client().close()

    @property
    def http(self) -> httpx.Client:
        """The underlying httpx client (base URL and auth header set)."""
        return self._client.get_httpx_client()

    @staticmethod
    def _expect(response: Response[Any], status: int, kind: type[T]) -> T:
        if int(response.status_code) != status or not isinstance(response.parsed, kind):
            raise error_for(
                int(response.status_code), response.status_code.phrase, response.content
            )
        return response.parsed

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise error_for(response.status_code, response.reason_phrase, response.content)
        return response

    # -- experiments -------------------------------------------------------------------
    def ready(self) -> bool:
        """True when the API answers /readyz with 200 (database and broker reachable)."""
        try:
            return int(readyz_op.sync_detailed(client=self._client).status_code) == 200
        except httpx.TransportError:
            return False

    def submit(self, spec: Mapping[str, Any], *, idempotency_key: str | None = None) -> Experiment:
        """POST a spec (a dict as in examples/default.yaml, or ``{"preset": ...}``).

        The dict is sent as it is, so the server's strict validation applies: an unknown
        or misspelt key is a ``ValidationFailed`` naming the field, never a silent default.
        """
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        response = self._send("POST", "/v1/experiments", json=dict(spec), headers=headers)
        return Experiment.from_dict(response.json())

    def submit_file(
        self, path: str | os.PathLike[str], *, idempotency_key: str | None = None
    ) -> Experiment:
        """POST a spec file: YAML (``.yaml``/``.yml``, as examples/default.yaml) or JSON."""
        text = Path(path).read_text(encoding="utf-8")
        if str(path).endswith(".json"):
            spec = json.loads(text)
        else:
            import yaml

            spec = yaml.safe_load(text) or {}
        if not isinstance(spec, dict):
            raise ValueError(f"{path}: a spec file holds a mapping of fields")
        return self.submit(spec, idempotency_key=idempotency_key)

    def experiment(self, experiment_id: str) -> Experiment:
        response = get_experiment_op.sync_detailed(experiment_id, client=self._client)
        return self._expect(response, 200, Experiment)

    def cancel(self, experiment_id: str) -> Experiment:
        response = cancel_op.sync_detailed(experiment_id, client=self._client)
        return self._expect(response, 202, Experiment)

    def experiments(self, *, page_size: int = 50) -> Iterator[ExperimentSummary]:
        """Every experiment visible to this key, newest first, page by page."""
        after: str | None = None
        while True:
            page = self._expect(
                list_experiments_op.sync_detailed(
                    client=self._client,
                    limit=page_size,
                    after=after if after is not None else UNSET,
                ),
                200,
                ExperimentList,
            )
            yield from page.data
            if not page.has_more or not isinstance(page.next_cursor, str):
                return
            after = page.next_cursor

    def events(
        self,
        experiment_id: str,
        *,
        after: int | None = None,
        follow: bool = False,
        page_size: int = 200,
    ) -> Iterator[Event]:
        """The experiment's events in order. ``follow``: keep reading the server-sent event
        stream until the experiment has ended (reconnecting after the last event seen)."""
        if follow:
            yield from self.stream_events(experiment_id, after=after)
            return
        while True:
            page = self._expect(
                list_events_op.sync_detailed(
                    experiment_id,
                    client=self._client,
                    after=after if after is not None else UNSET,
                    limit=page_size,
                ),
                200,
                EventList,
            )
            for event in page.data:
                after = event.id
                yield event
            if not page.has_more:
                return

    def stream_events(self, experiment_id: str, *, after: int | None = None) -> Iterator[Event]:
        """``GET .../events/stream``: each event as the server writes it, until the
        experiment has ended. A dropped connection is resumed with Last-Event-ID (five
        tries in a row, with backoff)."""
        return follow_events(self.http, experiment_id, after)

    def wait(
        self,
        experiment_id: str,
        timeout: float | None = None,
        *,
        on_progress: Callable[[Experiment], None] | None = None,
        poll_interval: float = 1.0,
    ) -> Experiment:
        """Poll until the experiment is final; returns it (whatever its final status).

        ``on_progress(experiment)`` is called after every poll. Transient failures (a
        connection reset, a 5xx) are retried with backoff. Raises ``WaitTimeout``.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            try:
                experiment = self._poll(experiment_id, left)
            except (httpx.TransportError, ServerError) as exc:
                if deadline is not None and time.monotonic() >= deadline - TRANSIENT_WAIT_MAX_S:
                    raise WaitTimeout(experiment_id, timeout or 0.0, "unknown") from exc
                raise
            if on_progress is not None:
                on_progress(experiment)
            if experiment.status.value in TERMINAL:
                return experiment
            if deadline is not None and time.monotonic() + poll_interval > deadline:
                raise WaitTimeout(experiment_id, timeout or 0.0, experiment.status.value)
            time.sleep(poll_interval)

    def _poll(self, experiment_id: str, left_s: float | None) -> Experiment:
        """One read of the experiment; transient failures (a connection reset, a 5xx) are
        retried with backoff (2, 4, 8, 10 s), five tries in all and never past ``left_s``."""
        stop: tenacity.stop.stop_base = tenacity.stop_after_attempt(TRANSIENT_TRIES)
        if left_s is not None:
            stop = stop | tenacity.stop_before_delay(max(left_s, 0.0))
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type((httpx.TransportError, ServerError)),
            wait=tenacity.wait_exponential(multiplier=2, max=TRANSIENT_WAIT_MAX_S),
            stop=stop,
            reraise=True,
        )
        return retrying(self.experiment, experiment_id)

    # -- results -----------------------------------------------------------------------
    def results(self, experiment_id: str) -> Results:
        """The results document, typed by its schema (cells named by ``label``), with
        ``to_pandas()``. ``Conflict`` until the experiment has finished. ``.to_dict()``
        gives the JSON back."""
        response = self._send("GET", f"/v1/experiments/{experiment_id}/results")
        results = Results.from_dict(response.json())

        def fetch(table: ExportTable) -> dict[str, Any]:
            params = {"format": "json", "table": table}
            path = f"/v1/experiments/{experiment_id}/results"
            records: dict[str, Any] = self._send("GET", path, params=params).json()
            return records

        return bind_tables(results, fetch)

    def results_json(self, experiment_id: str) -> dict[str, Any]:
        """The results document exactly as the server sent it (plain JSON, key order and
        any field newer than this client kept): for writing it to a file."""
        document: dict[str, Any] = self._send(
            "GET", f"/v1/experiments/{experiment_id}/results"
        ).json()
        return document

    def report(self, experiment_id: str) -> str:
        """The self-contained HTML report (figures inline)."""
        response = get_report_op.sync_detailed(experiment_id, client=self._client)
        return self._expect(response, 200, str)

    def export(
        self, experiment_id: str, format: ExportFormat = "csv", table: ExportTable = "cells"
    ) -> bytes:
        """A long table of the results (docs/EXPORTS.md): CSV or Parquet bytes.

        ``pandas.read_parquet(io.BytesIO(api.export(id, "parquet")))`` loads it.
        """
        params = {"format": format, "table": table}
        return self._send("GET", f"/v1/experiments/{experiment_id}/results", params=params).content

    # -- artifacts ---------------------------------------------------------------------
    def artifacts(self, experiment_id: str) -> list[Artifact]:
        response = list_artifacts_op.sync_detailed(experiment_id, client=self._client)
        return self._expect(response, 200, ArtifactList).data

    def download(
        self,
        experiment_id: str,
        artifact_id: str,
        to: str | os.PathLike[str] | IO[bytes] | None = None,
    ) -> bytes | Path | None:
        """An artifact's bytes; with ``to``, streamed into that file (returns its path) or
        binary file object (returns None) without holding it in memory."""
        kwargs = download_op._get_kwargs(experiment_id, artifact_id)
        with self.http.stream(kwargs["method"].upper(), kwargs["url"]) as response:
            if response.status_code >= 400:
                response.read()
                raise error_for(response.status_code, response.reason_phrase, response.content)
            if to is None:
                return response.read()
            if isinstance(to, (str, os.PathLike)):
                path = Path(to)
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(path.name + ".part")
                with open(tmp, "wb") as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
                tmp.replace(path)
                return path
            for chunk in response.iter_bytes():
                to.write(chunk)
            return None

    def download_bytes(self, experiment_id: str, artifact_id: str) -> bytes:
        data = self.download(experiment_id, artifact_id)
        assert isinstance(data, bytes)
        return data

    def download_to(
        self, experiment_id: str, artifact_id: str, path: str | os.PathLike[str]
    ) -> Path:
        result = self.download(experiment_id, artifact_id, path)
        assert isinstance(result, Path)
        return result

    # -- datasets ----------------------------------------------------------------------
    def upload_dataset(
        self,
        data: bytes | str | os.PathLike[str],
        *,
        format: Literal["auto", "jsonl", "csv", "parquet"] | None = None,
        text_column: str | None = None,
        label_column: str | None = None,
        label_names: list[str] | None = None,
    ) -> Dataset:
        """Upload a dataset (bytes, or a file path): JSONL, CSV or Parquet, with the columns
        that hold the text and the label, and the words of integer labels (docs/DATA.md).
        The format is the file's suffix unless given (auto: detected). Use ``dataset.task``
        in a spec."""
        raw = data if isinstance(data, bytes) else Path(data).read_bytes()
        if format is None:
            suffix = "" if isinstance(data, bytes) else Path(data).suffix.lower().lstrip(".")
            format = cast(Any, suffix) if suffix in ("csv", "parquet", "jsonl") else "auto"
        import io

        body = File(payload=io.BytesIO(raw), file_name="dataset")
        response = upload_dataset_op.sync_detailed(
            client=self._client,
            body=body,
            format_=UploadDatasetFormat(format),
            text_column=text_column if text_column is not None else UNSET,
            label_column=label_column if label_column is not None else UNSET,
            label_names=list(label_names) if label_names else UNSET,
        )
        return self._expect(response, 201, Dataset)

    def dataset(self, dataset_id: str) -> Dataset:
        response = get_dataset_op.sync_detailed(dataset_id, client=self._client)
        return self._expect(response, 200, Dataset)


def dumps(obj: Any) -> str:
    """JSON text of a generated model (``to_dict``) or a plain value."""
    to_dict = getattr(obj, "to_dict", None)
    return json.dumps(to_dict() if callable(to_dict) else obj, indent=2, default=str)
