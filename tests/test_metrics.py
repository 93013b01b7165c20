"""Metrics: the collector, the HTTP endpoint (TLS, basic auth), promtool on the real /metrics and on
the rules, a real Prometheus scraping a running camwatch, and the dashboard against what is exported."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from camwatch.metrics import CameraCollector, CameraView, Metrics, serve
from camwatch.sim.fleet import Fleet, free_port
from tests.conftest import PASSWORD

ROOT = Path(__file__).parent.parent
RULES = ROOT / "deploy" / "prometheus"


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is not installed (scripts/setup.sh --test installs it)")
    return path


def test_collector_reflects_current_state_and_forgets_removed_cameras() -> None:
    metrics = Metrics(CollectorRegistry())
    views = {"YD-01": CameraView("YD-01", "yen-dinh", "Ngã ba", status="ok", verdict="ok", fps=10.0, luma=127.5),
             "YD-02": CameraView("YD-02", "yen-dinh", "Cầu", status="down", verdict="black", incident_kind="black")}
    metrics.registry.register(CameraCollector(lambda: list(views.values()), lambda: {"pending": 3, "failed": 1, "sent": 9}))
    get = metrics.registry.get_sample_value
    assert get("camwatch_camera_up", {"camera": "YD-01", "commune": "yen-dinh"}) == 1
    assert get("camwatch_camera_up", {"camera": "YD-02", "commune": "yen-dinh"}) == 0
    assert get("camwatch_camera_status", {"camera": "YD-02", "commune": "yen-dinh", "camwatch_camera_status": "down"}) == 1
    assert get("camwatch_camera_incident_open", {"camera": "YD-02", "commune": "yen-dinh", "kind": "black"}) == 1
    assert get("camwatch_camera_luma_ratio", {"camera": "YD-01", "commune": "yen-dinh"}) == 0.5
    assert get("camwatch_outbox_pending") == 3 and get("camwatch_cameras") == 2
    assert get("camwatch_checks_total", {"result": "frozen"}) == 0  # every result exists from the start
    del views["YD-02"]  # removed from the config: no stale series
    assert get("camwatch_camera_up", {"camera": "YD-02", "commune": "yen-dinh"}) is None


def _get(url: str, auth: tuple[str, str] | None = None, ctx: ssl.SSLContext | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url)
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, ""


def test_endpoint_with_tls_and_basic_auth(tmp_path: Path) -> None:
    need("openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    metrics = Metrics(CollectorRegistry())
    port = free_port()
    httpd, _ = serve(metrics.registry, "127.0.0.1", port, str(cert), str(key), ("prometheus", "s3cret"))
    try:
        ctx = ssl.create_default_context(cafile=str(cert))
        assert _get(f"https://127.0.0.1:{port}/metrics", ctx=ctx)[0] == 401
        assert _get(f"https://127.0.0.1:{port}/metrics", ("prometheus", "wrong"), ctx)[0] == 401
        status, body = _get(f"https://127.0.0.1:{port}/metrics", ("prometheus", "s3cret"), ctx)
        assert status == 200 and "camwatch_build_info" in body
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_rules_pass_promtool_check_and_unit_tests() -> None:
    promtool = need("promtool")
    r = subprocess.run([promtool, "check", "rules", "camwatch.rules.yml"], cwd=RULES, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([promtool, "test", "rules", "camwatch.rules.test.yml"], cwd=RULES, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and "SUCCESS" in r.stdout, r.stdout + r.stderr
    alerts = set(re.findall(r"- alert: (\w+)", (RULES / "camwatch.rules.yml").read_text()))
    tested = set(re.findall(r"alertname: (\w+)", (RULES / "camwatch.rules.test.yml").read_text()))
    assert alerts == tested, f"alerting rules without a unit test: {alerts - tested}"


@pytest.fixture
def running_camwatch(fleet: Fleet, tmp_path: Path) -> Iterator[int]:
    port = free_port()
    fleet.set("metrics1", "day")
    cfg = tmp_path / "cameras.toml"
    cfg.write_text(f"""
[district]
state_dir = "{tmp_path / 'state'}"
[metrics]
listen = "127.0.0.1:{port}"
[defaults]
user = "admin"
password_env = "M_CAM_PASSWORD"
interval_s = 3
[defaults.health]
failures_to_open = 1
[[communes]]
id = "cam-dan"
name = "Cẩm Đàn"
[[cameras]]
id = "CD-01"
name = "Ngã ba chợ"
commune = "cam-dan"
rtsp_url = "{fleet.url('metrics1')}"
[[cameras]]
id = "CD-02"
name = "Cầu Cẩm Đàn"
commune = "cam-dan"
rtsp_url = "{fleet.url('black')}"
""", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "camwatch", "run", "-c", str(cfg)],
                            env={**os.environ, "M_CAM_PASSWORD": PASSWORD}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            try:
                body = _get(f"http://127.0.0.1:{port}/metrics")[1]
                if body.count("camwatch_camera_up{") == 2:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            raise AssertionError("camwatch did not export both cameras")
        yield port
    finally:
        proc.terminate()
        proc.wait(20)


def test_live_metrics_pass_promtool_and_feed_a_real_prometheus(running_camwatch: int, tmp_path: Path) -> None:
    promtool, prometheus = need("promtool"), need("prometheus")
    body = _get(f"http://127.0.0.1:{running_camwatch}/metrics")[1]
    r = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "", r.stdout + r.stderr
    assert PASSWORD not in body and "rtsp://" not in body

    web = free_port()
    (tmp_path / "prometheus.yml").write_text(f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: ["{RULES / 'camwatch.rules.yml'}"]
scrape_configs:
  - job_name: camwatch
    static_configs: [{{targets: ["127.0.0.1:{running_camwatch}"]}}]
""")
    prom = subprocess.Popen([prometheus, f"--config.file={tmp_path / 'prometheus.yml'}",
                             f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{web}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        got: dict[str, str] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(got) < 2:
            try:
                q = urllib.parse.quote("camwatch_camera_up")
                data = json.loads(_get(f"http://127.0.0.1:{web}/api/v1/query?query={q}")[1] or "{}")
                got = {s["metric"]["camera"]: s["value"][1] for s in data.get("data", {}).get("result", [])}
            except OSError:
                pass
            time.sleep(1)
        assert got == {"CD-01": "1", "CD-02": "0"}
    finally:
        prom.terminate()
        prom.wait(20)


def test_dashboard_queries_only_metrics_camwatch_exports(running_camwatch: int) -> None:
    body = _get(f"http://127.0.0.1:{running_camwatch}/metrics")[1]
    # every family camwatch declares (samples of some appear only once known, e.g. sharpness after a baseline)
    exported = {m.group(1) for m in re.finditer(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{| )", body, re.M)}
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)", body, re.M):
        exported |= {name, f"{name}_total", f"{name}_bucket", f"{name}_info"} if kind in ("counter", "histogram", "info") \
            else {name}
    recorded = set(re.findall(r"- record: (\S+)", (RULES / "camwatch.rules.yml").read_text()))
    dash = json.loads((ROOT / "deploy" / "grafana" / "camwatch.json").read_text(encoding="utf-8"))
    assert dash["__inputs"][0]["type"] == "datasource"
    assert {v["name"] for v in dash["templating"]["list"]} == {"datasource", "commune", "camera"}
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    exprs += [v["definition"] for v in dash["templating"]["list"] if "definition" in v]
    assert len(exprs) > 15
    functions = {"sum", "count", "avg", "max", "rate", "histogram_quantile", "vector", "by", "or", "label_values",
                 "le", "result", "commune", "camera"}
    for expr in exprs:
        for name in re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?=\s*[{\[)\s,]|\s*$|\s*==)", re.sub(r'"[^"]*"', '""', expr)):
            if name in functions or name.isdigit():
                continue
            assert name in exported or name in recorded, f"{name!r} in {expr!r} is not exported"
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
