"""Zero-config local use and the dashboard's shell in headless Chromium (issue 20), against
a real ``icl-it up`` started on a free port (given as ``ICL_IT_PORT``) in a temp home:

- ``up`` prints the URL, an ``export ICL_IT_URL=`` line and a ``/login#key=`` link; a client
  command finds the API by ``ICL_IT_PORT`` alone;
- the link signs the browser in: the list shows the experiments without a 401, and the key
  is in neither the page's URL, its history, its DOM nor any request the server logged;
- the list shows what a reader scans for (model, cells, the primary effect and p,
  duration) and fits a 1400 px window without horizontal overflow;
- the submit form's model and task are lists from the API, and a dataset uploads;
- the experiment page's headline shows the spec, accuracy and IT loss.

Chromium is Debian's (``apt-get install -y chromium``) driven by Playwright; without it the
module is skipped. ICL_IT_DASHBOARD_SCREENSHOTS=1 writes docs/screenshots/shell-*.png.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.helpers import free_port, stack_env, tiny_spec, wait_status

pytestmark = pytest.mark.services
REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("ICL_IT_CHROMIUM", "/usr/bin/chromium")
SHOTS = REPO / "docs" / "screenshots" if os.environ.get("ICL_IT_DASHBOARD_SCREENSHOTS") else None
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LINK = re.compile(r"dashboard \(logs this browser tab in\): (\S+/login#key=(\S+))")
# a long name without spaces: the list must wrap it, not widen past the window
LONG_NAME = "shell-" + "x" * 58


@dataclass
class Up:
    """A running ``icl-it up``: its printed lines (kept as they come) and what they said."""

    proc: subprocess.Popen[str]
    home: Path
    port: int
    lines: list[str] = field(default_factory=list)

    def wait_line(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if found := pattern.search(line):
                    return found
            assert self.proc.poll() is None, "".join(self.lines[-40:])
            time.sleep(0.2)
        raise AssertionError("no such line from icl-it up:\n" + "".join(self.lines[-40:]))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium under Playwright; the module is skipped without either."""
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    driver = sync_api.sync_playwright().start()
    launched = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    yield launched
    launched.close()
    driver.stop()


def cli_list(port: int, home: Path) -> subprocess.CompletedProcess[str]:
    """``icl-it list`` as a user runs it in another shell: ICL_IT_PORT set, no ICL_IT_URL."""
    env = {k: v for k, v in os.environ.items() if k not in ("ICL_IT_URL", "ICL_IT_API_KEY")}
    env.update(ICL_IT_PORT=str(port), ICL_IT_HOME=str(home))
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "list"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Iterator[Up]:
    """``icl-it up`` as a user starts it, with the port in ICL_IT_PORT; stopped by SIGTERM."""
    home = tmp_path_factory.mktemp("shell-home")
    port = free_port()
    env = stack_env(home, tiny_model_dir, ICL_IT_PORT=str(port), ICL_IT_ACCESS_LOG="true")
    env.pop("ICL_IT_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "up"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    running = Up(proc, home, port)

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            running.lines.append(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        yield running
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def link(up: Up) -> tuple[str, str]:
    """The sign-in link ``up`` printed, and the key in it."""
    found = up.wait_line(LINK, timeout=120)
    return found.group(1), found.group(2)


@pytest.fixture(scope="module")
def finished(up: Up, link: tuple[str, str], tiny_model_dir: Path) -> dict[str, Any]:
    """One tiny experiment, submitted with the key from the link, that has succeeded."""
    url = f"http://127.0.0.1:{up.port}"
    headers = {"Authorization": f"Bearer {link[1]}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        response = http.post("/v1/experiments", json=tiny_spec(tiny_model_dir, name=LONG_NAME))
        assert response.status_code == 202, response.text
        body = wait_status(http, response.json()["id"], timeout=300)
    assert body["status"] == "succeeded", body
    return body


def test_up_prints_the_url_the_export_line_and_a_client_finds_it_by_the_port(
    up: Up, link: tuple[str, str]
) -> None:
    url = f"http://127.0.0.1:{up.port}"
    assert link[0] == f"{url}/login#key={link[1]}"
    assert link[1] == (up.home / "api_key").read_text().strip()  # the local admin key
    up.wait_line(re.compile(rf"^icl-it:\s+export ICL_IT_URL={re.escape(url)}$"), timeout=5)
    up.wait_line(re.compile(r"read ICL_IT_PORT and ICL_IT_HOST as `up` does"), timeout=5)
    listed = cli_list(up.port, up.home)
    assert listed.returncode == 0, listed.stderr
    nobody = free_port()  # nothing listens there: the error names that port
    refused = cli_list(nobody, up.home)
    assert refused.returncode == 1 and f"127.0.0.1:{nobody}" in refused.stderr


def test_the_link_signs_the_browser_in_without_the_key_in_the_page(
    browser: Any, up: Up, link: tuple[str, str], finished: dict[str, Any]
) -> None:
    url, key = link
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    page.wait_for_url(f"http://127.0.0.1:{up.port}/")
    row = page.locator(f'tr[data-id="{finished["id"]}"]')
    row.wait_for()
    assert page.locator("#error").is_hidden()  # no 401
    assert page.inner_text("#key-state") == "key set"
    assert key not in page.url and key not in page.content()
    in_fields = page.evaluate(
        "(key) => [...document.querySelectorAll('input')].some((i) => i.value.includes(key))", key
    )
    assert in_fields is False
    assert page.evaluate("() => sessionStorage.getItem('icl-it-api-key')") == key

    # what a reader scans for, and the table fits the window
    cells = [c.strip() for c in row.locator("td").all_inner_texts()]
    status, name, model, n_cells, primary, _created, duration = cells[1:]
    assert status == "succeeded" and name.startswith(LONG_NAME)
    assert model == finished["spec"]["model"]["name"] and n_cells == "1"
    assert re.search(r"[+−]\d\.\d{3}", primary) and "p = " in primary
    assert re.fullmatch(r"\d+ (s|min \d\d s)", duration), duration
    fits = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth,"
        " document.querySelector('#experiments').getBoundingClientRect().right]"
    )
    assert fits[0] <= fits[1] and fits[2] <= fits[1], fits
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "shell-list.png"))

    page.go_back()  # the /login entry was replaced: no URL with the key in the history
    assert key not in page.url
    context.close()
    # the server saw /login, never the key: the access log (and any other output) holds it
    # only in the one line that printed the link
    logged = [line for line in up.lines if '"/login"' in line]
    assert logged and not any(key in line for line in logged)
    assert [line for line in up.lines if key in line] == [
        line for line in up.lines if LINK.search(line)
    ]


def test_submit_lists_models_and_tasks_and_uploads_a_dataset(
    browser: Any, up: Up, link: tuple[str, str], tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(link[0])
    page.wait_for_url("**/")
    page.goto(f"http://127.0.0.1:{up.port}/ui/submit")
    page.locator('#model-select option[value="smollm2-135m"]').wait_for(state="attached")
    page.locator('#task-select option[value="sentiment"]').wait_for(state="attached")
    page.select_option("#model-select", "__other__")
    assert page.locator("#model-other").is_visible()
    rows = [
        f'{{"text": "review {i} was {w}", "label": "{w}"}}'
        for i, w in enumerate(["good", "bad"] * 4)
    ]
    data = tmp_path / "mine.jsonl"
    data.write_text("\n".join(rows) + "\n")
    page.set_input_files("#dataset-file", str(data))
    page.click("#dataset-upload")
    page.wait_for_selector("#dataset-state:has-text('uploaded upload:')")
    assert page.input_value("#task-select").startswith("upload:")
    if SHOTS:
        page.screenshot(path=str(SHOTS / "shell-submit.png"), full_page=True)
    context.close()


def test_the_experiment_page_shows_spec_accuracy_and_it_loss(
    browser: Any, up: Up, link: tuple[str, str], finished: dict[str, Any]
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(link[0])
    page.wait_for_url("**/")
    page.goto(f"http://127.0.0.1:{up.port}/ui/experiments/{finished['id']}")
    page.wait_for_selector("#headline-it-loss")
    assert finished["spec"]["model"]["name"] in page.inner_text("#headline-spec")
    assert re.search(r"icl \d\.\d\d", page.inner_text("#headline-accuracy"))
    assert re.search(r"final LoRA loss \d+\.\d{3}", page.inner_text("#headline-it-loss"))
    assert "p = " in page.inner_text("#headline-primary")
    if SHOTS:
        page.screenshot(path=str(SHOTS / "shell-experiment.png"))
    context.close()
