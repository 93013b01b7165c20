"""The report as one self-contained HTML page, laid out like a Vietnamese administrative report when printed.

Portrait A4: the unit's heading and the national motto, the title, the period (and where its figures stop),
when it was made, the summary and the charts, the signatures; then landscape annexes with the tables per
commune, per camera, of incidents and per day. Page numbers "Trang x/y" come from CSS page-margin boxes,
so Chromium's own header and footer stay off. Table cells never break inside a word.
"""

from __future__ import annotations

import html

from camwatch.report import tables as T
from camwatch.report.charts import svg_charts
from camwatch.report.figures import Report
from camwatch.words import long_date

e = html.escape
NOWRAP = {"int", "pct", "change", "duration", "moment", "day"}

CSS = """
@page { size: A4; margin: 20mm 15mm 18mm 30mm;
  @bottom-center { content: "%(page)s " counter(page) "/" counter(pages); font: 9pt "DejaVu Sans", sans-serif; } }
@page annex { size: A4 landscape; margin: 18mm 15mm 16mm 20mm;
  @bottom-center { content: "%(page)s " counter(page) "/" counter(pages); font: 9pt "DejaVu Sans", sans-serif; } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 10.5pt; color: #000; margin: 0; }
@media screen { body { max-width: 1100px; margin: 24px auto; padding: 0 16px; } }
table.head { width: 100%%; border-collapse: collapse; margin-bottom: 6mm; }
table.head td { border: none; text-align: center; vertical-align: top; padding: 0; font-size: 10pt; }
table.head td.unit { width: 42%%; } .b { font-weight: bold; }
.rule { width: 35%%; margin: 1mm auto 0; border-top: 1px solid #000; }
.place { font-style: italic; text-align: right !important; padding-top: 3mm !important; }
h1 { font-size: 14pt; text-align: center; margin: 4mm 0 1mm; }
p.subtitle { text-align: center; font-weight: bold; margin: 0 0 2mm; }
p.period, p.meta { text-align: center; margin: 0; } p.note { font-size: 8.5pt; font-style: italic; margin: 3mm 0; }
h2 { font-size: 11.5pt; margin: 5mm 0 2mm; break-after: avoid; }
table.data { border-collapse: collapse; width: 100%%; font-size: 8.5pt; margin: 1mm 0 3mm; }
table.data th, table.data td { border: 0.6pt solid #555; padding: 1.2mm 1.5mm; vertical-align: top;
  overflow-wrap: normal; word-break: keep-all; hyphens: manual; }
table.data th { background: #eceff5; text-align: center; font-weight: bold; }
table.data td.num { text-align: right; } .nowrap { white-space: nowrap; }
table.data tr { break-inside: avoid; } table.data thead { display: table-header-group; }
table.summary { width: 75%%; } table.summary td:first-child { width: 55%%; }
figure { margin: 2mm 0 4mm; break-inside: avoid; } figure svg { width: 100%%; height: auto; }
table.sign { width: 100%%; margin-top: 8mm; break-inside: avoid; border-collapse: collapse; }
table.sign td { text-align: center; vertical-align: top; border: none; padding: 0 2mm; }
table.sign .space { height: 24mm; }
section.annex { page: annex; break-before: page; }
"""


def _cell(v: object, kind: T.Kind, lang: str, r: Report, keep: bool) -> str:
    value, k = T.kind_of(v, kind)
    cls = [*(["num"] if k in NOWRAP - {"moment", "day"} else []), *(["nowrap"] if k in NOWRAP or keep else [])]
    attr = f" class='{' '.join(cls)}'" if cls else ""
    return f"<td{attr}>{e(T.text(value, k, lang, r.tz))}</td>"


def table(t: T.Table, lang: str, r: Report, cls: str = "data") -> str:
    head = "".join(f"<th>{e(label)}</th>" for label, _ in t.columns)
    # ids, commune names and fault names stay on one line; other text wraps only between words
    short = {T.L[lang][k] for k in ("commune", "worst_fault", "kind", "status")}
    keep = [(k == 0 and t.key != "summary") or label in short for k, (label, _) in enumerate(t.columns)]
    body = "".join("<tr>" + "".join(_cell(v, kind, lang, r, keep[k])
                                     for k, (v, (_, kind)) in enumerate(zip(row, t.columns, strict=True))) + "</tr>"
                   for row in t.rows)
    return f"<table class='{cls}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def heading(r: Report, lang: str) -> str:
    w, lay = T.L[lang], r.layout
    unit = lay.unit or r.district.upper()
    parent = f"<div>{e(lay.parent_unit)}</div>" if lay.parent_unit else ""
    day = long_date(r.generated_at.astimezone(r.tz).date(), lang)
    dateline = f"{lay.place}, {day}" if lay.place else day[:1].upper() + day[1:]
    return (f"<table class='head'><tr><td class='unit'>{parent}<div class='b'>{e(unit)}</div><div class='rule'></div></td>"
            f"<td><div class='b'>{e(w['republic'])}</div><div class='b'>{e(w['motto'])}</div><div class='rule'></div></td>"
            f"</tr><tr><td></td><td class='place'>{e(dateline)}</td></tr></table>")


def signatures(r: Report, lang: str) -> str:
    w = T.L[lang]
    signers = [(s.title, s.name) for s in r.layout.signers] if r.layout.signers is not None else \
        [(title, "") for title in w["signers"].split("|")]
    if not signers:
        return ""
    cells = "".join(f"<td><div class='b'>{e(title.upper())}</div><div><i>{e(w['sign_here'])}</i></div>"
                    f"<div class='space'></div><div class='b'>{e(name)}</div></td>" for title, name in signers)
    return f"<table class='sign'><tr>{cells}</tr></table>"


def to_html(r: Report, lang: str) -> str:
    w = T.L[lang]
    title = f"{w['title']} – {r.district}"
    scope = f" – {r.communes[0].name}" if r.commune_filter and r.communes else ""
    charts = "".join(f"<figure>{s}</figure>" for s in svg_charts(r, lang))
    annexes = "".join(
        f"<section class='annex'><h2>{e(w['annex'])} {n}. {e(w[t.key])}</h2>{table(t, lang, r)}</section>"
        for n, t in enumerate([T.communes(r, lang), T.cameras(r, lang), T.incidents(r, lang), T.daily(r, lang)], 1))
    return f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>{CSS % {"page": w["page"]}}</style></head><body>
{heading(r, lang)}
<h1>{e(w['report'])}</h1>
<p class="subtitle">{e(w['subject'])} – {e(r.district)}{e(scope)}</p>
<p class="period">{e(w['period'])}: {e(T.period_text(r, lang))}</p>
<p class="meta">{e(w['generated'])}: {e(T.text(r.generated_at, "moment", lang, r.tz))}</p>
<p class="note">{e(w['definition'])} {e(w['durations'])}</p>
<h2>I. {e(w['summary'])}</h2>
{table(T.summary(r, lang), lang, r, "data summary")}
<h2>II. {e(w['charts'])}</h2>
{charts}
{signatures(r, lang)}
{annexes}
</body></html>"""
