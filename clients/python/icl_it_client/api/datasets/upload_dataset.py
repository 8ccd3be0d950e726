from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.dataset import Dataset
from ...models.problem import Problem
from ...models.upload_dataset_format import UploadDatasetFormat
from ...types import UNSET, File, Response, Unset


def _get_kwargs(
    *,
    body: File,
    format_: UploadDatasetFormat | Unset = UploadDatasetFormat.AUTO,
    text_column: None | str | Unset = UNSET,
    label_column: None | str | Unset = UNSET,
    label_names: list[str] | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    params: dict[str, Any] = {}

    json_format_: str | Unset = UNSET
    if not isinstance(format_, Unset):
        json_format_ = format_.value

    params["format"] = json_format_

    json_text_column: None | str | Unset
    if isinstance(text_column, Unset):
        json_text_column = UNSET
    else:
        json_text_column = text_column
    params["text_column"] = json_text_column

    json_label_column: None | str | Unset
    if isinstance(label_column, Unset):
        json_label_column = UNSET
    else:
        json_label_column = label_column
    params["label_column"] = json_label_column

    json_label_names: list[str] | Unset = UNSET
    if not isinstance(label_names, Unset):
        json_label_names = label_names

    params["label_names"] = json_label_names

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/datasets",
        "params": params,
    }

    _kwargs["content"] = body.payload
    headers["Content-Type"] = "application/octet-stream"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Dataset | Problem | None:
    if response.status_code == 201:
        response_201 = Dataset.from_dict(response.json())

        return response_201

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Dataset | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: File,
    format_: UploadDatasetFormat | Unset = UploadDatasetFormat.AUTO,
    text_column: None | str | Unset = UNSET,
    label_column: None | str | Unset = UNSET,
    label_names: list[str] | Unset = UNSET,
) -> Response[Dataset | Problem]:
    """Upload a dataset (JSONL, CSV or Parquet)

     Upload a dataset (JSONL, CSV or Parquet, with a column mapping); it is validated like a
    builtin task and stored as JSONL under a new id. Name it in a spec as ``upload:<id>``.

    Args:
        format_ (UploadDatasetFormat | Unset): auto: Parquet by its magic bytes, JSONL when the
            body starts with '{', else CSV (with a header row). Default: UploadDatasetFormat.AUTO.
        text_column (None | str | Unset): The text column (default: text).
        label_column (None | str | Unset): The label column (default: label).
        label_names (list[str] | Unset): Words of integer labels, in order (repeat the parameter):
            label i is label_names[i]. Without them an integer label is kept as its digits.
        body (File):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Dataset | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
        format_=format_,
        text_column=text_column,
        label_column=label_column,
        label_names=label_names,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: File,
    format_: UploadDatasetFormat | Unset = UploadDatasetFormat.AUTO,
    text_column: None | str | Unset = UNSET,
    label_column: None | str | Unset = UNSET,
    label_names: list[str] | Unset = UNSET,
) -> Dataset | Problem | None:
    """Upload a dataset (JSONL, CSV or Parquet)

     Upload a dataset (JSONL, CSV or Parquet, with a column mapping); it is validated like a
    builtin task and stored as JSONL under a new id. Name it in a spec as ``upload:<id>``.

    Args:
        format_ (UploadDatasetFormat | Unset): auto: Parquet by its magic bytes, JSONL when the
            body starts with '{', else CSV (with a header row). Default: UploadDatasetFormat.AUTO.
        text_column (None | str | Unset): The text column (default: text).
        label_column (None | str | Unset): The label column (default: label).
        label_names (list[str] | Unset): Words of integer labels, in order (repeat the parameter):
            label i is label_names[i]. Without them an integer label is kept as its digits.
        body (File):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Dataset | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
        format_=format_,
        text_column=text_column,
        label_column=label_column,
        label_names=label_names,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: File,
    format_: UploadDatasetFormat | Unset = UploadDatasetFormat.AUTO,
    text_column: None | str | Unset = UNSET,
    label_column: None | str | Unset = UNSET,
    label_names: list[str] | Unset = UNSET,
) -> Response[Dataset | Problem]:
    """Upload a dataset (JSONL, CSV or Parquet)

     Upload a dataset (JSONL, CSV or Parquet, with a column mapping); it is validated like a
    builtin task and stored as JSONL under a new id. Name it in a spec as ``upload:<id>``.

    Args:
        format_ (UploadDatasetFormat | Unset): auto: Parquet by its magic bytes, JSONL when the
            body starts with '{', else CSV (with a header row). Default: UploadDatasetFormat.AUTO.
        text_column (None | str | Unset): The text column (default: text).
        label_column (None | str | Unset): The label column (default: label).
        label_names (list[str] | Unset): Words of integer labels, in order (repeat the parameter):
            label i is label_names[i]. Without them an integer label is kept as its digits.
        body (File):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Dataset | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
        format_=format_,
        text_column=text_column,
        label_column=label_column,
        label_names=label_names,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: File,
    format_: UploadDatasetFormat | Unset = UploadDatasetFormat.AUTO,
    text_column: None | str | Unset = UNSET,
    label_column: None | str | Unset = UNSET,
    label_names: list[str] | Unset = UNSET,
) -> Dataset | Problem | None:
    """Upload a dataset (JSONL, CSV or Parquet)

     Upload a dataset (JSONL, CSV or Parquet, with a column mapping); it is validated like a
    builtin task and stored as JSONL under a new id. Name it in a spec as ``upload:<id>``.

    Args:
        format_ (UploadDatasetFormat | Unset): auto: Parquet by its magic bytes, JSONL when the
            body starts with '{', else CSV (with a header row). Default: UploadDatasetFormat.AUTO.
        text_column (None | str | Unset): The text column (default: text).
        label_column (None | str | Unset): The label column (default: label).
        label_names (list[str] | Unset): Words of integer labels, in order (repeat the parameter):
            label i is label_names[i]. Without them an integer label is kept as its digits.
        body (File):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Dataset | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            format_=format_,
            text_column=text_column,
            label_column=label_column,
            label_names=label_names,
        )
    ).parsed
