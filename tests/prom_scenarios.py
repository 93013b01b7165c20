"""The Prometheus rules' unit tests, with input series generated from camwatch's real exposition.

Each scenario drives a small camwatch minute by minute through the real pieces: the health state machine
(`health.step`) judges each check, the result is put into a `CameraView` the way the daemon does, the real
`Metrics` counters and histograms are fed, and the real `CameraCollector` is scraped with
`generate_latest` on a fresh `CollectorRegistry`. The exposition is parsed back with prometheus-client's
parser into `input_series` for `promtool test rules`, with the `job`/`instance` labels and the `up` series
that Prometheus adds when it scrapes (and stale markers when a scrape fails, as Prometheus writes them).
Only what each scenario *expects* (the alerts, their labels and texts) is written by hand.

    python -m tests.prom_scenarios            # rewrites deploy/prometheus/camwatch.rules.test.yml
    python -m tests.prom_scenarios --check    # exit 1 if that file is not what the exporter gives now
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from camwatch.health import Event, Policy, State, step
from camwatch.metrics import CameraCollector, CameraView, Metrics
from camwatch.model import Verdict

ROOT = Path(__file__).resolve().parent.parent
RULES_DIR = ROOT / "deploy" / "prometheus"
TEST_FILE = RULES_DIR / "camwatch.rules.test.yml"
JOB, INSTANCE = "camwatch", "cw1:9834"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # promtool's clock starts at 0


def rule_metric_names(rules_text: str) -> set[str]:
    """Names of the series the rules read (in expressions and in the texts' queries)."""
    return set(re.findall(r"\b(camwatch_[a-z0-9_]+|up)\b(?=\s*[{\[)=<>!*/+\-\s]|\s*$)", rules_text, re.M))


class Camwatch:
    """One camwatch process as seen from Prometheus: its views, its metrics, and whether it runs."""

    def __init__(self, communes: dict[str, str], cameras: Iterable[tuple[str, str, str]]) -> None:
        self.metrics = Metrics(CollectorRegistry())
        self.communes = communes
        self.views: dict[str, CameraView] = {cam: CameraView(cam, commune, name) for cam, commune, name in cameras}
        self.states: dict[str, State] = {cam: State() for cam in self.views}
        self.outbox = {"pending": 0, "failed": 0, "sent": 0}
        self.policy = Policy()
        self.running = True
        self.metrics.pool_size.set(4)  # `concurrency`, as the daemon's pool sets it
        self.metrics.registry.register(CameraCollector(lambda: list(self.views.values()), lambda: dict(self.outbox),
                                                       communes=lambda: self.communes))

    def check(self, t: float, camera: str, verdict: Verdict | str, *, maintenance: bool = False,
              duration_s: float = 1.5, lag_s: float = 0.05) -> None:
        """One completed check, judged by the real state machine and recorded as the daemon's `_observe` does."""
        verdict = Verdict(verdict)
        at = EPOCH + dt.timedelta(seconds=t)
        state, transitions = step(self.states[camera], verdict, at, self.policy, in_maintenance=maintenance)
        self.states[camera] = state
        m = self.metrics
        m.lag.observe(lag_s)
        m.checks.labels(str(verdict)).inc()
        m.check_duration.observe(duration_s)
        m.last_check_completed.set(t + duration_s)
        for tr in transitions:
            if tr.event is Event.OPENED and tr.incident:
                m.transitions.labels(str(tr.incident.kind)).inc()
        v = self.views[camera]
        v.status, v.verdict = str(state.status), str(verdict)
        v.incident_kind = str(state.incident.kind) if state.incident else None
        v.last_check_ts, v.duration_s = t, duration_s
        v.consecutive_failures = state.fail_streak
        if verdict is Verdict.OK:
            v.ttff_s, v.fps, v.bitrate_bps, v.luma = 0.4, 10.0, 512_000.0, 120.0
            v.width, v.height, v.codec = 640, 360, "h264"

    def scrape(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """The samples of one scrape of /metrics, as Prometheus stores them (with job and instance)."""
        text = generate_latest(self.metrics.registry).decode()
        out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                labels = {**s.labels, "job": JOB, "instance": INSTANCE}
                out[(s.name, tuple(sorted(labels.items())))] = float(s.value)
        return out


@dataclass
class Scenario:
    name: str
    minutes: int
    drive: Callable[[Camwatch, int], None]  # called once a minute before the scrape: checks, outbox, stop
    camwatch: Callable[[], Camwatch]
    alert_rule_test: list[dict[str, Any]] = field(default_factory=list)
    promql_expr_test: list[dict[str, Any]] = field(default_factory=list)


def _fmt(v: float | None) -> str:
    if v is None:
        return "_"
    if v != v:  # NaN
        return "NaN"
    return str(int(v)) if v == int(v) and abs(v) < 1e15 else repr(v)


def _values(vals: list[float | str | None]) -> str:
    """promtool's notation: runs of one number as `vxN` (N more), the rest spelled out."""
    out: list[str] = []
    i = 0
    while i < len(vals):
        j = i
        while j + 1 < len(vals) and vals[j + 1] == vals[i]:
            j += 1
        v = vals[i]
        word = v if isinstance(v, str) else _fmt(v)
        if j > i and word not in ("_", "stale"):
            out.append(f"{word}x{j - i}")
        else:
            out.extend([word] * (j - i + 1))
        i = j + 1
    return " ".join(out)


def series_of(s: Scenario, wanted: set[str]) -> list[tuple[str, str]]:
    """Run a scenario; return (series selector, values) for each series the rules read."""
    cw = s.camwatch()
    frames: list[dict[tuple[str, tuple[tuple[str, str], ...]], float] | None] = []
    for minute in range(s.minutes + 1):
        s.drive(cw, minute)
        frames.append(cw.scrape() if cw.running else None)
    keys = sorted({k for f in frames if f for k in f if k[0] in wanted})
    rows: list[tuple[str, str]] = []
    for name, labels in keys:
        vals: list[float | str | None] = []
        for i, f in enumerate(frames):
            if f is not None and (name, labels) in f:
                vals.append(f[(name, labels)])
            elif i > 0 and frames[i - 1] is not None and (name, labels) in (frames[i - 1] or {}):
                vals.append("stale")  # gone from the scrape, or the scrape failed: Prometheus marks it stale
            else:
                vals.append(None)
        sel = name + "{" + ",".join(f'{k}="{v}"' for k, v in labels) + "}"
        rows.append((sel, _values(vals)))
    if "up" in wanted:  # Prometheus's own series for the scrape
        rows.append((f'up{{instance="{INSTANCE}",job="{JOB}"}}',
                     _values([1.0 if f is not None else 0.0 for f in frames])))
    return rows


# ---------------------------------------------------------------------------------------------- scenarios
TYT, YD, VS, AC, DH = "tay-yen-tu", "yen-dinh", "van-son", "an-chau", "duong-huu"
NAMES = {TYT: "Thị trấn Tây Yên Tử", YD: "Yên Định", VS: "Vân Sơn", AC: "Thị trấn An Châu", DH: "Dương Hưu"}


def _lbl(**kw: str) -> dict[str, str]:
    return {"job": JOB, "instance": INSTANCE, **kw}


def down_and_maintenance() -> Scenario:
    def drive(cw: Camwatch, m: int) -> None:
        t = 60.0 * m
        cw.check(t, "YD-01", "ok" if m == 0 else "offline")
        cw.check(t, "YD-02", "ok" if m == 0 else "offline", maintenance=m >= 1)
        cw.check(t, "YD-03", "ok")

    cams = [("YD-01", YD, "Ngã ba chợ Yên Định"), ("YD-02", YD, "Cầu Yên Định"), ("YD-03", YD, "Đường 293, km 5")]
    down = {"severity": "critical", **_lbl(camera="YD-01", commune=YD)}
    return Scenario(
        "a camera without picture alerts after 5 minutes; one in maintenance neither alerts nor counts in uptime", 12,
        drive, lambda: Camwatch({YD: NAMES[YD]}, cams),
        alert_rule_test=[
            {"eval_time": "4m", "alertname": "CameraDown", "exp_alerts": []},
            {"eval_time": "7m", "alertname": "CameraDown", "exp_alerts": [{"exp_labels": down, "exp_annotations": {
                "summary": "Camera YD-01 «Ngã ba chợ Yên Định» (Yên Định) has no picture",
                "summary_vi": "Camera YD-01 «Ngã ba chợ Yên Định» (Yên Định) mất hình ảnh",
                "description": "No usable picture for 5 minutes. Check power and network first.",
                "description_vi": "Không có hình ảnh trong 5 phút. Kiểm tra nguồn điện và đường truyền trước."}}]},
            {"eval_time": "7m", "alertname": "CommuneOutage", "exp_alerts": []},  # 1 of 2 outside maintenance
        ],
        promql_expr_test=[
            {"expr": f'round(camwatch:camera_up:avg1d{{commune="{YD}"}}, 0.001)', "eval_time": "10m",
             "exp_samples": [{"labels": f'{{camera="YD-01",commune="{YD}",instance="{INSTANCE}",job="{JOB}"}}',
                              "value": 0.091},  # up 1 minute of 11
                             # down since minute 1, but in maintenance: only its minute up counts (else 0.091)
                             {"labels": f'{{camera="YD-02",commune="{YD}",instance="{INSTANCE}",job="{JOB}"}}',
                              "value": 1},
                             {"labels": f'{{camera="YD-03",commune="{YD}",instance="{INSTANCE}",job="{JOB}"}}',
                              "value": 1}]},
            {"expr": "round(commune:camwatch_camera_up:avg1d, 0.001)", "eval_time": "10m",
             "exp_samples": [{"labels": f'{{commune="{YD}"}}', "value": 0.697}]},
        ])


def degraded() -> Scenario:
    def drive(cw: Camwatch, m: int) -> None:
        cw.check(60.0 * m, "VS-01", "ok")
        cw.check(60.0 * m, "VS-02", "covered")

    cams = [("VS-01", VS, "UBND xã Vân Sơn"), ("VS-02", VS, "Ngã tư Vân Sơn")]
    return Scenario(
        "a degraded picture alerts after 30 minutes, and is not a camera down", 40,
        drive, lambda: Camwatch({VS: NAMES[VS]}, cams),
        alert_rule_test=[
            {"eval_time": "20m", "alertname": "CameraPictureDegraded", "exp_alerts": []},
            {"eval_time": "35m", "alertname": "CameraPictureDegraded", "exp_alerts": [{
                "exp_labels": {"severity": "warning", "status": "degraded", **_lbl(camera="VS-02", commune=VS)},
                "exp_annotations": {
                    "summary": "Camera VS-02 «Ngã tư Vân Sơn» (Vân Sơn): picture degraded",
                    "summary_vi": "Camera VS-02 «Ngã tư Vân Sơn» (Vân Sơn): hình ảnh kém chất lượng",
                    "description": "Covered, blurred or moved for 30 minutes: the lens, the focus or the mounting "
                                   "needs a visit.",
                    "description_vi": "Bị che, mờ hoặc lệch hướng trong 30 phút: cần kiểm tra ống kính, lấy nét hoặc "
                                      "giá đỡ."}}]},
            {"eval_time": "35m", "alertname": "CameraDown", "exp_alerts": []},
        ])


def commune_outage() -> Scenario:
    def drive(cw: Camwatch, m: int) -> None:
        t = 60.0 * m
        for cam in ("TYT-01", "TYT-02", "DH-01"):
            cw.check(t, cam, "offline")
        for cam in ("AC-01", "AC-02"):
            cw.check(t, cam, "offline", maintenance=True)
        for cam in ("TYT-03", "AC-03", "DH-02"):
            cw.check(t, cam, "ok")

    cams = [("TYT-01", TYT, "Cổng chợ Tây Yên Tử"), ("TYT-02", TYT, "Bến xe"), ("TYT-03", TYT, "Cầu Tây Yên Tử"),
            ("AC-01", AC, "Ngã tư An Châu"), ("AC-02", AC, "Bưu điện An Châu"), ("AC-03", AC, "Chợ An Châu"),
            ("DH-01", DH, "UBND xã Dương Hưu"), ("DH-02", DH, "Trường Dương Hưu")]
    return Scenario(
        "more than half of a commune down is a commune alert; half is not; cameras in maintenance do not count", 10,
        drive, lambda: Camwatch({k: NAMES[k] for k in (TYT, AC, DH)}, cams),
        alert_rule_test=[
            {"eval_time": "3m", "alertname": "CommuneOutage", "exp_alerts": []},
            {"eval_time": "8m", "alertname": "CommuneOutage", "exp_alerts": [{
                "exp_labels": {"severity": "critical", "commune": TYT},
                "exp_annotations": {
                    "summary": "More than half the cameras of Thị trấn Tây Yên Tử are down (66.67%)",
                    "summary_vi": "Hơn một nửa số camera của Thị trấn Tây Yên Tử bị mất tín hiệu (66.67%)",
                    "description": "Likely a power cut or the commune's router/uplink, not the cameras themselves.",
                    "description_vi": "Có thể do mất điện hoặc bộ định tuyến/đường truyền của xã, không phải do từng "
                                      "camera."}}]},
        ])


def service_stopped() -> Scenario:
    def drive(cw: Camwatch, m: int) -> None:
        cw.running = m < 3
        if cw.running:
            cw.check(60.0 * m, "CD-01", "ok")
            cw.check(60.0 * m, "CD-02", "black")

    cams = [("CD-01", "cam-dan", "Ngã ba chợ Cẩm Đàn"), ("CD-02", "cam-dan", "Cầu Cẩm Đàn")]
    return Scenario(
        "camwatch stopped: it cannot be scraped and alerts after 5 minutes; its cameras' alerts end", 12,
        drive, lambda: Camwatch({"cam-dan": "Cẩm Đàn"}, cams),
        alert_rule_test=[
            {"eval_time": "6m", "alertname": "CamwatchDown", "exp_alerts": []},
            {"eval_time": "9m", "alertname": "CamwatchDown", "exp_alerts": [{
                "exp_labels": {"severity": "critical", **_lbl()},
                "exp_annotations": {"summary": f"camwatch on {INSTANCE} cannot be scraped",
                                    "summary_vi": f"Không thu thập được số liệu từ camwatch trên {INSTANCE}"}}]},
            {"eval_time": "9m", "alertname": "CameraDown", "exp_alerts": []},
            {"eval_time": "9m", "alertname": "CamwatchNotChecking", "exp_alerts": []},
        ])


def not_checking() -> Scenario:
    def drive(cw: Camwatch, m: int) -> None:
        if m < 2:  # then the scheduler hangs: the process answers scrapes, no check completes
            cw.check(60.0 * m, "CD-01", "ok")

    text = {"summary": f"camwatch on {INSTANCE} has stopped checking cameras",
            "summary_vi": f"camwatch trên {INSTANCE} đã ngừng kiểm tra camera",
            "description": "No check completed for 5 minutes: nobody learns that cameras are down.",
            "description_vi": "Không có lần kiểm tra nào hoàn tất trong 5 phút: sẽ không ai biết camera hỏng."}
    return Scenario(
        "camwatch that stops completing checks alerts", 16,
        drive, lambda: Camwatch({"cam-dan": "Cẩm Đàn"}, [("CD-01", "cam-dan", "Ngã ba chợ Cẩm Đàn")]),
        alert_rule_test=[
            {"eval_time": "6m", "alertname": "CamwatchNotChecking", "exp_alerts": []},
            {"eval_time": "15m", "alertname": "CamwatchNotChecking", "exp_alerts": [{
                "exp_labels": {"severity": "critical", **_lbl()}, "exp_annotations": text}]},
        ])


def checking() -> Scenario:
    def drive(cw: Camwatch, m: int) -> None:
        cw.check(60.0 * m, "CD-01", "ok")
        cw.check(60.0 * m, "CD-02", "offline")

    return Scenario(
        "camwatch that is checking does not alert about itself", 16,
        drive, lambda: Camwatch({"cam-dan": "Cẩm Đàn"}, [("CD-01", "cam-dan", "Ngã ba chợ Cẩm Đàn"),
                                                          ("CD-02", "cam-dan", "Cầu Cẩm Đàn")]),
        alert_rule_test=[{"eval_time": "15m", "alertname": a, "exp_alerts": []}
                         for a in ("CamwatchNotChecking", "CamwatchDown", "CamwatchSchedulerLag", "CamwatchOutboxBacklog",
                                   "CamwatchCheckPoolSaturated")])


def late_checks() -> Scenario:
    def drive(cw: Camwatch, m: int) -> None:
        for _ in range(10):  # a full pool: every check starts 20 s late
            cw.check(60.0 * m, "CD-01", "ok", lag_s=20.0)

    return Scenario(
        "checks that start late alert", 30,
        drive, lambda: Camwatch({"cam-dan": "Cẩm Đàn"}, [("CD-01", "cam-dan", "Ngã ba chợ Cẩm Đàn")]),
        alert_rule_test=[
            {"eval_time": "9m", "alertname": "CamwatchSchedulerLag", "exp_alerts": []},
            {"eval_time": "25m", "alertname": "CamwatchSchedulerLag", "exp_alerts": [{
                "exp_labels": {"severity": "warning", "job": JOB},
                "exp_annotations": {
                    "summary": "camwatch checks start late (p99 29.8s)",
                    "summary_vi": "camwatch kiểm tra chậm so với lịch (p99 29.8s)",
                    "description": "Raise `concurrency`, or the server is overloaded.",
                    "description_vi": "Tăng `concurrency`, hoặc máy chủ đang quá tải."}}]},
        ])


def saturated_pool() -> Scenario:
    def drive(cw: Camwatch, m: int) -> None:
        hanging = m >= 2  # from minute 2 cameras hang: every worker busy, checks queue for one
        cw.metrics.pool_busy.set(4 if hanging else 1)
        cw.metrics.waiting.set(6 if hanging else 0)
        cw.check(60.0 * m, "CD-01", "ok", lag_s=25.0 if hanging else 0.05)

    return Scenario(
        "a saturated check pool alerts", 30,
        drive, lambda: Camwatch({"cam-dan": "Cẩm Đàn"}, [("CD-01", "cam-dan", "Ngã ba chợ Cẩm Đàn")]),
        alert_rule_test=[
            {"eval_time": "10m", "alertname": "CamwatchCheckPoolSaturated", "exp_alerts": []},
            {"eval_time": "25m", "alertname": "CamwatchCheckPoolSaturated", "exp_alerts": [{
                "exp_labels": {"severity": "warning", **_lbl()},
                "exp_annotations": {
                    "summary": "camwatch's check workers are all busy: 6.0 checks wait for one on average",
                    "summary_vi": "Các luồng kiểm tra của camwatch đều bận: trung bình 6.0 lượt kiểm tra phải chờ",
                    "description": "Cameras that hang hold a worker each until their deadline: raise `concurrency`, or "
                                   "shorten `deadline_s`.",
                    "description_vi": "Camera bị treo giữ mỗi camera một luồng đến hết hạn: tăng `concurrency` hoặc giảm "
                                      "`deadline_s`."}}]},
        ])


def outbox_backlog() -> Scenario:
    def drive(cw: Camwatch, m: int) -> None:
        cw.check(60.0 * m, "CD-01", "offline")
        cw.outbox["pending"] = 25 if m >= 1 else 0  # the SMTP server went away

    return Scenario(
        "a backlog of notifications alerts after 30 minutes", 40,
        drive, lambda: Camwatch({"cam-dan": "Cẩm Đàn"}, [("CD-01", "cam-dan", "Ngã ba chợ Cẩm Đàn")]),
        alert_rule_test=[
            {"eval_time": "20m", "alertname": "CamwatchOutboxBacklog", "exp_alerts": []},
            {"eval_time": "35m", "alertname": "CamwatchOutboxBacklog", "exp_alerts": [{
                "exp_labels": {"severity": "warning", **_lbl()},
                "exp_annotations": {
                    "summary": "25 camwatch notifications are waiting to be sent",
                    "summary_vi": "25 thông báo của camwatch đang chờ gửi",
                    "description": "The SMTP server is probably unreachable; alerts are queued, not lost.",
                    "description_vi": "Máy chủ thư có thể không truy cập được; cảnh báo đang được xếp hàng, không bị mất."}}]},
        ])


def state_disk_low() -> Scenario:
    def drive(cw: Camwatch, m: int) -> None:
        cw.check(60.0 * m, "CD-01", "ok")
        low = 2 <= m < 20  # the state disk fills at minute 2 and is freed at minute 20
        cw.metrics.pictures_suspended.set(1 if low else 0)
        cw.metrics.state_free.set(800 * 2**20 if low else 40 * 2**30)

    text = {"summary": "camwatch on cw1:9834 has stopped saving pictures: its state disk is nearly full",
            "summary_vi": "camwatch trên cw1:9834 đã ngừng lưu ảnh: ổ đĩa dữ liệu sắp đầy",
            "description": "Only 800MiB free. Checks and incidents are still stored; free some space or enlarge the disk.",
            "description_vi": "Chỉ còn trống 800MiB. Kết quả kiểm tra và sự cố vẫn được lưu; hãy giải phóng dung lượng "
                              "hoặc mở rộng ổ đĩa."}
    return Scenario(
        "a nearly full state disk alerts after 5 minutes, and no longer once freed", 30,
        drive, lambda: Camwatch({"cam-dan": "Cẩm Đàn"}, [("CD-01", "cam-dan", "Ngã ba chợ Cẩm Đàn")]),
        alert_rule_test=[
            {"eval_time": "5m", "alertname": "CamwatchStateDiskLow", "exp_alerts": []},
            {"eval_time": "10m", "alertname": "CamwatchStateDiskLow", "exp_alerts": [{
                "exp_labels": {"severity": "warning", **_lbl()}, "exp_annotations": text}]},
            {"eval_time": "25m", "alertname": "CamwatchStateDiskLow", "exp_alerts": []},
        ])


SCENARIOS: list[Callable[[], Scenario]] = [down_and_maintenance, degraded, commune_outage, service_stopped, not_checking,
                                           checking, late_checks, saturated_pool, outbox_backlog, state_disk_low]


# ---------------------------------------------------------------------------------------------- the file
def _q(v: object) -> str:
    """A YAML single-quoted scalar (PromQL's double quotes stay readable)."""
    return "'" + str(v).replace("'", "''") + "'"


def _yaml_map(d: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {_q(v)}" for k, v in d.items()) + "}"


def render(rules_file: str = "camwatch.rules.yml", rules_text: str | None = None) -> str:
    """The promtool test file: generated series, hand-written expectations."""
    text = rules_text if rules_text is not None else (RULES_DIR / rules_file).read_text(encoding="utf-8")
    wanted = rule_metric_names(text)
    lines = ["# GENERATED by `python -m tests.prom_scenarios` from camwatch's real exposition: do not edit the series.",
             "# Run: promtool test rules camwatch.rules.test.yml", f"rule_files: [{_q(rules_file)}]",
             "evaluation_interval: 1m", "tests:"]
    for make in SCENARIOS:
        s = make()
        lines += [f"  - name: {_q(s.name)}", "    interval: 1m", "    input_series:"]
        for sel, values in series_of(s, wanted):
            lines += [f"      - series: {_q(sel)}", f"        values: {_q(values)}"]
        if s.alert_rule_test:
            lines.append("    alert_rule_test:")
            for a in s.alert_rule_test:
                lines += [f"      - eval_time: {a['eval_time']}", f"        alertname: {a['alertname']}"]
                if not a["exp_alerts"]:
                    lines.append("        exp_alerts: []")
                    continue
                lines.append("        exp_alerts:")
                for e in a["exp_alerts"]:
                    lines.append(f"          - exp_labels: {_yaml_map(e['exp_labels'])}")
                    if "exp_annotations" in e:
                        lines.append("            exp_annotations:")
                        lines += [f"              {k}: {_q(v)}" for k, v in e["exp_annotations"].items()]
        if s.promql_expr_test:
            lines.append("    promql_expr_test:")
            for p in s.promql_expr_test:
                lines += [f"      - expr: {_q(p['expr'])}", f"        eval_time: {p['eval_time']}", "        exp_samples:"]
                lines += [f"          - {{labels: {_q(x['labels'])}, value: {x['value']}}}" for x in p["exp_samples"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--check", action="store_true", help="only check that the committed file is up to date")
    p.add_argument("--out", type=Path, default=TEST_FILE)
    args = p.parse_args(argv)
    text = render()
    if args.check:
        if args.out.read_text(encoding="utf-8") != text:
            print(f"{args.out} is out of date: run python -m tests.prom_scenarios", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
