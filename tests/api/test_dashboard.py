"""The web dashboard in headless Chromium (Debian's /usr/bin/chromium driven by Playwright)
against the real stack: submit through the form and watch it succeed, open its figures,
an invalid spec shows its errors next to the fields, another key's experiments stay
invisible, and two experiments' layer curves overlaid; and the web app's hardening:
no framing, no injected script, the report in a sandbox, the key out of localStorage.

The browser uses ``user_key`` (entered in the key form), the key that owns ``finished``.

Screenshots for the docs: ICL_IT_DASHBOARD_SCREENSHOTS=1 writes docs/dashboard-*.png.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from services.common.runtime.settings import Settings
from tests.fixtures.browser import launch_chromium

pytestmark = pytest.mark.services
REPO = Path(__file__).resolve().parents[2]
SHOTS = os.environ.get("ICL_IT_DASHBOARD_SCREENSHOTS") == "1"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Any, surface_stack: Any, user_key: str) -> Iterator[Any]:
    context = browser.new_context(
        base_url=surface_stack.url, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    _use_key(page, user_key)
    yield page
    context.close()


def _use_key(page: Any, key: str) -> None:
    page.goto("/")
    page.fill("#api-key", key)
    page.click("#key-form button")
    page.wait_for_load_state()
    assert page.inner_text("#key-state") == ("key set" if key else "no key")


def _tiny_yaml(model_dir: Path, name: str) -> str:
    spec = {
        "name": name,
        "model": {"name": str(model_dir)},
        "inference": {"n": 4},
        "lora": {"epochs": 2},
        "controls": [],
        "seeds": [0],
    }
    return yaml.safe_dump(spec)


def test_submit_through_the_form_watch_it_succeed_and_open_figures(
    page: Any, tiny_model_dir: Path, finished: dict[str, Any]
) -> None:
    page.goto("/ui/submit")
    page.fill("#spec_text", _tiny_yaml(tiny_model_dir, "from-the-form"))
    page.fill('input[name="demos.k"]', "2")
    page.click("#submit-button")
    page.wait_for_url("**/ui/experiments/*")
    experiment_id = page.url.rsplit("/", 1)[1]
    # a selector, not wait_for_function: the pages' CSP refuses the eval that one uses
    page.wait_for_selector("#status.succeeded", timeout=180_000)
    page.wait_for_selector("#figures figure img")
    assert page.locator("#statements li").count() >= 1
    assert page.locator("#curve g.lines_marks path").count() >= 3  # the primary's 3 curves
    assert page.locator("#table tbody tr").count() >= 1
    assert page.locator("#artifacts tbody tr").count() >= 3
    assert page.locator('#events tr[data-type="run.progress"]').count() >= 1
    # the stream delivers the last event within its poll interval of the status refresh
    page.wait_for_selector('#events tr[data-type="experiment.succeeded"]', timeout=15_000)
    assert page.locator('#events tr[data-type="experiment.succeeded"]').count() == 1
    page.locator("#figures figure").first.click()
    big = page.locator("#figure-big")
    assert page.locator("#figure-dialog").get_attribute("open") is not None
    assert (big.get_attribute("src") or "").startswith("data:image/png;base64,")
    if SHOTS:
        page.keyboard.press("Escape")
        page.screenshot(path=str(REPO / "docs" / "dashboard-experiment.png"), full_page=True)

    # the list shows it with its status and its primary effect (finished: no progress bar)
    page.goto("/")
    row = page.locator(f'tr[data-id="{experiment_id}"]')
    row.wait_for()
    assert row.get_attribute("data-status") == "succeeded" and "p = " in row.inner_text()
    assert page.locator(f'tr[data-id="{finished["id"]}"]').count() == 1
    if SHOTS:
        page.screenshot(path=str(REPO / "docs" / "dashboard-list.png"), full_page=True)

    # two experiments overlaid (tests/browser/test_plots.py tests the Compare page itself)
    page.locator(f'tr[data-id="{experiment_id}"] input[type=checkbox]').check()
    page.locator(f'tr[data-id="{finished["id"]}"] input[type=checkbox]').check()
    page.click("#compare-selected")
    page.wait_for_selector("#overlay g.lines_marks path")
    assert page.locator("#overlay g.lines_marks path").count() == 2
    legend = page.locator("#overlay g.role-legend-label text").all_text_contents()
    assert any(label.startswith("from-the-form ·") for label in legend), legend


def test_invalid_spec_shows_errors_next_to_their_fields(page: Any) -> None:
    page.goto("/ui/submit")
    page.fill("#spec_text", "demos:\n  selektion: random\n")
    page.fill('input[name="demos.k"]', "-1")
    page.click("#submit-button")
    k_error = page.locator('.field[data-field="demos.k"] .field-error')
    k_error.wait_for()
    assert "greater than or equal" in k_error.inner_text()
    text_error = page.locator('.field[data-field="spec_text"] .field-error')
    assert "demos.selektion" in text_error.inner_text()
    assert "did you mean 'selection'?" in text_error.inner_text()
    assert page.url.endswith("/ui/submit")  # nothing was submitted

    page.fill("#spec_text", "name: [unclosed\n")
    page.fill('input[name="demos.k"]', "")
    page.click("#submit-button")
    yaml_error = page.locator('.field[data-field="spec_text"] .field-error')
    yaml_error.wait_for()
    assert "not valid YAML/JSON (line 2, column 1)" in yaml_error.inner_text()


def test_another_keys_experiments_are_not_visible(
    page: Any,
    surface_stack: Any,
    finished: dict[str, Any],
    other_key: str,
    tiny_model_dir: Path,
) -> None:
    spec = yaml.safe_load(_tiny_yaml(tiny_model_dir, "belongs-to-b"))
    other = httpx.post(
        f"{surface_stack.url}/v1/experiments",
        json=spec,
        headers={"Authorization": f"Bearer {other_key}"},  # a second registered key
        timeout=30,
    )
    assert other.status_code == 202, other.text
    b_id = other.json()["id"]

    page.goto("/")  # the page fixture's key: the owner of ``finished``
    page.locator(f'tr[data-id="{finished["id"]}"]').wait_for()
    assert page.locator(f'tr[data-id="{b_id}"]').count() == 0

    _use_key(page, other_key)
    page.locator(f'tr[data-id="{b_id}"]').wait_for()
    assert page.locator(f'tr[data-id="{finished["id"]}"]').count() == 0
    page.goto(f"/ui/experiments/{finished['id']}")
    error = page.locator("#error")
    error.wait_for()
    assert "Not found" in error.inner_text()
    assert page.locator("#figures figure").count() == 0

    # a key nobody registered, or none at all, sees nothing: the page says why
    for key in ("key-b", ""):
        _use_key(page, key)
        error = page.locator("#error")
        error.wait_for()
        assert "Unauthorized" in error.inner_text() and "API key" in error.inner_text()
        assert page.locator("tr[data-id]").count() == 0

    # the stack's local key is an admin key: it sees both owners' experiments
    _use_key(page, surface_stack.api_key)
    page.locator(f'tr[data-id="{b_id}"]').wait_for()
    page.locator(f'tr[data-id="{finished["id"]}"]').wait_for()


def test_a_foreign_page_cannot_frame_the_dashboard(page: Any, surface_stack: Any) -> None:
    """Clickjacking: frame-ancestors 'none' (and X-Frame-Options) keep /ui/submit out of
    any frame; Chromium shows its error page instead of the form."""
    foreign = surface_stack.url.replace("127.0.0.1", "localhost")  # another origin
    assert foreign != surface_stack.url
    page.goto(f"{foreign}/healthz")
    page.set_content(f'<iframe id="f" src="{surface_stack.url}/ui/submit"></iframe>')
    assert page.evaluate("location.origin") == foreign
    page.wait_for_timeout(1500)  # the frame has loaded (or been refused) by now
    framed = page.frame_locator("#f")
    assert framed.locator("#submit-form").count() == 0
    assert framed.locator("#cancel").count() == 0
    # the page itself, opened directly, has the form
    page.goto("/ui/submit")
    assert page.locator("#submit-form").count() == 1


INJECT = """() => new Promise((resolve) => {
  const seen = [];
  document.addEventListener("securitypolicyviolation", (e) => seen.push(e.violatedDirective));
  const script = document.createElement("script");
  script.textContent = "window.__injected = 1";
  document.body.append(script);
  document.body.insertAdjacentHTML("beforeend", '<img src="/nope" onerror="window.__handler = 1">');
  setTimeout(() => resolve({ seen, injected: window.__injected, handler: window.__handler }), 1500);
})"""


def test_an_injected_script_is_refused_by_the_csp(page: Any) -> None:
    """What an XSS would add, an inline <script> and an inline event handler, does not run:
    the pages' CSP allows scripts only from this server's files."""
    for path in ("/", "/ui/submit"):
        page.goto(path)
        result = page.evaluate(INJECT)
        assert result["injected"] is None and result["handler"] is None, result
        assert result["seen"] and all(d.startswith("script-src") for d in result["seen"]), result
    # the dashboard's own script still runs (it filled in the key state)
    assert page.inner_text("#key-state") == "key set"


def test_the_report_is_sandboxed_and_the_key_is_not_in_local_storage(
    page: Any, finished: dict[str, Any], http: httpx.Client, user_key: str
) -> None:
    """The report opens in a frame with an empty sandbox (an opaque origin: the page
    cannot reach into it, nor it into the page), never as a blob: URL of this origin; the
    key lives in this tab's sessionStorage only."""
    stored = page.evaluate(
        "() => [localStorage.getItem('icl-it-api-key'), sessionStorage.getItem('icl-it-api-key')]"
    )
    assert stored == [None, user_key]
    page.goto(f"/ui/experiments/{finished['id']}")
    page.wait_for_selector("#open-report:not([disabled])", timeout=60_000)
    page.click("#open-report")
    frame = page.locator("#report-frame")
    frame.wait_for()
    assert frame.get_attribute("sandbox") == ""
    assert "ICL vs IT report" in (frame.get_attribute("srcdoc") or "")
    assert page.evaluate("() => document.querySelector('#report-frame').contentDocument") is None
    assert len(page.context.pages) == 1  # no new window, no blob: URL
    if SHOTS:
        page.screenshot(path=str(REPO / "docs" / "dashboard-report.png"), full_page=False)
    # opened straight from the API, the report is sandboxed by its own CSP
    report = http.get(f"/v1/experiments/{finished['id']}/report")
    assert report.status_code == 200
    assert report.headers["content-security-policy"].startswith("sandbox")


def test_pages_are_served_without_a_browser(surface_stack: Any) -> None:
    with httpx.Client(base_url=surface_stack.url) as http:
        for path in ("/", "/ui/submit", "/ui/compare", "/ui/experiments/x"):
            page = http.get(path)
            assert page.status_code == 200 and "<!doctype html>" in page.text.lower()
        assert "vegaEmbed" in http.get("/ui/static/plots.js").text
        vendored = http.get("/ui/static/vendor/vega-embed.min.js")  # served here, no CDN
        assert vendored.status_code == 200 and "expressionInterpreter" in vendored.text
        assert Settings  # the same settings object serves the API and the pages
