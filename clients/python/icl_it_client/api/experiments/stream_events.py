from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    experiment_id: str,
    *,
    after: int | None | Unset = UNSET,
    last_event_id: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(last_event_id, Unset):
        headers["last-event-id"] = last_event_id

    params: dict[str, Any] = {}

    json_after: int | None | Unset
    if isinstance(after, Unset):
        json_after = UNSET
    else:
        json_after = after
    params["after"] = json_after

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/experiments/{experiment_id}/events/stream".format(
            experiment_id=quote(str(experiment_id), safe=""),
        ),
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | str | None:
    if response.status_code == 200:
        response_200 = response.text
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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | str]:
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
    after: int | None | Unset = UNSET,
    last_event_id: None | str | Unset = UNSET,
) -> Response[Problem | str]:
    """Events as server-sent events, until the experiment has ended

     The event log as it grows (``id``: event id, ``event``: its type, ``data``: the event
    as in ``/events``), resumable with Last-Event-ID or ?after=; ends once the experiment
    has ended and its last event is sent.

    Args:
        experiment_id (str): Experiment id.
        after (int | None | Unset): Events with a larger id
        last_event_id (None | str | Unset): Resume after this event (sent by EventSource)

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | str]
    """

    kwargs = _get_kwargs(
        experiment_id=experiment_id,
        after=after,
        last_event_id=last_event_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    experiment_id: str,
    *,
    client: AuthenticatedClient,
    after: int | None | Unset = UNSET,
    last_event_id: None | str | Unset = UNSET,
) -> Problem | str | None:
    """Events as server-sent events, until the experiment has ended

     The event log as it grows (``id``: event id, ``event``: its type, ``data``: the event
    as in ``/events``), resumable with Last-Event-ID or ?after=; ends once the experiment
    has ended and its last event is sent.

    Args:
        experiment_id (str): Experiment id.
        after (int | None | Unset): Events with a larger id
        last_event_id (None | str | Unset): Resume after this event (sent by EventSource)

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | str
    """

    return sync_detailed(
        experiment_id=experiment_id,
        client=client,
        after=after,
        last_event_id=last_event_id,
    ).parsed


async def asyncio_detailed(
    experiment_id: str,
    *,
    client: AuthenticatedClient,
    after: int | None | Unset = UNSET,
    last_event_id: None | str | Unset = UNSET,
) -> Response[Problem | str]:
    """Events as server-sent events, until the experiment has ended

     The event log as it grows (``id``: event id, ``event``: its type, ``data``: the event
    as in ``/events``), resumable with Last-Event-ID or ?after=; ends once the experiment
    has ended and its last event is sent.

    Args:
        experiment_id (str): Experiment id.
        after (int | None | Unset): Events with a larger id
        last_event_id (None | str | Unset): Resume after this event (sent by EventSource)

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | str]
    """

    kwargs = _get_kwargs(
        experiment_id=experiment_id,
        after=after,
        last_event_id=last_event_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    experiment_id: str,
    *,
    client: AuthenticatedClient,
    after: int | None | Unset = UNSET,
    last_event_id: None | str | Unset = UNSET,
) -> Problem | str | None:
    """Events as server-sent events, until the experiment has ended

     The event log as it grows (``id``: event id, ``event``: its type, ``data``: the event
    as in ``/events``), resumable with Last-Event-ID or ?after=; ends once the experiment
    has ended and its last event is sent.

    Args:
        experiment_id (str): Experiment id.
        after (int | None | Unset): Events with a larger id
        last_event_id (None | str | Unset): Resume after this event (sent by EventSource)

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | str
    """

    return (
        await asyncio_detailed(
            experiment_id=experiment_id,
            client=client,
            after=after,
            last_event_id=last_event_id,
        )
    ).parsed
