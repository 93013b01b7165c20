"""How long `camwatch check-config` takes to report 1,000, 2,000 and 5,000 errors, and the ratios between them.

    .venv/bin/python bench/config_errors.py

Each run loads a config whose cameras all have a bad `rtsp_url` (errors from validation) or an unknown commune
(errors from the cross-checks), the way `check-config` does, and prints the time per size next to each other. Linear
work gives ratios of 2 and 5 to the 1,000-error time; locating each error by rescanning the file (before issue 21)
gave 4 and 25 (96 s at 2,000 errors, over 300 s at 5,000).
"""

from __future__ import annotations

import time

from camwatch import config as cfgmod

SIZES = (1000, 2000, 5000)


def bad_config(n: int, kind: str) -> str:
    commune, url = {"url": ('"c"', '"http://10.0.0.1/s"'), "commune": ('"nowhere"', '"rtsp://10.0.0.1/s"')}[kind]
    return '[[communes]]\nid = "c"\nname = "Xã"\n' + "".join(
        f'[[cameras]]\nid = "C{i}"\nname = "cam {i}"\ncommune = {commune}\nrtsp_url = {url}\npassword = "x"\n'
        for i in range(n))


def seconds(text: str, n: int) -> float:
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        try:
            cfgmod.loads(text)
        except cfgmod.ConfigError as err:
            assert len(err.issues) == n
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    print(f"{'errors':<22}" + "".join(f"{n:>10,}" for n in SIZES) + "   ratios to 1,000")
    for kind, label in (("url", "bad rtsp_url"), ("commune", "unknown commune")):
        times = [seconds(bad_config(n, kind), n) for n in SIZES]
        print(f"{label:<22}" + "".join(f"{t:>9.2f}s" for t in times) + "   "
              + " ".join(f"{t / times[0]:.1f}×" for t in times))


if __name__ == "__main__":
    main()
