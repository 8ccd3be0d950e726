from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.design_request import DesignRequest
from ...models.design_result import DesignResult
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    *,
    body: DesignRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/design",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> DesignResult | Problem | None:
    if response.status_code == 200:
        response_200 = DesignResult.from_dict(response.json())

        return response_200

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
) -> Response[DesignResult | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: DesignRequest,
) -> Response[DesignResult | Problem]:
    """Power design: n per cell for a target effect

     Target effect (own − cross adapter), alpha, power and the Holm family size, optionally a pilot
    results.json for the per-example sd -> the inference examples per cell, the minimum detectable
    effect at that n, and the compute it implies on the benchmarked machine (bench/results).

    Args:
        body (DesignRequest): What to detect, at which level and power; optionally a pilot's
            results.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DesignResult | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: DesignRequest,
) -> DesignResult | Problem | None:
    """Power design: n per cell for a target effect

     Target effect (own − cross adapter), alpha, power and the Holm family size, optionally a pilot
    results.json for the per-example sd -> the inference examples per cell, the minimum detectable
    effect at that n, and the compute it implies on the benchmarked machine (bench/results).

    Args:
        body (DesignRequest): What to detect, at which level and power; optionally a pilot's
            results.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DesignResult | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: DesignRequest,
) -> Response[DesignResult | Problem]:
    """Power design: n per cell for a target effect

     Target effect (own − cross adapter), alpha, power and the Holm family size, optionally a pilot
    results.json for the per-example sd -> the inference examples per cell, the minimum detectable
    effect at that n, and the compute it implies on the benchmarked machine (bench/results).

    Args:
        body (DesignRequest): What to detect, at which level and power; optionally a pilot's
            results.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DesignResult | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: DesignRequest,
) -> DesignResult | Problem | None:
    """Power design: n per cell for a target effect

     Target effect (own − cross adapter), alpha, power and the Holm family size, optionally a pilot
    results.json for the per-example sd -> the inference examples per cell, the minimum detectable
    effect at that n, and the compute it implies on the benchmarked machine (bench/results).

    Args:
        body (DesignRequest): What to detect, at which level and power; optionally a pilot's
            results.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DesignResult | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
