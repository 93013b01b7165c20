"""Soak: `camwatch run` for an hour on a flapping fleet with hostile peers and a failing mail server.

    .venv/bin/python bench/soak.py                 # 60 minutes, 40 simulated cameras every 15 s
    .venv/bin/python bench/soak.py --minutes 10    # a shorter run

The fleet: healthy day/static/night cameras, cameras whose picture flips between healthy and faulty every
few minutes (incidents open and close, emails go out), a camera that accepts and never answers, one that
answers garbage, one whose DESCRIBE announces 1 GB and streams junk, one that drips its reply, one that
never sets up the stream. The mail server goes down for 2 minutes in every 6. Every minute the daemon's
RSS, threads, open file descriptors, checks done, checks waiting for a
worker, the outbox and the scheduler's lag are printed; the target is flat lines after the warm-up.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from camwatch.sim.fleet import Fleet, free_port
from camwatch.sim.hostile import PeerServer
from camwatch.sim.mailsink import MailSink

INTERVAL = 15
HOSTILE = ("huge", "drip", "garbage", "silent", "no_setup")


def proc(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    get = {k: (v.split() or [""])[0] for k, _, v in (ln.partition(":") for ln in status)}
    return {"rss_mb": int(get["VmRSS"]) // 1024, "hwm_mb": int(get["VmHWM"]) // 1024, "threads": int(get["Threads"]),
            "fds": len(os.listdir(f"/proc/{pid}/fd"))}


def sample(body: str, name: str) -> float:
    total = 0.0
    for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? (\S+)$", body, re.M):
        total += float(m.group(1))
    return total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--cameras", type=int, default=40)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        healthy = ("day", "static", "night")
        mounts = {f"s{i:03d}": healthy[i % 3] for i in range(args.cameras)}
        flappers = [m for i, m in enumerate(mounts) if i % 5 == 0]
        peers = {mode: PeerServer(mode) for mode in HOSTILE}
        for p in peers.values():
            threading.Thread(target=p.serve_forever, daemon=True).start()
        smtp_port, metrics_port = free_port(), free_port()
        with Fleet(tmp / "fleet", mounts) as fleet:
            cams = "".join(f'[[cameras]]\nid = "{m}"\nname = "{m}"\ncommune = "c{i % 5}"\nrtsp_url = "{fleet.url(m)}"\n'
                           for i, m in enumerate(mounts))
            hostile = {"hang": f"rtsp://127.0.0.1:{fleet.hang_port}/x", "junk": f"rtsp://127.0.0.1:{fleet.garbage_port}/x",
                       **{f"peer-{k}": p.url for k, p in peers.items()}}
            cams += "".join(f'[[cameras]]\nid = "{k}"\nname = "{k}"\ncommune = "c0"\nrtsp_url = "{u}"\n'
                            for k, u in hostile.items())
            communes = "".join(f'[[communes]]\nid = "c{i}"\nname = "Xã {i}"\ntechnicians = ["kt"]\n'
                               for i in range(5))
            cfg = tmp / "soak.toml"
            cfg.write_text(f"""[district]\nstate_dir = "{tmp / 'state'}"\n[metrics]\nlisten = "127.0.0.1:{metrics_port}"
[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\ntimeout_s = 5\n[alerts]\ngroup_window_s = 0
[defaults]\nuser = "admin"\npassword_env = "SOAK_PASSWORD"\ninterval_s = {INTERVAL}\nconcurrency = 16
[defaults.health]\nfailures_to_open = 2\n[[technicians]]\nid = "kt"\nname = "kt"\nemail = "kt@example.vn"
{communes}{cams}""", encoding="utf-8")
            env = {**os.environ, "SOAK_PASSWORD": fleet.password or ""}
            log = (tmp / "camwatch.log").open("wb")
            daemon = subprocess.Popen([sys.executable, "-m", "camwatch", "run", "-c", str(cfg)], env=env,
                                      stdout=log, stderr=subprocess.STDOUT)
            sink: MailSink | None = None
            t0 = time.time()
            print("min  RSS MB  peak MB  threads  fds  checks  waiting  outbox pending/failed  lag p99 ≤ s  emails",
                  flush=True)
            try:
                minute = -1
                while time.time() < t0 + args.minutes * 60:
                    m = int((time.time() - t0) // 60)
                    down = m % 6 in (4, 5)  # the mail server is down 2 minutes in every 6
                    if down and sink is not None:
                        sink.__exit__()
                        sink = None
                    elif not down and sink is None:
                        sink = MailSink(tmp / "mail", smtp_port).__enter__()
                    if m != minute:
                        minute = m
                        for i, f in enumerate(flappers):  # each flapper flips every 2–4 minutes
                            if m % (2 + i % 3) == 0:
                                fleet.set(f, "black" if fleet.mounts[f] in healthy else mounts[f])
                        report(daemon.pid, metrics_port, m, tmp / "mail")
                    time.sleep(2)
                    if daemon.poll() is not None:
                        raise SystemExit(f"camwatch exited with {daemon.returncode}")
                report(daemon.pid, metrics_port, int(args.minutes), tmp / "mail")
            finally:
                daemon.terminate()
                daemon.wait(60)
                log.close()
                if sink is not None:
                    sink.__exit__()
                for p in peers.values():
                    p.stop.set()
                    p.shutdown()
            text = (tmp / "camwatch.log").read_text(errors="replace")
            tracebacks = text.count("Traceback")
            print(f"camwatch log: {len(text.splitlines())} lines, {tracebacks} tracebacks; exit {daemon.returncode}")


def report(pid: int, port: int, minute: int, mail: Path) -> None:
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    except OSError as err:
        print(f"{minute:3d}  metrics unavailable: {err}", flush=True)
        return
    p = proc(pid)
    buckets = [(float("inf") if le == "+Inf" else float(le), float(v)) for le, v in
               re.findall(r'^camwatch_scheduler_lag_seconds_bucket{le="([^"]+)"} (\S+)', body, re.M)]
    total = buckets[-1][1] if buckets else 0
    p99 = next((le for le, v in buckets if v >= 0.99 * total), 0.0) if total else 0.0
    emails = len(list(mail.glob("*.eml"))) if mail.exists() else 0
    print(f"{minute:3d}  {p['rss_mb']:6d}  {p['hwm_mb']:7d}  {p['threads']:7d}  {p['fds']:3d}  "
          f"{sample(body, 'camwatch_checks_total'):6.0f}  {sample(body, 'camwatch_checks_waiting'):7.0f}  "
          f"{sample(body, 'camwatch_outbox_pending'):14.0f}/{sample(body, 'camwatch_outbox_failed'):<6.0f}  "
          f"{p99:11g}  {emails:6d}", flush=True)


if __name__ == "__main__":
    main()
