"""The Grafana dashboard and the Prometheus config ask for series the services export."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client.metrics import MetricWrapperBase

from services.common.runtime import prometheus

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "deploy" / "monitoring"
SCRAPE_TIME = {"icl_it_experiments", "icl_it_queue_depth"}  # services/api/prometheus.py


def exported_names() -> set[str]:
    names = set(SCRAPE_TIME)
    for obj in vars(prometheus).values():
        if isinstance(obj, MetricWrapperBase):
            base, kind = obj._name, obj._type  # noqa: SLF001
            suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}
            names.update(base + s for s in suffixes.get(kind, [""]))
    return names


def test_dashboard_queries_exported_series():
    dashboard = json.loads((MONITORING / "grafana/dashboards/icl-it.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {name for e in exprs for name in re.findall(r"\bicl_it_\w+", e)}
    assert used and used <= exported_names(), used - exported_names()
    # every family the issue names has a panel
    for family in (
        "icl_it_http_requests_total", "icl_it_http_request_duration_seconds_bucket",
        "icl_it_experiments", "icl_it_queue_depth", "icl_it_task_duration_seconds_bucket",
        "icl_it_task_queue_wait_seconds_bucket", "icl_it_run_stage_seconds_sum",
        "icl_it_tokens_total", "icl_it_adapters_total", "icl_it_gpu_memory_bytes",
    ):  # fmt: skip
        assert family in used, family
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_prometheus_scrapes_the_ports_the_images_serve():
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    # the API's key-less listener (ICL_IT_METRICS_PORT), not :8000 where /metrics needs a key
    assert jobs["icl-it-api"]["static_configs"][0]["targets"] == ["api:9808"]
    assert "ICL_IT_METRICS_PORT=9808" in (REPO / "deploy" / "api.Dockerfile").read_text()
    for job, dockerfile in (
        ("icl-it-gpu-worker", "gpu_worker.Dockerfile"),
        ("icl-it-analysis-worker", "analysis.Dockerfile"),
    ):
        port = jobs[job]["dns_sd_configs"][0]["port"]
        assert f"ICL_IT_METRICS_PORT={port}" in (REPO / "deploy" / dockerfile).read_text()
    provisioning = MONITORING / "grafana/provisioning"
    datasource = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())
    assert datasource["datasources"][0]["uid"] == "prometheus"
