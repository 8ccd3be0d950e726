from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.experiment_list import ExperimentList
from ...models.experiment_status import ExperimentStatus
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    limit: int | Unset = 20,
    after: None | str | Unset = UNSET,
    status: list[ExperimentStatus] | None | Unset = UNSET,
    name: None | str | Unset = UNSET,
    tag: list[str] | None | Unset = UNSET,
    id_prefix: None | str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["limit"] = limit

    json_after: None | str | Unset
    if isinstance(after, Unset):
        json_after = UNSET
    else:
        json_after = after
    params["after"] = json_after

    json_status: list[str] | None | Unset
    if isinstance(status, Unset):
        json_status = UNSET
    elif isinstance(status, list):
        json_status = []
        for status_type_0_item_data in status:
            status_type_0_item = status_type_0_item_data.value
            json_status.append(status_type_0_item)

    else:
        json_status = status
    params["status"] = json_status

    json_name: None | str | Unset
    if isinstance(name, Unset):
        json_name = UNSET
    else:
        json_name = name
    params["name"] = json_name

    json_tag: list[str] | None | Unset
    if isinstance(tag, Unset):
        json_tag = UNSET
    elif isinstance(tag, list):
        json_tag = tag

    else:
        json_tag = tag
    params["tag"] = json_tag

    json_id_prefix: None | str | Unset
    if isinstance(id_prefix, Unset):
        json_id_prefix = UNSET
    else:
        json_id_prefix = id_prefix
    params["id_prefix"] = json_id_prefix

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/experiments",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ExperimentList | Problem | None:
    if response.status_code == 200:
        response_200 = ExperimentList.from_dict(response.json())

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
) -> Response[ExperimentList | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 20,
    after: None | str | Unset = UNSET,
    status: list[ExperimentStatus] | None | Unset = UNSET,
    name: None | str | Unset = UNSET,
    tag: list[str] | None | Unset = UNSET,
    id_prefix: None | str | Unset = UNSET,
) -> Response[ExperimentList | Problem]:
    """List your experiments

     Your experiments, newest first, a page at a time (admin keys see everyone's),
    narrowed by status, name, tags and id prefix.

    Args:
        limit (int | Unset):  Default: 20.
        after (None | str | Unset): next_cursor of the previous page
        status (list[ExperimentStatus] | None | Unset): Any of these statuses (repeatable)
        name (None | str | Unset): Names containing this (any case)
        tag (list[str] | None | Unset): Every one of these tags
        id_prefix (None | str | Unset): Ids starting with this (short ids)

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ExperimentList | Problem]
    """

    kwargs = _get_kwargs(
        limit=limit,
        after=after,
        status=status,
        name=name,
        tag=tag,
        id_prefix=id_prefix,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 20,
    after: None | str | Unset = UNSET,
    status: list[ExperimentStatus] | None | Unset = UNSET,
    name: None | str | Unset = UNSET,
    tag: list[str] | None | Unset = UNSET,
    id_prefix: None | str | Unset = UNSET,
) -> ExperimentList | Problem | None:
    """List your experiments

     Your experiments, newest first, a page at a time (admin keys see everyone's),
    narrowed by status, name, tags and id prefix.

    Args:
        limit (int | Unset):  Default: 20.
        after (None | str | Unset): next_cursor of the previous page
        status (list[ExperimentStatus] | None | Unset): Any of these statuses (repeatable)
        name (None | str | Unset): Names containing this (any case)
        tag (list[str] | None | Unset): Every one of these tags
        id_prefix (None | str | Unset): Ids starting with this (short ids)

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ExperimentList | Problem
    """

    return sync_detailed(
        client=client,
        limit=limit,
        after=after,
        status=status,
        name=name,
        tag=tag,
        id_prefix=id_prefix,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 20,
    after: None | str | Unset = UNSET,
    status: list[ExperimentStatus] | None | Unset = UNSET,
    name: None | str | Unset = UNSET,
    tag: list[str] | None | Unset = UNSET,
    id_prefix: None | str | Unset = UNSET,
) -> Response[ExperimentList | Problem]:
    """List your experiments

     Your experiments, newest first, a page at a time (admin keys see everyone's),
    narrowed by status, name, tags and id prefix.

    Args:
        limit (int | Unset):  Default: 20.
        after (None | str | Unset): next_cursor of the previous page
        status (list[ExperimentStatus] | None | Unset): Any of these statuses (repeatable)
        name (None | str | Unset): Names containing this (any case)
        tag (list[str] | None | Unset): Every one of these tags
        id_prefix (None | str | Unset): Ids starting with this (short ids)

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ExperimentList | Problem]
    """

    kwargs = _get_kwargs(
        limit=limit,
        after=after,
        status=status,
        name=name,
        tag=tag,
        id_prefix=id_prefix,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 20,
    after: None | str | Unset = UNSET,
    status: list[ExperimentStatus] | None | Unset = UNSET,
    name: None | str | Unset = UNSET,
    tag: list[str] | None | Unset = UNSET,
    id_prefix: None | str | Unset = UNSET,
) -> ExperimentList | Problem | None:
    """List your experiments

     Your experiments, newest first, a page at a time (admin keys see everyone's),
    narrowed by status, name, tags and id prefix.

    Args:
        limit (int | Unset):  Default: 20.
        after (None | str | Unset): next_cursor of the previous page
        status (list[ExperimentStatus] | None | Unset): Any of these statuses (repeatable)
        name (None | str | Unset): Names containing this (any case)
        tag (list[str] | None | Unset): Every one of these tags
        id_prefix (None | str | Unset): Ids starting with this (short ids)

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ExperimentList | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            limit=limit,
            after=after,
            status=status,
            name=name,
            tag=tag,
            id_prefix=id_prefix,
        )
    ).parsed
