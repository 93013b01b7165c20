"""Server-rendered HTML: the layout, the district overview and the camera wall. No inline script or style (the
Content-Security-Policy forbids both): behaviour is `static/app.js`, looks are `static/app.css`; every value
is escaped. Elements the script refreshes carry `data-*` attributes named after the JSON's fields (`state`)."""

from __future__ import annotations

import datetime as dt
import json
from html import escape
from typing import Any
from urllib.parse import urlencode

from camwatch.web.data import PERIODS, SEVERITY, Fleet, Tile
from camwatch.web.text import Words

ASSET_VERSION = "1"


def e(v: object) -> str:
    return escape(str(v), quote=True)


def layout(w: Words, title: str, body: str, *, active: str, api: str, refresh_s: float, switch: str,
           now: dt.datetime) -> str:
    nav = "".join(f'<a href="{href}"{" aria-current=page" if key == active else ""}>{e(w[key])}</a>'
                  for key, href in (("overview", "/"), ("wall", "/wall")))
    return (f'<!doctype html><html lang="{w.lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{e(title)} · camwatch</title><link rel="stylesheet" href="/static/app.css?v={ASSET_VERSION}">'
            '<link rel="icon" href="/static/icon.svg" type="image/svg+xml">'
            f'<script src="/static/app.js?v={ASSET_VERSION}" defer></script></head>'
            f'<body data-api="{e(api)}" data-refresh="{refresh_s:g}">'
            f'<header><a class="brand" href="/">camwatch</a><nav>{nav}</nav>'
            f'<a class="lang" href="{e(switch)}" hreflang="{"en" if w.lang == "vi" else "vi"}">{e(w["switch"])}</a></header>'
            f'<p class="offline" hidden>{e(w["offline"])}</p>'
            f'<main>{body}</main>'
            f'<footer>{e(w["updated"])} <span data-updated>{e(w.clock(now))}</span></footer></body></html>')


def overview(w: Words, f: Fleet, title: str) -> str:
    counts = "".join(
        f'<a class="count st-{s}" href="/wall?status={s}"><b data-count="{s}">{f.counts.get(s, 0)}</b>'
        f'<span>{e(w.status(s))}</span></a>' for s in SEVERITY)
    total = f'<a class="count total" href="/wall"><b data-count="total">{len(f.tiles)}</b><span>{e(w["cameras"])}</span></a>'
    avail = "".join(f'<div class="avail"><span>{e(w[key])}</span><b data-avail="{n}">{e(_pct(w, f.availability[n], f))}</b>'
                    '</div>' for n, key in zip(PERIODS, ("today", "d7", "d30"), strict=True))
    head = (f'<tr><th scope="col">{e(w["commune"])}</th><th scope="col" class="n">{e(w["cameras"])}</th>'
            f'<th scope="col" class="n">{e(w["down"])}</th><th scope="col" class="n">{e(w["degraded"])}</th>'
            f'<th scope="col" class="n">{e(w["maintenance"])}</th><th scope="col" class="n">{e(w["today"])}</th>'
            f'<th scope="col" class="n">{e(w["d7"])}</th><th scope="col" class="n">{e(w["d30"])}</th></tr>')
    rows = "".join(_commune_row(w, c, f) for c in f.communes)
    return (f'<h1>{e(title)}</h1><section aria-label="{e(w["district_status"])}" class="counts">{total}{counts}</section>'
            f'<section class="avails"><h2>{e(w["availability"])}</h2><div class="row">{avail}</div></section>'
            f'<section><h2>{e(w["communes"])}</h2><div class="scroll"><table class="communes"><thead>{head}</thead>'
            f'<tbody>{rows}</tbody></table></div></section>')


def _commune_row(w: Words, c: Any, f: Fleet) -> str:
    href = "/wall?" + urlencode({"commune": c.id})
    cells = "".join(f'<td class="n{" bad" if c.counts[k] else ""}" data-commune="{e(c.id)}" data-field="{k}">'
                    f'{c.counts[k]}</td>' for k in ("down", "degraded", "maintenance"))
    avail = "".join(f'<td class="n">{e(_pct(w, c.availability.get(n), f))}</td>' for n in PERIODS)
    return (f'<tr><th scope="row"><a href="{e(href)}">{e(c.name)}</a></th><td class="n">{c.cameras}</td>'
            f'{cells}{avail}</tr>')


def _pct(w: Words, v: float | None, f: Fleet) -> str:
    """A percentage; "đang tính" (computing) until the first refresh of a daemon just started."""
    return w.pct(v) if v is not None or f.computed else w["pending"]


def wall(w: Words, f: Fleet, communes: list[tuple[str, str]], commune: str | None, status: str | None,
         pictures: bool) -> str:
    opts = [f'<option value="">{e(w["all"])}</option>'] + [
        f'<option value="{e(cid)}"{" selected" if cid == commune else ""}>{e(name)}</option>' for cid, name in communes]
    sopts = [f'<option value="">{e(w["all"])}</option>'] + [
        f'<option value="{s}"{" selected" if s == status else ""}>{e(w.status(s))}</option>' for s in SEVERITY]
    form = (f'<form class="filters" method="get" action="/wall"><label>{e(w["commune"])} '
            f'<select name="commune" data-filter="commune">{"".join(opts)}</select></label>'
            f'<label>{e(w["status"])} <select name="status" data-filter="status">{"".join(sopts)}</select></label>'
            f'<button type="submit">{e(w["filter"])}</button></form>')
    tiles = "".join(tile(w, t, f.now, pictures, hidden=(commune is not None and t.commune != commune)
                         or (status is not None and t.status != status)) for t in f.tiles)
    shown = sum(1 for t in f.tiles if (commune is None or t.commune == commune) and (status is None or t.status == status))
    empty = f'<p class="empty"{"" if shown == 0 else " hidden"}>{e(w["empty"])}</p>'
    return f'<h1>{e(w["wall"])}</h1>{form}{empty}<ul class="wall">{tiles}</ul>'


def tile(w: Words, t: Tile, now: dt.datetime, pictures: bool, hidden: bool = False) -> str:
    s = state(w, t, now, pictures)
    img = (f'<img src="{e(s["src"])}" alt="{e(t.name)}" loading="lazy" width="320" height="180">' if s["src"]
           else f'<span class="noimg">{e(s["noimg"])}</span>')
    return (f'<li class="tile st-{e(t.status)}" data-cam="{e(t.id)}" data-commune="{e(t.commune)}" '
            f'data-status="{e(t.status)}"{" hidden" if hidden else ""}><a href="/camera/{e(t.id)}">'
            f'<div class="pic">{img}</div><div class="cap"><b>{e(t.id)}</b> <span class="name">{e(t.name)}</span>'
            f'<span class="commune">{e(t.commune_name)}</span><span class="badge" data-field="status_text">'
            f'{e(s["status_text"])}</span> <span class="since" data-field="since_text">{e(s["since_text"])}</span>'
            f'</div></a></li>')


def state(w: Words, t: Tile, now: dt.datetime, pictures: bool) -> dict[str, Any]:
    """One camera as the page shows it and the script refreshes it (the JSON of `/api/state`)."""
    problem = t.incident if t.incident else (t.verdict if t.verdict not in (None, "ok") else None)
    label = w.status(t.status) + (f": {w.verdict(problem)}" if problem and t.status in ("down", "degraded") else "")
    src = f"/picture/{t.id}/{t.picture}.jpg?v={t.version}" if pictures and t.picture else None
    return {"status": t.status, "status_text": label, "since_text": w.since(t.since, now) if t.status != "ok" else "",
            "src": src, "noimg": w["no_picture"] if pictures else w["login"], "acknowledged": t.acknowledged,
            "last_check": w.moment(t.last_check)}


def state_json(w: Words, f: Fleet, pictures: bool, camera: str | None = None) -> bytes:
    tiles = [t for t in f.tiles if camera is None or t.id == camera]
    doc = {"updated": w.clock(f.now), "counts": {**f.counts, "total": len(f.tiles)},
           "availability": {str(n): _pct(w, v, f) for n, v in f.availability.items()},
           "communes": {c.id: {k: c.counts[k] for k in ("down", "degraded", "maintenance")} for c in f.communes},
           "cameras": {t.id: state(w, t, f.now, pictures) for t in tiles}}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def message(w: Words, title: str, text: str) -> str:
    return f'<h1>{e(title)}</h1><p>{e(text)}</p>'
