"""The availability report the district police asks for: `figures` (one set of figures), `tables` (what every
format shows), `charts`, `page` (HTML/PDF layout) and `render` (the formats)."""

from camwatch.report.figures import CameraRow, CommuneRow, IncidentRow, Report, Totals, build, period, totals
from camwatch.report.render import chromium, chromium_args, file_name, to_csv, to_html, to_pdf, to_xlsx, write
from camwatch.words import pct

__all__ = ["CameraRow", "CommuneRow", "IncidentRow", "Report", "Totals", "build", "chromium", "chromium_args",
           "file_name", "pct", "period", "to_csv", "to_html", "to_pdf", "to_xlsx", "totals", "write"]
