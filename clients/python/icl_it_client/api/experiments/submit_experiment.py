from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.experiment import Experiment
from ...models.experiment_spec import ExperimentSpec
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: ExperimentSpec,
    idempotency_key: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["idempotency-key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/experiments",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Experiment | Problem | None:
    if response.status_code == 202:
        response_202 = Experiment.from_dict(response.json())

        return response_202

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

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


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Experiment | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: ExperimentSpec,
    idempotency_key: None | str | Unset = UNSET,
) -> Response[Experiment | Problem]:
    """Submit an experiment

     Validate the spec, record the experiment and its runs, and queue the runs. With an
    Idempotency-Key, a retried submit returns the first experiment.

    Args:
        idempotency_key (None | str | Unset): Same key + same body returns the first experiment;
            same key + another body is a 409.
        body (ExperimentSpec): One experiment: the base configuration, plus studies/sweeps and
            seeds.

            With ``preset`` set, the preset's studies and scale-dependent sizes are filled in
            first and every other field given here overrides them.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Experiment | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: ExperimentSpec,
    idempotency_key: None | str | Unset = UNSET,
) -> Experiment | Problem | None:
    """Submit an experiment

     Validate the spec, record the experiment and its runs, and queue the runs. With an
    Idempotency-Key, a retried submit returns the first experiment.

    Args:
        idempotency_key (None | str | Unset): Same key + same body returns the first experiment;
            same key + another body is a 409.
        body (ExperimentSpec): One experiment: the base configuration, plus studies/sweeps and
            seeds.

            With ``preset`` set, the preset's studies and scale-dependent sizes are filled in
            first and every other field given here overrides them.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Experiment | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: ExperimentSpec,
    idempotency_key: None | str | Unset = UNSET,
) -> Response[Experiment | Problem]:
    """Submit an experiment

     Validate the spec, record the experiment and its runs, and queue the runs. With an
    Idempotency-Key, a retried submit returns the first experiment.

    Args:
        idempotency_key (None | str | Unset): Same key + same body returns the first experiment;
            same key + another body is a 409.
        body (ExperimentSpec): One experiment: the base configuration, plus studies/sweeps and
            seeds.

            With ``preset`` set, the preset's studies and scale-dependent sizes are filled in
            first and every other field given here overrides them.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Experiment | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: ExperimentSpec,
    idempotency_key: None | str | Unset = UNSET,
) -> Experiment | Problem | None:
    """Submit an experiment

     Validate the spec, record the experiment and its runs, and queue the runs. With an
    Idempotency-Key, a retried submit returns the first experiment.

    Args:
        idempotency_key (None | str | Unset): Same key + same body returns the first experiment;
            same key + another body is a 409.
        body (ExperimentSpec): One experiment: the base configuration, plus studies/sweeps and
            seeds.

            With ``preset`` set, the preset's studies and scale-dependent sizes are filled in
            first and every other field given here overrides them.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Experiment | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
