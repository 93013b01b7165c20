"""`camwatch sim` (serve a simulated fleet) and `camwatch demo` (camwatch against a simulated district)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import sys
import threading
from pathlib import Path

from camwatch.sim.fleet import Fleet, free_port
from camwatch.sim.mailsink import MailSink
from camwatch.sim.scenes import SCENES

FAULT_SCENES = ("black", "frozen", "covered", "blurred", "moved")

# the demo district: communes of Sơn Động with a few cameras each, and what each camera will show
DEMO = [
    ("cam-dan", "Cẩm Đàn", [("CD-01", "Ngã ba chợ Cẩm Đàn", "day"), ("CD-02", "Cầu Cẩm Đàn", "black")]),
    ("dai-son", "Đại Sơn", [("DS-01", "Trường THCS Đại Sơn", "static"), ("DS-02", "Đường liên thôn Đồng Chu", "frozen_clock")]),
    ("van-son", "Vân Sơn", [("VS-01", "UBND xã Vân Sơn", "night"), ("VS-02", "Ngã tư Vân Sơn", "covered")]),
    ("yen-dinh", "Yên Định", [("YD-01", "Ngã ba chợ Yên Định", "day"), ("YD-02", "Cầu Yên Định", "day→blurred"),
                              ("YD-03", "Đường 293, km 5", "day→moved")]),
    ("tay-yen-tu", "Thị trấn Tây Yên Tử", [("TYT-01", "Cổng chợ Tây Yên Tử", "offline"), ("TYT-02", "Bến xe", "hang")]),
    ("an-chau", "Thị trấn An Châu", [("AC-01", "Ngã tư An Châu", "flapping"), ("AC-02", "Bưu điện An Châu", "static")]),
]


def plan_text() -> str:
    """Which demo camera shows what: "CD-01 ok, CD-02 black, …"."""
    names = {"day": "ok", "static": "ok (a still scene)", "night": "ok (night, infrared)", "frozen_clock": "frozen"}
    return ", ".join(f"{cam} {names.get(plan, plan.replace('day→', ''))}" for _, _, cams in DEMO for cam, _, plan in cams)


def fleet_plan(n: int, faults: str) -> dict[str, str]:
    share = float(faults.rstrip("%")) / (100 if faults.endswith("%") else 1)
    n_bad = round(n * share)
    mounts = {}
    for i in range(n):
        scene = FAULT_SCENES[i % len(FAULT_SCENES)] if i < n_bad else ("day", "static", "night")[i % 3]
        mounts[f"cam{i + 1:03d}"] = scene
    return mounts


def cmd_sim(args: argparse.Namespace) -> int:
    password = args.password or os.environ.get("CAMWATCH_SIM_PASSWORD", "p@ss:w#rd")
    fleet = Fleet(args.dir, fleet_plan(args.cameras, args.faults), port=args.port, user=args.user, password=password)
    print("encoding the scenes once (first run only)…", flush=True)
    with fleet:
        bad = {m: s for m, s in fleet.mounts.items() if s not in ("day", "static", "night")}
        print(f"serving {len(fleet.mounts)} cameras on rtsp://127.0.0.1:{fleet.port}/cam001 … "
              f"(user {args.user!r}; password from --password / $CAMWATCH_SIM_PASSWORD)")
        print(f"faulty: {', '.join(f'{m}={s}' for m, s in bad.items()) or 'none'}")
        print(f"hostile ports: accepts-and-hangs 127.0.0.1:{fleet.hang_port}, garbage 127.0.0.1:{fleet.garbage_port}")
        print(f"switch a camera at run time by editing {fleet.control} (scenes: {', '.join(SCENES)})")
        print("Ctrl-C stops.")
        _wait_for_signal()
    return 0


def _wait_for_signal() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()


def demo_config(fleet: Fleet, state_dir: Path, closed_port: int, metrics_port: int, smtp_port: int) -> str:
    lines = [
        "# written by `camwatch demo`: a simulated district on this machine",
        "[district]", 'name = "Sơn Động (demo)"', f'state_dir = "{state_dir}"', "",
        "[metrics]", f'listen = "127.0.0.1:{metrics_port}"', "",
        "[smtp]", 'host = "127.0.0.1"', f"port = {smtp_port}", 'security = "none"',
        'from = "camwatch demo <camwatch@son-dong.example>"', "",
        "[alerts]", "group_window_s = 20", "degraded_delay_s = 60", 'escalation = ["doi-kt"]', "",
        "[[technicians]]", 'id = "doi-kt"', 'name = "Đội Kỹ thuật, Công an huyện"', 'email = "doikythuat@example.vn"',
        "",
        "[defaults]", f'user = "{fleet.user}"', 'password_env = "CAMWATCH_DEMO_PASSWORD"',
        "interval_s = 15", "deadline_s = 8", "concurrency = 8", "",
        "[defaults.health]", "failures_to_open = 2", "degraded_failures_to_open = 2", "successes_to_close = 2",
        "flap_threshold = 3", "",
        "[[technicians]]", 'id = "kt-demo"', 'name = "Nguyễn Văn Kỹ Thuật"', 'email = "kythuat@example.vn"', "",
    ]
    for cid, name, _ in DEMO:
        lines += ["[[communes]]", f'id = "{cid}"', f'name = "{name}"', 'technicians = ["kt-demo"]', ""]
    for commune, _, cams in DEMO:
        for cam_id, name, plan in cams:
            if plan == "offline":
                url = f"rtsp://127.0.0.1:{closed_port}/{cam_id}"
            elif plan == "hang":
                url = f"rtsp://127.0.0.1:{fleet.hang_port}/{cam_id}"
            else:
                url = fleet.url(cam_id)
            lines += ["[[cameras]]", f'id = "{cam_id}"', f'name = "{name}"', f'commune = "{commune}"',
                      f'rtsp_url = "{url}"', f'tags = ["demo:{plan}"]', ""]
    return "\n".join(lines)


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cmd_demo(args: argparse.Namespace) -> int:
    from camwatch import config as cfgmod
    from camwatch.cli.service import start_metrics
    from camwatch.scheduler import Monitor
    from camwatch.store import repo

    state = args.dir.resolve()
    mounts = {}
    for _, _, cams in DEMO:
        for cam_id, _, plan in cams:
            mounts[cam_id] = {"flapping": "day", "offline": "day", "hang": "day"}.get(plan, plan.split("→")[0])
    fleet = Fleet(state, mounts)
    print("camwatch demo: encoding the simulated scenes (first run only), starting the RTSP fleet…", flush=True)
    with fleet:
        os.environ["CAMWATCH_DEMO_PASSWORD"] = fleet.password or ""
        path = state / "cameras.toml"
        metrics_port = 9834 if _port_free(9834) else free_port()
        smtp_port = free_port()
        sink = MailSink(state / "mail", smtp_port).__enter__()
        path.write_text(demo_config(fleet, state, free_port(), metrics_port, smtp_port), encoding="utf-8")
        config = cfgmod.load(path)
        repo.upgrade(config.database_url)
        monitor = Monitor(config, repo.make_engine(config.database_url))
        start_metrics(monitor.metrics, config)
        monitor.start()
        exe = shutil.which("camwatch") or str(Path(sys.executable).parent / "camwatch")  # as typed in another shell
        print(f"\n{len(config.cameras)} simulated cameras in {len(DEMO)} communes, checked every 15 s.\n"
              f"  status:    {exe} status -c {path}\n"
              f"  incidents: {exe} incidents -c {path}\n"
              f"  snapshots: {state / 'snapshots'}\n"
              f"  metrics:   http://127.0.0.1:{metrics_port}/metrics\n"
              f"  emails:    {state / 'mail'} (a local SMTP sink; open the .eml files in a mail client)\n"
              f"By design: {plan_text()}.\n"
              f"Faults show from the first check and open incidents after 2; blurred and moved are switched on\n"
              f"after 3 minutes (they need the camera's healthy baseline first).\n"
              f"Ctrl-C stops everything.\n", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        started = dt.datetime.now(dt.UTC)
        tick = 0
        while not stop.wait(15):
            tick += 1
            elapsed = (dt.datetime.now(dt.UTC) - started).total_seconds()
            if elapsed > 180:
                for _, _, cams in DEMO:
                    for cam_id, _, plan in cams:
                        if "→" in plan and fleet.mounts[cam_id] != plan.split("→")[1]:
                            fleet.set(cam_id, plan.split("→")[1])
            fleet.set("AC-01", "black" if (tick // 4) % 2 else "day")
            if args.minutes and elapsed >= args.minutes * 60:
                break
        monitor.stop()
        sink.__exit__()
    print("demo stopped; the database, snapshots and emails stay in", state)
    return 0
