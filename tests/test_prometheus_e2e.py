"""A real Prometheus, loaded with deploy/prometheus/camwatch.rules.yml, scrapes a running `camwatch run` that
checks the simulated RTSP fleet; everything is asserted through Prometheus's HTTP API.

One district holds every scenario at once (each commune has its own), then camwatch is stopped:
- Thị trấn Tây Yên Tử: TYT-01 healthy, TYT-02 unreachable → CameraDown TYT-02; half the commune down: no CommuneOutage
- Cẩm Đàn: CD-01 black, CD-02 unreachable, CD-03 healthy (found through ONVIF, which also gives the clock)
  → CameraDown CD-01 and CD-02, CommuneOutage cam-dan
- Vân Sơn: VS-01 covered → CameraPictureDegraded; VS-02 and VS-03 unreachable but in a maintenance window
  → no CameraDown, no CommuneOutage, no uptime series for them
- camwatch stopped → CamwatchDown, and the cameras' alerts end

The rules' `for:` durations, the uptime group's interval and its subqueries' step are shortened for the
test (render_rules); the queries are otherwise the deployed ones. Conditions are polled with generous bounds, never slept on.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from camwatch.health import Status
from camwatch.sim.fleet import Fleet, free_port
from tests.conftest import PASSWORD
from tests.onvif_device import OnvifDevice

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "deploy" / "prometheus" / "camwatch.rules.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "camwatch.json"
TIMEOUT_S = 240.0  # two loaded cores: checks, decoding, Prometheus and the RTSP server share them
FOR_IN_TEST = {"CameraDown": "10s", "CameraPictureDegraded": "10s", "CommuneOutage": "10s", "CamwatchDown": "5s"}
NAMES = {"tay-yen-tu": "Thị trấn Tây Yên Tử", "cam-dan": "Cẩm Đàn", "van-son": "Vân Sơn"}
CAMERAS = {  # id: (commune, name, status it settles in)
    "TYT-01": ("tay-yen-tu", "Cổng chợ Tây Yên Tử", "ok"), "TYT-02": ("tay-yen-tu", "Bến xe", "down"),
    "CD-01": ("cam-dan", "Cầu Cẩm Đàn", "down"), "CD-02": ("cam-dan", "Trường Cẩm Đàn", "down"),
    "CD-03": ("cam-dan", "Ngã ba chợ Cẩm Đàn", "ok"),
    "VS-01": ("van-son", "Ngã tư Vân Sơn", "degraded"), "VS-02": ("van-son", "UBND xã Vân Sơn", "maintenance"),
    "VS-03": ("van-son", "Trạm y tế Vân Sơn", "maintenance"),
}
EXPECTED_FIRING = {("CameraDown", "TYT-02"), ("CameraDown", "CD-01"), ("CameraDown", "CD-02"),
                   ("CameraPictureDegraded", "VS-01"), ("CommuneOutage", "cam-dan")}
FORBIDDEN = {("CameraDown", "VS-02"), ("CameraDown", "VS-03"), ("CommuneOutage", "tay-yen-tu"),
             ("CommuneOutage", "van-son"), ("CameraPictureDegraded", "VS-02"), ("CameraPictureDegraded", "VS-03")}

T = TypeVar("T")


def render_rules(text: str, for_s: dict[str, str], group_interval: str, subquery_step: str) -> str:
    """The deployed rules with, for a test that lasts minutes: a shorter `for:` for the named alerts, a shorter
    interval for the groups that set one, and a finer step for the uptime subqueries (`[30d:15m]` has no point
    until the clock passes a quarter hour). The expressions are otherwise the deployed ones."""
    out, alert, done = [], None, set()
    for line in text.splitlines():
        m = re.match(r"\s*- (alert|record): (\S+)", line)
        if m:
            alert = m.group(2) if m.group(1) == "alert" else None
        m = re.match(r"(\s*)for: \S+$", line)
        if m and alert in for_s:
            line, _ = f"{m.group(1)}for: {for_s[alert]}", done.add(alert)
        m = re.match(r"(\s*)interval: \S+$", line)
        if m:
            line = f"{m.group(1)}interval: {group_interval}"
        line = re.sub(r"\[(\d+[dhm]):\d+[smh]\]", rf"[\1:{subquery_step}]", line)
        out.append(line)
    assert done == set(for_s), f"no `for:` found for {set(for_s) - done}"
    return "\n".join(out) + "\n"


def wait_until(cond: Callable[[], T], what: str, timeout: float = TIMEOUT_S, show: Callable[[], object] | None = None) -> T:
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}" +
                                 (f"; last seen: {show()}" if show else ""))
        time.sleep(1)


def http_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read().decode())


@dataclass
class Stack:
    prom: str
    metrics_port: int
    camwatch: subprocess.Popen[bytes]
    logs: Path

    def query(self, expr: str) -> list[dict[str, Any]]:
        data = http_json(f"{self.prom}/api/v1/query?query={urllib.parse.quote(expr)}")
        assert data["status"] == "success", data
        return list(data["data"]["result"])

    def query_range(self, expr: str, seconds: int = 120) -> list[dict[str, Any]]:
        end = time.time()
        q = urllib.parse.urlencode({"query": expr, "start": end - seconds, "end": end, "step": 2})
        data = http_json(f"{self.prom}/api/v1/query_range?{q}")
        assert data["status"] == "success", data
        return list(data["data"]["result"])

    def alerts(self) -> list[dict[str, Any]]:
        return list(http_json(f"{self.prom}/api/v1/alerts")["data"]["alerts"])

    def firing(self) -> set[tuple[str, str]]:
        return {key(a) for a in self.alerts() if a["state"] == "firing"}

    def log_tail(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.logs.glob("*.log")))


def key(alert: dict[str, Any]) -> tuple[str, str]:
    labels = alert["labels"]
    return labels["alertname"], labels.get("camera") or labels.get("commune") or labels.get("instance", "")


def write_config(tmp: Path, fleet: Fleet, onvif_port: int, closed_port: int, metrics_port: int) -> Path:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    start, end = (now - dt.timedelta(hours=1)).isoformat(), (now + dt.timedelta(days=1)).isoformat()
    url = {"TYT-01": f'rtsp_url = "{fleet.url("day")}"', "TYT-02": f'rtsp_url = "rtsp://127.0.0.1:{closed_port}/TYT-02"',
           "CD-01": f'rtsp_url = "{fleet.url("black")}"', "CD-02": f'rtsp_url = "rtsp://127.0.0.1:{closed_port}/CD-02"',
           "CD-03": f'onvif = {{ host = "127.0.0.1", port = {onvif_port} }}',
           "VS-01": f'rtsp_url = "{fleet.url("covered")}"', "VS-02": f'rtsp_url = "rtsp://127.0.0.1:{closed_port}/VS-02"',
           "VS-03": f'rtsp_url = "rtsp://127.0.0.1:{closed_port}/VS-03"'}
    communes = "".join(f'[[communes]]\nid = "{c}"\nname = "{n}"\n' for c, n in NAMES.items())
    cameras = "".join(f'[[cameras]]\nid = "{cam}"\nname = "{name}"\ncommune = "{commune}"\n{url[cam]}\n'
                      for cam, (commune, name, _s) in CAMERAS.items())
    maintenance = "".join(f'[[maintenance]]\ncamera = "{cam}"\nstart = {start}\nend = {end}\nreason = "thay dây"\n'
                          for cam in ("VS-02", "VS-03"))
    cfg = tmp / "cameras.toml"
    cfg.write_text(f"""
[district]
name = "Thử nghiệm Prometheus"
state_dir = "{tmp / 'state'}"

[metrics]
listen = "127.0.0.1:{metrics_port}"

[defaults]
user = "admin"
password_env = "PROM_E2E_CAM_PASSWORD"
interval_s = 4
deadline_s = 8
connect_timeout_s = 2

[defaults.health]
failures_to_open = 1
degraded_failures_to_open = 1
successes_to_close = 2

{communes}
{cameras}
{maintenance}""", encoding="utf-8")
    return cfg


@pytest.fixture(scope="module")
def stack(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("prometheus-e2e")
    device = OnvifDevice(fleet.url("static"), user="admin", password=PASSWORD).start()
    metrics_port, web_port = free_port(), free_port()
    cfg = write_config(tmp, fleet, device.port, free_port(), metrics_port)
    camwatch = subprocess.Popen([sys.executable, "-m", "camwatch", "run", "-c", str(cfg)],
                                env={**os.environ, "PROM_E2E_CAM_PASSWORD": PASSWORD},
                                stdout=(tmp / "camwatch.log").open("ab"), stderr=subprocess.STDOUT)
    prom: subprocess.Popen[bytes] | None = None
    try:
        rules = tmp / "camwatch.rules.yml"
        rules.write_text(render_rules(RULES.read_text(encoding="utf-8"), FOR_IN_TEST, "2s", "10s"), encoding="utf-8")
        (tmp / "prometheus.yml").write_text(f"""
global: {{scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}}
rule_files: ["{rules}"]
scrape_configs:
  - job_name: camwatch
    static_configs: [{{targets: ["127.0.0.1:{metrics_port}"]}}]
""", encoding="utf-8")
        prom = subprocess.Popen(["/usr/bin/prometheus", f"--config.file={tmp / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={tmp / 'tsdb'}", f"--web.listen-address=127.0.0.1:{web_port}",
                                 "--log.level=warn"],
                                stdout=(tmp / "prometheus.log").open("ab"), stderr=subprocess.STDOUT)
        s = Stack(f"http://127.0.0.1:{web_port}", metrics_port, camwatch, tmp)

        def ready() -> bool:
            assert prom is not None and prom.poll() is None, s.log_tail()
            assert camwatch.poll() is None, s.log_tail()
            try:
                return len(s.query('up{job="camwatch"} == 1')) == 1
            except (OSError, urllib.error.URLError):
                return False

        wait_until(ready, "Prometheus to scrape camwatch", show=s.log_tail)
        yield s
    finally:
        for p in (prom, camwatch):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(10)
        device.stop()


def settled(s: Stack) -> bool:
    """Every camera is in the status its scenario leads to, as Prometheus last scraped it."""
    got = {r["metric"]["camera"]: r["metric"]["status"] for r in s.query("camwatch_camera_status == 1")}
    return got == {cam: status for cam, (_c, _n, status) in CAMERAS.items()}


def test_each_alert_fires_in_its_scenario_and_only_there(stack: Stack) -> None:
    wait_until(lambda: settled(stack), "every camera in its scenario's status",
               show=lambda: stack.query("camwatch_camera_status == 1"))
    seen_after_settled: set[tuple[str, str]] = set()
    settled_at = time.time()

    def expected_firing() -> bool:
        alerts = stack.alerts()
        for a in alerts:
            active = dt.datetime.fromisoformat(a["activeAt"].replace("Z", "+00:00")).timestamp()
            if active >= settled_at - 1:
                seen_after_settled.add(key(a))
        return {key(a) for a in alerts if a["state"] == "firing" and key(a)[0] in FOR_IN_TEST} == EXPECTED_FIRING

    wait_until(expected_firing, "the scenarios' alerts to fire", show=stack.alerts)
    assert not (seen_after_settled & FORBIDDEN), seen_after_settled & FORBIDDEN
    # the texts: names where camwatch exports them
    alerts = {key(a): a for a in stack.alerts()}
    assert alerts[("CameraDown", "CD-01")]["annotations"]["summary_vi"].startswith("Camera CD-01 «Cầu Cẩm Đàn» (")
    assert alerts[("CameraPictureDegraded", "VS-01")]["labels"]["status"] == "degraded"
    assert alerts[("CommuneOutage", "cam-dan")]["annotations"]["summary"].endswith("are down (66.67%)")


def test_maintenance_is_excluded_from_alerts_and_uptime(stack: Stack) -> None:
    wait_until(lambda: settled(stack), "every camera in its scenario's status")
    # VS-02/VS-03 have no picture and are in maintenance; TYT-02 has no picture and is not
    assert {r["metric"]["camera"] for r in stack.query("camwatch_camera_up == 0")} >= {"VS-02", "VS-03", "TYT-02"}

    def uptime() -> dict[str, float] | None:
        got = {r["metric"]["camera"]: float(r["value"][1]) for r in stack.query("camwatch:camera_up:avg1d")}
        return got if set(got) >= {"TYT-01", "TYT-02", "CD-01", "CD-02", "CD-03", "VS-01"} else None

    got = wait_until(uptime, "the uptime recording rules", show=lambda: stack.query("camwatch:camera_up:avg1d"))
    assert "VS-02" not in got and "VS-03" not in got
    assert got["TYT-02"] == 0 and got["VS-01"] == 1  # a degraded picture is a picture
    communes = {r["metric"]["commune"]: float(r["value"][1]) for r in stack.query("commune:camwatch_camera_up:avg1d")}
    assert communes["van-son"] == 1  # only VS-01 counts
    for a in stack.alerts():
        assert a["labels"].get("camera") not in ("VS-02", "VS-03"), a
        assert not (a["labels"]["alertname"] == "CommuneOutage" and a["labels"]["commune"] == "van-son"), a


def substitute(expr: str, camera: str = ".*") -> str:
    return expr.replace("$__rate_interval", "1m").replace("$commune", ".*").replace("$camera", camera)


def rows(result: list[dict[str, Any]], label: str) -> dict[str, float]:
    return {r["metric"].get(label, ""): float(r["value"][1]) for r in result}


# what each panel shows once its scenario holds (panel title prefix → check of the query's result); the other
# panels must simply return data. $camera is CD-03: a healthy camera found through ONVIF (clock, baseline).
PANEL_CHECKS: dict[str, Callable[[str, list[dict[str, Any]]], bool]] = {
    "Camera giám sát": lambda _r, res: rows(res, "")[""] == len(CAMERAS),
    "Mất hình": lambda _r, res: rows(res, "")[""] == 3,
    "Kém chất lượng": lambda _r, res: rows(res, "")[""] == 1,
    "Bảo trì": lambda _r, res: rows(res, "")[""] == 2,
    "Sẵn sàng": lambda _r, res: 0 < rows(res, "")[""] < 1,
    "Theo xã": lambda ref, res: set(rows(res, "commune")) == set(NAMES) and (ref != "C" or rows(res, "commune") == {
        "tay-yen-tu": 1, "cam-dan": 2, "van-son": 0}),  # C: down, a 0 and not a blank for Vân Sơn
    "Sự cố đang mở": lambda _r, res: {r["metric"]["camera"] for r in res} == {"TYT-02", "CD-01", "CD-02", "VS-01"}
    and all(r["metric"]["name"] and r["metric"]["commune_name"] for r in res),
}


def test_every_dashboard_query_returns_data_when_its_scenario_holds(stack: Stack) -> None:
    wait_until(lambda: settled(stack), "every camera in its scenario's status")
    dash = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    targets = [(p["title"], t) for p in dash["panels"] for t in p.get("targets", [])]
    assert len(targets) > 20
    pending = dict(enumerate(targets))
    results: dict[int, object] = {}

    def all_answer() -> bool:
        for i, (title, t) in list(pending.items()):
            expr = substitute(t["expr"], camera="CD-03")
            res = stack.query(expr) if t.get("instant") else stack.query_range(expr)
            if t.get("instant") and res:
                check = next((c for prefix, c in PANEL_CHECKS.items() if title.startswith(prefix)), None)
                ok = check is None or check(t["refId"], res)
            else:
                ok = bool(res) and all(r.get("values") for r in res)
            results[i] = res
            if ok:
                del pending[i]
        return not pending

    wait_until(all_answer, "every panel's query to show its scenario",
               show=lambda: {targets[i][0] + " " + targets[i][1]["refId"]: results.get(i) for i in pending})

    # the status timeline: each camera in its own colour, a degraded one not green
    (status_panel,) = [p for p in dash["panels"] if p["type"] == "state-timeline"]
    expr = status_panel["targets"][0]["expr"]
    code = {m.group(1): int(m.group(2)) for m in re.finditer(r'status="(\w+)"\} == 1\) \* (\d+)', expr)}
    assert set(code) == {s.value for s in Status}
    res = stack.query(substitute(expr))
    assert {r["metric"]["camera"]: int(float(r["value"][1])) for r in res} == {
        cam: code[st] for cam, (_c, _n, st) in CAMERAS.items()}
    # the variables: a commune is chosen by its name, its slug is what the queries get
    for v in dash["templating"]["list"]:
        inner = re.fullmatch(r"query_result\((.*)\)", v["definition"])
        assert inner, v["definition"]
        res = stack.query(substitute(inner.group(1)))
        regex = re.compile(v["regex"].strip("/").replace("(?<", "(?P<"))
        for r in res:
            line = "{" + ", ".join(f'{k}="{x}"' for k, x in sorted(r["metric"].items())) + "}"
            m = regex.search(line)
            assert m and m.group("value") == r["metric"][v["name"]] and m.group("text") == r["metric"]["name"], line
        assert {r["metric"][v["name"]] for r in res} == (set(NAMES) if v["name"] == "commune" else set(CAMERAS))


def test_alert_texts_and_dashboard_show_the_communes_names(stack: Stack) -> None:
    names = {r["metric"]["commune"]: r["metric"]["name"] for r in stack.query("camwatch_commune_info")}
    assert names == NAMES


def test_stopped_camwatch_alerts_and_its_cameras_alerts_end(stack: Stack) -> None:
    """Last in this module: it stops the camwatch the others watch."""
    stack.camwatch.send_signal(signal.SIGTERM)
    assert stack.camwatch.wait(60) == 0
    instance = f"127.0.0.1:{stack.metrics_port}"
    wait_until(lambda: {k for k in stack.firing() if k[0] in FOR_IN_TEST} == {("CamwatchDown", instance)},
               "CamwatchDown, and no camera alert left", show=stack.alerts)
    down = next(a for a in stack.alerts() if a["labels"]["alertname"] == "CamwatchDown")
    assert down["annotations"]["summary_vi"].startswith("Không thu thập được số liệu từ camwatch trên 127.0.0.1:")
