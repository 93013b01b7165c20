"""The simulated fleet's RTSP server: GStreamer's RTSP server streaming pre-encoded H.264 clips.

Runs under Debian's /usr/bin/python3 (python3-gi, gir1.2-gst-rtsp-server-1.0), as a subprocess of
camwatch; it imports nothing but the standard library and GStreamer, so it is started by path.

Each mount point is one camera. What a camera shows is read from a JSON control file at every new
session, so tests, the demo and benchmarks can switch faults at run time (scene = clip name)::

    {"user": "admin", "password": "p@ss:w#rd",
     "mounts": {"cam01": "day", "cam02": "black"}}

A session gets its own pipeline (no re-encoding, nothing shared: FFmpeg clients send
``Range: npt=0.000-`` which would rewind a shared file for every viewer). Besides RTSP, the server can listen on a
port that accepts connections and never answers (``--hang-port``) and on one that answers garbage
(``--garbage-port``): the hostile cameras of the test-suite.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import socket
import sys
import threading
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402


class Control:
    def __init__(self, path: str) -> None:
        self.path = path
        self._mtime = -1.0
        self._data: dict = {}

    def data(self) -> dict:
        try:
            mtime = os.stat(self.path).st_mtime
            if mtime != self._mtime:
                with open(self.path, encoding="utf-8") as f:
                    self._data = json.load(f)
                self._mtime = mtime
        except (OSError, ValueError) as err:
            print(f"rtsp-sim: control file unreadable, keeping the last one: {err}", file=sys.stderr)
        return self._data


class Factory(GstRtspServer.RTSPMediaFactory):
    def __init__(self, mount: str, control: Control, clips: str) -> None:
        super().__init__()
        self.mount, self.control, self.clips = mount, control, clips
        self.set_shared(False)

    def do_create_element(self, url):
        """A scene spec is `scene[@shape+shape…]` (see camwatch.sim.scenes.Shape, which encoded the clips)."""
        spec = self.control.data().get("mounts", {}).get(self.mount, "day")
        scene, _, rest = spec.partition("@")
        shapes = [p for p in rest.split("+") if p]
        self.shapes = shapes
        clip_shapes = "+".join(p for p in shapes if p not in ("join", "udp", "tsjump"))
        name = f"{scene}@{clip_shapes}" if clip_shapes else scene
        mjpeg = "mjpeg" in shapes
        ext = "mkv" if mjpeg else "mp4"
        if "join" in shapes:  # a client joins a live camera mid-GOP: start at a random cut of the clip
            gop = next((float(p[3:]) for p in shapes if p.startswith("gop")), 2.0)
            k = random.randrange(0, max(1, math.ceil(gop)))
            if k:
                name = f"{name}~{k}"
        else:
            name = live_cut(self.clips, name, ext)
        clip = os.path.join(self.clips, f"{name}.{ext}")
        if mjpeg:
            pay = "matroskademux ! jpegparse ! rtpjpegpay name=pay0 pt=26"
        else:
            pay = "qtdemux ! h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96"
        if "tsjump" in shapes:  # two payloaders an hour of RTP time apart; the server switches 3 s in
            tail = pay.split(" ! rtph264pay")[0]
            desc = (f'( filesrc location="{clip}" ! {tail} ! tee name=t '
                    f't. ! rtph264pay pt=96 timestamp-offset=1000 ! sel.sink_0 '
                    f't. ! rtph264pay pt=96 timestamp-offset={1000 + 3600 * 90000} ! sel.sink_1 '
                    f'input-selector name=sel sync-streams=false ! identity name=pay0 )')
            bin_ = Gst.parse_launch(desc)
            sel = bin_.get_by_name("sel")
            GLib.timeout_add(3000, lambda: sel.set_property("active-pad", sel.get_static_pad("sink_1")) or False)
            return bin_
        return Gst.parse_launch(f'( filesrc location="{clip}" ! {pay} )')

    def do_configure(self, media):
        GstRtspServer.RTSPMediaFactory.do_configure(self, media)
        if "udp" in getattr(self, "shapes", []):  # a camera set to UDP only: a TCP SETUP gets 461
            media.set_protocols(GstRtsp.RTSPLowerTrans.UDP)


_CUTS: dict[str, int] = {}


def live_cut(clips: str, name: str, ext: str, gop_s: float = 2.0) -> str:
    """A live camera shows each new session what it sees now: the cut of the clip (`name^k`, made by
    camwatch.sim.scenes.live_cuts) the wall clock points to. The cuts follow each other by a stride of three
    or more GOPs: a session's second keyframe is the first of the next cut, which the next session must not
    see again as its first."""
    if name not in _CUTS:
        n = 1
        while os.path.exists(os.path.join(clips, f"{name}^{n}.{ext}")):
            n += 1
        _CUTS[name] = n
    n = _CUTS[name]
    stride = next((s for s in range(3, n) if math.gcd(s, n) == 1), 1)
    k = int(time.time() / gop_s) * stride % n
    return f"{name}^{k}" if k else name


def _hang_listener(port: int) -> None:
    srv = socket.create_server(("127.0.0.1", port))
    held = []
    while True:
        conn, _ = srv.accept()
        held.append(conn)  # accept and never answer
        if len(held) > 200:
            held.pop(0).close()


def _garbage_listener(port: int) -> None:
    srv = socket.create_server(("127.0.0.1", port))
    while True:
        conn, _ = srv.accept()
        try:
            conn.settimeout(2)
            conn.recv(4096)
            conn.sendall(b"\x16\x03\x01garbage \xff\xfe not RTSP at all\r\n\r\n" * 4)
        except OSError:
            pass
        finally:
            conn.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--control", required=True)
    ap.add_argument("--clips", required=True)
    ap.add_argument("--hang-port", type=int)
    ap.add_argument("--garbage-port", type=int)
    args = ap.parse_args()

    Gst.init(None)
    control = Control(args.control)
    cfg = control.data()
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    user, password = cfg.get("user"), cfg.get("password")
    if user and password:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "camera-user")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        server.set_auth(auth)
    mounts = server.get_mount_points()
    for mount in cfg.get("mounts", {}):
        factory = Factory(mount, control, args.clips)
        if user and password:
            factory.add_role_from_structure(Gst.Structure.new_from_string(
                "camera-user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"))
        mounts.add_factory(f"/{mount}", factory)
    if server.attach(None) == 0:
        print(f"rtsp-sim: cannot listen on 127.0.0.1:{args.port}", file=sys.stderr)
        return 1
    for port, target in ((args.hang_port, _hang_listener), (args.garbage_port, _garbage_listener)):
        if port:
            threading.Thread(target=target, args=(port,), daemon=True).start()
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    print(f"rtsp-sim: ready on rtsp://127.0.0.1:{args.port}/ ({len(cfg.get('mounts', {}))} mounts)", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
