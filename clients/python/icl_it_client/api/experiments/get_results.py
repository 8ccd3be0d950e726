from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.get_results_format import GetResultsFormat
from ...models.get_results_table_type_0 import GetResultsTableType0
from ...models.problem import Problem
from ...models.results_document import ResultsDocument
from ...models.results_table import ResultsTable
from ...types import UNSET, Response, Unset


def _get_kwargs(
    experiment_id: str,
    *,
    format_: GetResultsFormat | Unset = GetResultsFormat.JSON,
    table: GetResultsTableType0 | None | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_format_: str | Unset = UNSET
    if not isinstance(format_, Unset):
        json_format_ = format_.value

    params["format"] = json_format_

    json_table: None | str | Unset
    if isinstance(table, Unset):
        json_table = UNSET
    elif isinstance(table, GetResultsTableType0):
        json_table = table.value
    else:
        json_table = table
    params["table"] = json_table

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/experiments/{experiment_id}/results".format(
            experiment_id=quote(str(experiment_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | ResultsDocument | ResultsTable | None:
    if response.status_code == 200:

        def _parse_response_200(data: object) -> ResultsDocument | ResultsTable:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                response_200_type_0 = ResultsDocument.from_dict(data)

                return response_200_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            response_200_type_1 = ResultsTable.from_dict(data)

            return response_200_type_1

        response_200 = _parse_response_200(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = Problem.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | ResultsDocument | ResultsTable]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    experiment_id: str,
    *,
    client: AuthenticatedClient,
    format_: GetResultsFormat | Unset = GetResultsFormat.JSON,
    table: GetResultsTableType0 | None | Unset = UNSET,
) -> Response[Problem | ResultsDocument | ResultsTable]:
    """The results document (schema icl-it/results/v1), or a long table of it (?format=csv|parquet,
    ?table=cells|examples; docs/EXPORTS.md); 409 until finished

     The results of a finished experiment, as the JSON document or as a long table.

    Args:
        experiment_id (str): Experiment id.
        format_ (GetResultsFormat | Unset): json: the document (or the table's records with
            ?table=) Default: GetResultsFormat.JSON.
        table (GetResultsTableType0 | None | Unset): cells: statistics per cell, metric, pair and
            layer; examples: per-example values. Default with csv/parquet: cells.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ResultsDocument | ResultsTable]
    """

    kwargs = _get_kwargs(
        experiment_id=experiment_id,
        format_=format_,
        table=table,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    experiment_id: str,
    *,
    client: AuthenticatedClient,
    format_: GetResultsFormat | Unset = GetResultsFormat.JSON,
    table: GetResultsTableType0 | None | Unset = UNSET,
) -> Problem | ResultsDocument | ResultsTable | None:
    """The results document (schema icl-it/results/v1), or a long table of it (?format=csv|parquet,
    ?table=cells|examples; docs/EXPORTS.md); 409 until finished

     The results of a finished experiment, as the JSON document or as a long table.

    Args:
        experiment_id (str): Experiment id.
        format_ (GetResultsFormat | Unset): json: the document (or the table's records with
            ?table=) Default: GetResultsFormat.JSON.
        table (GetResultsTableType0 | None | Unset): cells: statistics per cell, metric, pair and
            layer; examples: per-example values. Default with csv/parquet: cells.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ResultsDocument | ResultsTable
    """

    return sync_detailed(
        experiment_id=experiment_id,
        client=client,
        format_=format_,
        table=table,
    ).parsed


async def asyncio_detailed(
    experiment_id: str,
    *,
    client: AuthenticatedClient,
    format_: GetResultsFormat | Unset = GetResultsFormat.JSON,
    table: GetResultsTableType0 | None | Unset = UNSET,
) -> Response[Problem | ResultsDocument | ResultsTable]:
    """The results document (schema icl-it/results/v1), or a long table of it (?format=csv|parquet,
    ?table=cells|examples; docs/EXPORTS.md); 409 until finished

     The results of a finished experiment, as the JSON document or as a long table.

    Args:
        experiment_id (str): Experiment id.
        format_ (GetResultsFormat | Unset): json: the document (or the table's records with
            ?table=) Default: GetResultsFormat.JSON.
        table (GetResultsTableType0 | None | Unset): cells: statistics per cell, metric, pair and
            layer; examples: per-example values. Default with csv/parquet: cells.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ResultsDocument | ResultsTable]
    """

    kwargs = _get_kwargs(
        experiment_id=experiment_id,
        format_=format_,
        table=table,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    experiment_id: str,
    *,
    client: AuthenticatedClient,
    format_: GetResultsFormat | Unset = GetResultsFormat.JSON,
    table: GetResultsTableType0 | None | Unset = UNSET,
) -> Problem | ResultsDocument | ResultsTable | None:
    """The results document (schema icl-it/results/v1), or a long table of it (?format=csv|parquet,
    ?table=cells|examples; docs/EXPORTS.md); 409 until finished

     The results of a finished experiment, as the JSON document or as a long table.

    Args:
        experiment_id (str): Experiment id.
        format_ (GetResultsFormat | Unset): json: the document (or the table's records with
            ?table=) Default: GetResultsFormat.JSON.
        table (GetResultsTableType0 | None | Unset): cells: statistics per cell, metric, pair and
            layer; examples: per-example values. Default with csv/parquet: cells.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ResultsDocument | ResultsTable
    """

    return (
        await asyncio_detailed(
            experiment_id=experiment_id,
            client=client,
            format_=format_,
            table=table,
        )
    ).parsed
