"""Metrics: the collector, the HTTP endpoint (TLS, basic auth), `promtool check metrics` on real scrapes, the
rules' unit tests generated from the real exposition (tests/prom_scenarios.py), and the dashboard's shape and
queries. A real Prometheus against a running camwatch: tests/test_prometheus_e2e.py."""

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
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from camwatch.health import Status
from camwatch.metrics import CameraCollector, CameraView, Metrics, serve
from camwatch.sim.fleet import Fleet, free_port
from tests.conftest import PASSWORD
from tests.prom_scenarios import SCENARIOS, render

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
    assert get("camwatch_camera_incident_open", {"camera": "YD-02", "commune": "yen-dinh", "kind": "black"}) == 1
    assert get("camwatch_camera_luma_ratio", {"camera": "YD-01", "commune": "yen-dinh"}) == 0.5
    assert get("camwatch_outbox_pending") == 3 and get("camwatch_cameras") == 2
    assert get("camwatch_checks_total", {"result": "frozen"}) == 0  # every result exists from the start
    del views["YD-02"]  # removed from the config: no stale series
    assert get("camwatch_camera_up", {"camera": "YD-02", "commune": "yen-dinh"}) is None
    assert get("camwatch_camera_status", {"camera": "YD-02", "commune": "yen-dinh", "status": "down"}) is None


def test_status_is_one_series_per_state_with_a_status_label() -> None:
    metrics = Metrics(CollectorRegistry())
    views = [CameraView("VS-01", "van-son", status="degraded"), CameraView("VS-02", "van-son", status="maintenance"),
             CameraView("VS-03", "van-son")]
    metrics.registry.register(CameraCollector(lambda: views))
    get = metrics.registry.get_sample_value
    for cam, current in (("VS-01", "degraded"), ("VS-02", "maintenance"), ("VS-03", "unknown")):
        got = {s.value: get("camwatch_camera_status", {"camera": cam, "commune": "van-son", "status": s.value})
               for s in Status}
        assert got == {s.value: 1.0 if s.value == current else 0.0 for s in Status}
    text = generate_latest(metrics.registry).decode()
    assert "camwatch_camera_status=" not in text  # the StateSet label the rules could not see (issue 14)


def test_names_of_communes_and_cameras_are_exported_for_queries() -> None:
    metrics = Metrics(CollectorRegistry())
    views = [CameraView("TYT-01", "tay-yen-tu", "Cổng chợ Tây Yên Tử"),
             CameraView("AC-01", "an-chau", "Ngã tư An Châu", commune_name="Thị trấn An Châu"),
             CameraView("YD-01", "yen-dinh", "Ngã ba chợ")]
    metrics.registry.register(CameraCollector(lambda: views,
                                              communes=lambda: {"tay-yen-tu": "Thị trấn Tây Yên Tử", "cam-dan": "Cẩm Đàn"}))
    info = {(s.labels["commune"], s.labels["name"]) for f in metrics.registry.collect() if f.name == "camwatch_commune"
            for s in f.samples}
    # configured communes (even without a camera), then the view's name, then the id: every commune is listed
    assert info == {("tay-yen-tu", "Thị trấn Tây Yên Tử"), ("cam-dan", "Cẩm Đàn"), ("an-chau", "Thị trấn An Châu"),
                    ("yen-dinh", "yen-dinh")}
    get = metrics.registry.get_sample_value
    assert get("camwatch_camera_info", {"camera": "TYT-01", "commune": "tay-yen-tu", "name": "Cổng chợ Tây Yên Tử",
                                        "codec": "", "resolution": "", "model": "", "firmware": ""}) == 1


def test_every_scenario_exposition_passes_promtool_check_metrics() -> None:
    """The scenarios fill every field of the views, feed every counter and histogram: all of it is linted."""
    promtool = need("promtool")
    for make in SCENARIOS:
        cw = make().camwatch()
        for cam in cw.views:
            cw.check(60.0, cam, "ok")
        v = next(iter(cw.views.values()))
        v.sharpness_ratio, v.clock_offset_s, v.recording_age_s, v.incident_kind = 0.9, 1.0, 30.0, "black"
        v.model, v.firmware = "DS-2CD1023G0-IU", "V5.5.0"
        text = generate_latest(cw.metrics.registry).decode()
        r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "", r.stdout + r.stderr


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


def _promtool_test(tmp: Path, rules_text: str) -> subprocess.CompletedProcess[str]:
    """`promtool test rules` on unit tests generated now from the real exposition, against `rules_text`."""
    (tmp / "camwatch.rules.yml").write_text(rules_text, encoding="utf-8")
    (tmp / "camwatch.rules.test.yml").write_text(render(rules_text=rules_text), encoding="utf-8")
    return subprocess.run([need("promtool"), "test", "rules", "camwatch.rules.test.yml"], cwd=tmp, capture_output=True,
                          text=True, timeout=120)


def test_rules_pass_promtool_check_and_unit_tests_generated_from_the_exposition(tmp_path: Path) -> None:
    promtool = need("promtool")
    r = subprocess.run([promtool, "check", "rules", "camwatch.rules.yml"], cwd=RULES, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    rules = (RULES / "camwatch.rules.yml").read_text(encoding="utf-8")
    r = _promtool_test(tmp_path, rules)
    assert r.returncode == 0 and "SUCCESS" in r.stdout, r.stdout + r.stderr
    generated = (tmp_path / "camwatch.rules.test.yml").read_text(encoding="utf-8")
    assert (RULES / "camwatch.rules.test.yml").read_text(encoding="utf-8") == generated, \
        "deploy/prometheus/camwatch.rules.test.yml is stale: run python -m tests.prom_scenarios"
    alerts = set(re.findall(r"- alert: (\w+)", rules))
    fired = {m.group(1) for m in re.finditer(r"alertname: (\w+)\n        exp_alerts:\n", generated)}
    assert alerts == fired, f"alerting rules never shown firing in a scenario: {alerts - fired}"


def test_generated_unit_tests_catch_rules_that_filter_on_a_label_camwatch_does_not_export(tmp_path: Path) -> None:
    """The rules as they were (issue 14), reading the StateSet's label: the generated tests must fail on them."""
    rules = (RULES / "camwatch.rules.yml").read_text(encoding="utf-8")
    broken = rules.replace('{status="', '{camwatch_camera_status="')
    assert broken != rules
    r = _promtool_test(tmp_path, broken)
    assert r.returncode != 0 and "FAILED" in r.stdout + r.stderr
    for alert in ("CameraDown", "CameraPictureDegraded", "CommuneOutage"):
        assert f"alertname: {alert}" in r.stdout + r.stderr


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


def test_live_metrics_pass_promtool_check_metrics(running_camwatch: int) -> None:
    promtool = need("promtool")
    body = _get(f"http://127.0.0.1:{running_camwatch}/metrics")[1]
    r = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "", r.stdout + r.stderr
    assert PASSWORD not in body and "rtsp://" not in body
    assert 'camwatch_camera_status{camera="CD-02",commune="cam-dan",status="' in body
    assert 'camwatch_commune_info{commune="cam-dan",name="' in body


DASHBOARD = ROOT / "deploy" / "grafana" / "camwatch.json"
DS = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
# the newest dashboard schema each Grafana release writes (public/app/features/dashboard/state/DashboardMigrator.ts)
GRAFANA_SCHEMA = {"10.0.0": 38}
STATUS_TEXT = {"unknown": "Chưa rõ", "ok": "Bình thường", "degraded": "Kém chất lượng", "down": "Mất hình",
               "maintenance": "Bảo trì"}


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def queries(dash: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(p, t) for p in dash["panels"] for t in p.get("targets", [])]


def substitute(expr: str, commune: str = ".*", camera: str = ".*") -> str:
    """What Grafana sends for a query (variables at "All", or at the given values)."""
    return (expr.replace("$__rate_interval", "1m").replace("$commune", commune).replace("$camera", camera))


def test_dashboard_imports_with_the_data_source_chosen_at_import() -> None:
    dash = dashboard()
    assert dash["__inputs"] == [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource",
                                 "pluginId": "prometheus", "pluginName": "Prometheus",
                                 "description": dash["__inputs"][0]["description"]}]
    panels = [p for p in dash["panels"] if p["type"] != "row"]
    for p in panels:
        assert p["datasource"] == DS, p["title"]
        assert p["targets"] and all(t["datasource"] == DS for t in p["targets"]), p["title"]
    for v in dash["templating"]["list"]:
        assert v["datasource"] == DS, v["name"]
    text = DASHBOARD.read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{?(\w+)", text))
    assert used <= {"DS_PROMETHEUS", "commune", "camera", "__rate_interval", "1"}, used  # $1: label_replace's group
    req = {r["type"]: r for r in dash["__requires"] if r["type"] != "panel"}
    grafana = req["grafana"]["version"]
    assert int(grafana.split(".")[0]) >= 10 and dash["schemaVersion"] <= GRAFANA_SCHEMA[grafana]
    assert {r["id"] for r in dash["__requires"] if r["type"] == "panel"} == {p["type"] for p in panels}
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)) and all(p["gridPos"]["x"] + p["gridPos"]["w"] <= 24 for p in dash["panels"])


def test_dashboard_shows_each_status_with_a_colour_and_a_vietnamese_label() -> None:
    (p,) = [p for p in dashboard()["panels"] if p["type"] == "state-timeline"]
    (t,) = p["targets"]
    options = {k: v for m in p["fieldConfig"]["defaults"]["mappings"] for k, v in m["options"].items()}
    for s in Status:
        code = re.search(rf'status="{s.value}"\}} == 1\) \* (\d+)', t["expr"])
        assert code is not None, f"status {s.value} missing from {t['expr']}"
        assert options[code.group(1)]["text"] == STATUS_TEXT[s.value] and options[code.group(1)]["color"]
    assert len({o["color"] for o in options.values()}) == len(Status)
    assert "camwatch_camera_up" not in t["expr"]  # a degraded camera has a picture: it is not green


def test_per_commune_table_has_named_columns_units_and_zeros() -> None:
    (p,) = [p for p in dashboard()["panels"] if p["title"].startswith("Theo xã")]
    ids = [x["id"] for x in p["transformations"]]
    assert ids[:2] == ["merge", "organize"]
    organize = p["transformations"][1]["options"]
    values = [f"Value #{t['refId']}" for t in p["targets"]]
    named = {t["refId"] for t in p["targets"] if "camwatch_commune_info" in t["expr"] and " or " not in t["expr"]}
    assert named and all(organize["excludeByName"][f"Value #{r}"] for r in named)  # the names' query: its 1 hidden
    shown = [v for v in values if v[-1] not in named]
    assert set(organize["renameByName"]) == {"name", *shown}
    units = {o["matcher"]["options"]: {x["id"]: x["value"] for x in o["properties"]} for o in p["fieldConfig"]["overrides"]}
    for v in shown:
        assert "unit" in units[organize["renameByName"][v]], v
    assert organize["excludeByName"]["commune"] and organize["excludeByName"]["Time"]  # the name, not the slug
    for t in p["targets"]:
        assert t["format"] == "table" and t["instant"] is True
        if "count by (commune) (max by (camera, commune) (camwatch_camera_status" in t["expr"]:
            assert t["expr"].endswith('or on(commune) (0 * max by (commune) (camwatch_commune_info{commune=~"$commune"}))')


def test_dashboard_queries_parse_and_read_only_what_camwatch_exports(tmp_path: Path) -> None:
    promtool = need("promtool")
    text = ""
    for make in SCENARIOS:
        cw = make().camwatch()
        for cam in cw.views:
            cw.check(60.0, cam, "ok")
        v = next(iter(cw.views.values()))
        v.sharpness_ratio, v.clock_offset_s, v.incident_kind = 0.9, 1.0, "black"
        text += generate_latest(cw.metrics.registry).decode()
    exported = {m.group(1) for m in re.finditer(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{| )", text, re.M)}
    recorded = set(re.findall(r"- record: (\S+)", (RULES / "camwatch.rules.yml").read_text()))
    dash = dashboard()
    exprs = [t["expr"] for _p, t in queries(dash)]
    exprs += [re.sub(r"^query_result\((.*)\)$", r"\1", v["definition"]) for v in dash["templating"]["list"]]
    assert len(exprs) > 20
    for expr in exprs:
        names = set(re.findall(r"\b((?:camwatch[_:]|commune:)[a-z0-9_:]*)\b\s*(?=[{\[)])", re.sub(r'"[^"]*"', '""', expr)))
        assert names, expr
        for name in names:
            assert name in exported or name in recorded, f"{name!r} in {expr!r} is not exported"
    # every query is valid PromQL once Grafana has put the variables in
    rules = "groups:\n  - name: dashboard\n    rules:\n" + "".join(
        f"      - record: q{i}\n        expr: {json.dumps(substitute(e))}\n" for i, e in enumerate(exprs))
    (tmp_path / "dashboard.rules.yml").write_text(rules, encoding="utf-8")
    r = subprocess.run([promtool, "check", "rules", str(tmp_path / "dashboard.rules.yml")], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
