"""Where a client looks for the API when no URL is given (issue 20): ``$ICL_IT_URL``, else
where ``icl-it up`` listens (``$ICL_IT_HOST``, ``$ICL_IT_PORT``); and ``up`` prints the
same address it is found at."""

from __future__ import annotations

import pytest
from icl_it_sdk import IclIt, default_url

from services.cli.remote import make_client
from services.local.stack import browse_url


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"ICL_IT_PORT": "18891"}, "http://127.0.0.1:18891"),
        ({"ICL_IT_HOST": "0.0.0.0", "ICL_IT_PORT": "9000"}, "http://127.0.0.1:9000"),
        ({"ICL_IT_HOST": "10.1.2.3"}, "http://10.1.2.3:8000"),
        ({"ICL_IT_HOST": "::1", "ICL_IT_PORT": "81"}, "http://[::1]:81"),
        ({"ICL_IT_URL": "https://icl.example.org/", "ICL_IT_PORT": "1"}, "https://icl.example.org"),
    ],
)
def test_the_client_finds_the_api_where_up_listens(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name in ("ICL_IT_URL", "ICL_IT_HOST", "ICL_IT_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert default_url() == expected
    with IclIt(api_key="k") as api:
        assert api.url == expected
    assert str(make_client(api_key="k").get_httpx_client().base_url).rstrip("/") == expected
    if "ICL_IT_URL" not in env:  # what `icl-it up` prints for the same settings
        host, port = env.get("ICL_IT_HOST", "127.0.0.1"), int(env.get("ICL_IT_PORT", "8000"))
        assert browse_url(host, port) == expected
