#!/usr/bin/env python3
"""Render the sample district report (camwatch/report/sample.py) to PDF and its pages to PNG for the docs.

    .venv/bin/python scripts/render_report_docs.py              # → docs/report/bao-cao-1.png …
    .venv/bin/python scripts/render_report_docs.py --out /tmp/x --lang en

Needs Chromium (the PDF) and pdftoppm (poppler-utils, the PNGs); tests/test_report.py runs it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout: this camwatch, not an installed one

from camwatch import config as cfgmod  # noqa: E402
from camwatch import report  # noqa: E402
from camwatch.report import sample  # noqa: E402
from camwatch.store import repo  # noqa: E402


def render(out: Path, lang: str = "vi", dpi: int = 80) -> list[Path]:
    """The sample report's PDF pages as PNGs in `out` (old pages there are removed); returns them in order."""
    out.mkdir(parents=True, exist_ok=True)
    prefix = "bao-cao" if lang == "vi" else "report"
    for old in out.glob(f"{prefix}-*.png"):
        old.unlink()
    with tempfile.TemporaryDirectory() as d:
        url = f"sqlite:///{Path(d) / 'sample.db'}"
        repo.upgrade(url)
        engine = repo.make_engine(url)
        try:
            sample.write_history(engine)
            config = cfgmod.loads(sample.CONFIG)
            with engine.connect() as conn:
                r = report.build(conn, config, *report.period(sample.FIRST_DAY, sample.LAST_DAY, sample.VN), sample.NOW)
        finally:
            engine.dispose()
        pdf = Path(d) / "report.pdf"
        report.write(r, "pdf", lang, pdf)
        subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(out / prefix)], check=True, timeout=120)
    return sorted(out.glob(f"{prefix}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "report")
    p.add_argument("--lang", choices=["vi", "en"], default="vi")
    p.add_argument("--dpi", type=int, default=80)
    args = p.parse_args()
    for page in render(args.out, args.lang, args.dpi):
        print(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
