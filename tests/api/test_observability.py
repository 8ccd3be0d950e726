"""Metrics and structured logs of a real stack: the API, a GPU worker and an analysis
worker as processes on Postgres and Redis, one experiment on the tiny model.

Each worker serves the metrics of its pool processes on its own port (as each container
does); the test scrapes the API and both workers before and after the run and checks that
the request, stage, task and queue-wait series moved, then reads the processes' output:
every line is one JSON object, and the lines a run writes carry its experiment and run ids.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.common.runtime import healthcheck
from services.local.stack import Stack, worker_argv
from tests.fixtures.helpers import free_port, stack_env, tiny_spec, wait_for, wait_status

pytestmark = pytest.mark.services


def scrape(
    url: str, key: str | None = None
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The API's /metrics needs an admin key (``key``); the workers' listeners need none."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = httpx.get(url, timeout=10, headers=headers)
    assert response.status_code == 200, (url, response.status_code)
    text = response.text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


class OtlpReceiver:
    """A stand-in OpenTelemetry collector on 127.0.0.1: keeps the spans posted to
    /v1/traces (OTLP over HTTP, protobuf), as (service name, span) pairs."""

    def __init__(self) -> None:
        import http.server
        import threading

        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

        self.spans: list[tuple[str, Any]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
                for rs in request.resource_spans:
                    attrs = {a.key: a.value.string_value for a in rs.resource.attributes}
                    for ss in rs.scope_spans:
                        receiver.spans += [(attrs.get("service.name", "?"), sp) for sp in ss.spans]
                reply = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def otlp() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    yield receiver
    receiver.server.shutdown()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, tiny_model_dir, postgres_url, redis_url, broker_prefix, otlp):
    home = tmp_path_factory.mktemp("stack-obs")
    common = dict(
        DATABASE_URL=postgres_url,
        REDIS_URL=redis_url,
        ICL_IT_BROKER_PREFIX=broker_prefix,
        ICL_IT_LOG_FORMAT="json",
        OTEL_EXPORTER_OTLP_ENDPOINT=otlp.url,
        OTEL_BSP_SCHEDULE_DELAY="100",  # export within 0.1 s of a span's end
    )
    ports = {"gpu": free_port(), "analysis": free_port()}
    log_path = home / "stack.log"
    with open(log_path, "w") as log:
        api = Stack(stack_env(home, tiny_model_dir, **common, ICL_IT_ACCESS_LOG="true"),
                    port=free_port(), log=log, services=["api"])  # fmt: skip
        workers = {
            queue: Stack(
                stack_env(
                    home,
                    tiny_model_dir,
                    **common,
                    ICL_IT_METRICS_PORT=str(port),
                    PROMETHEUS_MULTIPROC_DIR=str(home / f"metrics-{queue}"),
                    ICL_IT_HEARTBEAT_FILE=str(home / f"{queue}.heartbeat"),
                ),
                log=log,
                services=[],
            )
            for queue, port in ports.items()
        }
        try:
            api.start()
            for queue, worker in workers.items():
                worker.start_one(queue, worker_argv(queue))
            api.wait_ready(timeout=90)
            for queue, port in ports.items():
                wait_for(
                    lambda port=port: _answers(f"http://127.0.0.1:{port}/metrics"),
                    90,
                    f"{queue} worker metrics",
                )
            yield {
                "api": api.url,
                "gpu": f"http://127.0.0.1:{ports['gpu']}",
                "analysis": f"http://127.0.0.1:{ports['analysis']}",
                "log": log_path,
                "home": home,
                "api_key": api.api_key,  # the local admin key the stack wrote
            }
        except BaseException:
            log.flush()
            print(log_path.read_text()[-6000:])
            raise
        finally:
            for s in [api, *workers.values()]:
                s.stop(grace=2)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def one_run(stack, tiny_model_dir) -> dict[str, Any]:
    key = stack["api_key"]  # the stack's local key is an admin key
    before = {k: scrape(f"{stack[k]}/metrics", key) for k in ("api", "gpu", "analysis")}
    auth = {"Authorization": f"Bearer {stack['api_key']}"}
    with httpx.Client(base_url=stack["api"], timeout=30, headers=auth) as client:
        r = client.post("/v1/experiments", json=tiny_spec(tiny_model_dir))
        assert r.status_code == 202, r.text
        done = wait_status(client, r.json()["id"], timeout=150)
    assert done["status"] == "succeeded", done
    time.sleep(0.5)  # the analysis task's postrun signal lands just after the finish
    after = {k: scrape(f"{stack[k]}/metrics", key) for k in ("api", "gpu", "analysis")}
    return {"experiment": done, "before": before, "after": after}


def moved(run: dict[str, Any], service: str, name: str, **labels: str) -> float:
    return value(run["after"][service], name, **labels) - value(
        run["before"][service], name, **labels
    )


def test_api_metrics(one_run):
    exp_id = one_run["experiment"]["id"]
    assert moved(one_run, "api", "icl_it_http_requests_total",
                 method="POST", route="/v1/experiments", status="202") == 1  # fmt: skip
    # by route template, not by path: the id is not a label value
    polls = moved(one_run, "api", "icl_it_http_requests_total",
                  method="GET", route="/v1/experiments/{experiment_id}", status="200")  # fmt: skip
    assert polls >= 1
    assert moved(one_run, "api", "icl_it_http_request_duration_seconds_count",
                 method="GET", route="/v1/experiments/{experiment_id}", status="200") == polls  # fmt: skip
    assert not any(exp_id in str(key) for key in one_run["after"]["api"])
    assert moved(one_run, "api", "icl_it_experiments", status="succeeded") == 1
    assert ("icl_it_queue_depth", (("queue", "gpu"),)) in one_run["after"]["api"]
    assert ("icl_it_queue_depth", (("queue", "analysis"),)) in one_run["after"]["api"]


def test_gpu_worker_metrics(one_run):
    task = {"task": "gpu.run_experiment_run", "state": "SUCCESS"}
    assert moved(one_run, "gpu", "icl_it_task_duration_seconds_count", **task) == 1
    assert moved(one_run, "gpu", "icl_it_task_duration_seconds_sum", **task) > 0
    assert moved(one_run, "gpu", "icl_it_task_queue_wait_seconds_count", queue="gpu") == 1
    for stage in ("setup", "anchor", "icl", "tune", "it", "total"):
        assert moved(one_run, "gpu", "icl_it_run_stage_seconds_count", stage=stage) == 1, stage
        assert moved(one_run, "gpu", "icl_it_run_stage_seconds_sum", stage=stage) > 0, stage
    total = moved(one_run, "gpu", "icl_it_run_stage_seconds_sum", stage="total")
    assert total >= moved(one_run, "gpu", "icl_it_run_stage_seconds_sum", stage="tune")
    for phase in ("extract", "tune"):
        assert moved(one_run, "gpu", "icl_it_tokens_total", phase=phase) > 0, phase
        assert moved(one_run, "gpu", "icl_it_tokens_per_second_count", phase=phase) == 1, phase
    adapters = sum(
        v - value(one_run["before"]["gpu"], name, **dict(labels))
        for (name, labels), v in one_run["after"]["gpu"].items()
        if name == "icl_it_adapters_total"
    )
    assert adapters == 4  # one adapter per inference example (tiny spec: n=4, k=2)


def test_analysis_worker_metrics(one_run):
    task = {"task": "analysis.analyze_run", "state": "SUCCESS"}
    assert moved(one_run, "analysis", "icl_it_task_duration_seconds_count", **task) == 1
    assert moved(one_run, "analysis", "icl_it_task_queue_wait_seconds_count",
                 queue="analysis") >= 1  # fmt: skip
    # the GPU stages are the GPU worker's: nothing of them here
    assert value(one_run["after"]["analysis"], "icl_it_run_stage_seconds_count", stage="tune") == 0


def test_workers_heartbeat(stack):
    for queue in ("gpu", "analysis"):
        beat = stack["home"] / f"{queue}.heartbeat"
        assert healthcheck.main(["--heartbeat", str(beat), "--max-age", "30"]) == 0, queue


def process_lines(log_path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in log_path.read_text().splitlines():
        m = re.match(r"\[\s*(\w+)\] (.*)$", line)
        if m:
            out.setdefault(m.group(1), []).append(m.group(2))
    return out


def test_logs_are_json_lines_with_the_run_ids(stack, one_run):
    exp = one_run["experiment"]
    (run,) = exp["runs"]
    lines = process_lines(stack["log"])
    assert set(lines) == {"api", "gpu", "analysis"}
    records: dict[str, list[dict[str, Any]]] = {}
    for service, texts in lines.items():
        for text in texts:
            try:
                records.setdefault(service, []).append(json.loads(text))
            except json.JSONDecodeError:
                pytest.fail(f"{service} wrote a line that is not JSON: {text!r}")
    for recs in records.values():
        assert all({"ts", "level", "logger", "message", "service"} <= set(r) for r in recs)
    # what the run's tasks log carries the run and its experiment
    for service, task in (("gpu", "gpu.run_experiment_run"), ("analysis", "analysis.analyze_run")):
        mine = [r for r in records[service] if r.get("task") == task]
        assert mine, f"no log line from {task}"
        assert all(r["run_id"] == run["id"] and r["experiment_id"] == exp["id"] for r in mine)
        assert all(r.get("task_id") for r in mine)
    computing = [r for r in records["gpu"] if "computing" in r["message"]]
    assert computing and computing[0]["run_id"] == run["id"]
    # the API's access log: one event per request, with the experiment id from the path
    access = [r for r in records["api"] if r.get("event") == "http.request"]
    polls = [r for r in access if r["route"] == "/v1/experiments/{experiment_id}"]
    assert polls and all(r["experiment_id"] == exp["id"] and r["status"] == 200 for r in polls)
    assert any(r["route"] == "/v1/experiments" and r["status"] == 202 for r in access)


@pytest.mark.parametrize("broker", ["redis", "sqlite"])
def test_queue_depth_counts_waiting_tasks(broker, redis_url, tmp_path):
    """Tasks nobody consumes yet (a prefix no worker listens on) show as queue depth."""
    import uuid

    import redis

    from services.api.prometheus import queue_depths
    from services.api.queue import CeleryTaskQueue
    from services.common.runtime.settings import Settings

    prefix = f"icl_it_test_depth_{uuid.uuid4().hex[:8]}:"
    settings = Settings(
        ICL_IT_HOME=tmp_path,
        REDIS_URL=redis_url if broker == "redis" else None,
        ICL_IT_BROKER_PREFIX=prefix,
    )
    queue = CeleryTaskQueue(settings)
    try:
        assert queue_depths(queue) == {"gpu": 0, "analysis": 0}
        queue.enqueue_runs(["run-a", "run-b"])
        queue.enqueue_finalize("exp-a")
        assert queue_depths(queue) == {"gpu": 2, "analysis": 1}
    finally:
        if broker == "redis":
            client = redis.Redis.from_url(redis_url)
            for key in client.scan_iter(match=f"{prefix}*"):
                client.delete(key)


def test_traces_cross_the_processes(stack, one_run, otlp):
    """FastAPI, Celery and SQLAlchemy spans from all three processes; the run's task span
    continues the trace of the request that queued it; its log lines carry that trace."""
    exp = one_run["experiment"]
    wait_for(
        lambda: (
            {"icl-it-api", "icl-it-gpu-worker", "icl-it-analysis-worker"}
            <= {service for service, _ in otlp.spans}
        ),
        30,
        "spans from the API and both workers",
    )
    by_name = {}
    for service, span in otlp.spans:
        by_name.setdefault((service, span.name), []).append(span)
    (post,) = by_name["icl-it-api", "POST /v1/experiments"]
    publish = by_name["icl-it-api", "apply_async/gpu.run_experiment_run"]
    run_spans = by_name["icl-it-gpu-worker", "run/gpu.run_experiment_run"]
    assert any(p.trace_id == post.trace_id for p in publish)
    assert any(r.trace_id == post.trace_id for r in run_spans)

    # SQLAlchemy statements inside the request and inside the task
    def has_sql(service: str, trace_id: bytes) -> bool:
        return any(
            s.trace_id == trace_id and any(a.key == "db.system" for a in s.attributes)
            for svc, s in otlp.spans
            if svc == service
        )

    assert has_sql("icl-it-api", post.trace_id)
    assert has_sql("icl-it-gpu-worker", post.trace_id)
    # the run's log lines carry the trace of the request that submitted it
    records = [json.loads(t) for t in process_lines(stack["log"])["gpu"]]
    computing = [r for r in records if "computing" in r["message"]]
    assert computing[0]["experiment_id"] == exp["id"]
    assert computing[0]["trace_id"] == post.trace_id.hex()
