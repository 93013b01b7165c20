"""The availability report the district police asks for: `figures` (one set of figures) and `render` (formats)."""

from camwatch.report.figures import CameraRow, CommuneRow, IncidentRow, Report, build, commune_figures, period
from camwatch.report.render import chromium, chromium_args, to_csv, to_html, to_pdf, to_xlsx, write
from camwatch.words import pct

__all__ = ["CameraRow", "CommuneRow", "IncidentRow", "Report", "build", "chromium", "chromium_args", "commune_figures",
           "pct", "period", "to_csv", "to_html", "to_pdf", "to_xlsx", "write"]
