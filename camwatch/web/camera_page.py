"""The camera page: its pictures, facts, availability strip, last checks, incidents and maintenance."""

from __future__ import annotations

import datetime as dt
from typing import Any

from camwatch.urls import mask_url
from camwatch.web.data import CameraPage, Tile
from camwatch.web.pages import e, state
from camwatch.web.text import Words

STRIP_CLASSES = ((0.999, "a100"), (0.99, "a99"), (0.95, "a95"), (0.9, "a90"), (0.5, "a50"), (0.0, "a0"))


def render(w: Words, p: CameraPage, t: Tile, now: dt.datetime, pictures: bool, csrf: str | None) -> str:
    s = state(w, t, now, pictures)
    cam = p.cam.cfg
    head = (f'<h1>{e(cam.id)} · {e(cam.name)}</h1><p class="sub"><a href="/wall?commune={e(cam.commune)}">'
            f'{e(p.commune_name)}</a>{" · " + e(cam.location) if cam.location else ""}</p>'
            f'<p class="status st-{e(t.status)}" data-cam="{e(cam.id)}" data-status="{e(t.status)}">'
            f'<span class="badge" data-field="status_text">{e(s["status_text"])}</span> '
            f'<span class="since" data-field="since_text">{e(s["since_text"])}</span> '
            f'<span class="checked">{e(w["last_check"])}: <span data-field="last_check">{e(s["last_check"])}</span></span></p>')
    return (head + _pictures(w, p, pictures) + '<div class="cols">' + _facts(w, p) + _strips(w, p) + "</div>"
            + _checks(w, p) + _incidents(w, p, now, pictures, csrf) + _maintenance(w, p))


def _pictures(w: Words, p: CameraPage, pictures: bool) -> str:
    if not pictures:
        return f'<p class="noimg">{e(w["login"])}</p>'
    figs = []
    for kind, key in (("latest", "latest"), ("last-good", "last_good"), ("first-bad", "first_bad")):
        if kind in p.pictures:
            src = f"/picture/{p.cam.id}/{kind}.jpg?v={p.pictures[kind]}"
            figs.append(f'<figure><a href="{e(src)}"><img src="{e(src)}" alt="{e(w[key])}" width="320" height="180"'
                        f'{" data-live" if kind == "latest" else ""}></a><figcaption>{e(w[key])}</figcaption></figure>')
    return f'<section class="pictures">{"".join(figs) or e(w["no_picture"])}</section>'


def _facts(w: Words, p: CameraPage) -> str:
    r = p.row
    items: list[tuple[str, str]] = []
    if r is not None:
        items += [(w["manufacturer"], r.manufacturer), (w["model"], r.model), (w["firmware"], r.firmware),
                  (w["serial"], r.serial)]
        if r.clock_offset_s is not None:
            ntp = f" ({w['ntp']})" if r.clock_ntp else ""
            items.append((w["clock"], f"{w.number(r.clock_offset_s)} {w['seconds']}{ntp}"))
    if p.profile is not None:
        items.append((w["profile"], p.profile.describe()))
    dl = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in items if v not in (None, ""))
    return f'<section class="facts"><h2>{e(w["facts"])}</h2><dl>{dl or "<dt>–</dt><dd>" + e(w["none"]) + "</dd>"}</dl></section>'


def _cls(b: Any) -> tuple[str, float | None]:
    a = b.availability if b is not None else None
    if a is None:
        return "a-none", None
    return next(c for limit, c in STRIP_CLASSES if a >= limit), a


def _strips(w: Words, p: CameraPage) -> str:
    figures = "".join(f'<div class="avail"><span>{e(w[k])}</span><b>{e(w.pct(p.sums.get(n)))}</b></div>'
                      for n, k in ((1, "today"), (7, "d7"), (30, "d30")))
    out = []
    for n, key in ((7, "d7"), (30, "d30")):
        cells = []
        for day, b in p.days[-n:]:
            cls, a = _cls(b)
            text = f"{w.day(day)}: {w.pct(a) if a is not None else w['no_data']}"
            cells.append(f'<li class="{cls}" title="{e(text)}"><span class="sr">{e(text)}</span></li>')
        out.append(f'<figure class="strip s{n}"><figcaption>{e(w[key])}</figcaption><ol>{"".join(cells)}</ol></figure>')
    return (f'<section class="strips"><h2>{e(w["availability"])}</h2><div class="row">{figures}</div>'
            f'{"".join(out)}</section>')


def _checks(w: Words, p: CameraPage) -> str:
    head = "".join(f'<th scope="col">{e(w[k])}</th>' for k in ("time", "verdict", "took", "fps", "bitrate", "ttff",
                                                                 "luma", "sharpness", "clock", "reason"))
    rows = []
    for c in p.checks:
        kbit = c.bitrate_bps / 1000 if c.bitrate_bps is not None else None
        luma = c.luma / 255 if c.luma is not None else None
        cells = [w.moment(c.started_at), w.verdict(c.verdict), w.number(c.duration_s, 2), w.number(c.fps),
                 w.number(kbit, 0), w.number(c.time_to_first_frame_s, 2), w.pct(luma) if luma is not None else "–",
                 w.number(c.sharpness_ratio, 2), w.number(c.clock_offset_s)]
        rows.append(f'<tr class="v-{e(c.verdict)}">' + "".join(f"<td>{e(x)}</td>" for x in cells)
                    + f'<td class="reason">{e(mask_url(c.reason or ""))}</td></tr>')
    body = "".join(rows) or f'<tr><td colspan="10">{e(w["none"])}</td></tr>'
    return (f'<section><h2>{e(w["checks"])}</h2><div class="scroll"><table class="checks"><thead><tr>{head}</tr></thead>'
            f'<tbody>{body}</tbody></table></div></section>')


def _incidents(w: Words, p: CameraPage, now: dt.datetime, pictures: bool, csrf: str | None) -> str:
    head = "".join(f'<th scope="col">{e(w[k])}</th>' for k in ("kind", "start", "end", "duration", "ack", "pictures"))
    rows = []
    for i in p.incidents:
        end = w.moment(i.closed_at) if i.closed_at else w["open"]
        took = w.duration(((i.closed_at or now) - i.started_at).total_seconds())
        ack = e(w["acked"] if i.acknowledged else w["not_acked"])
        if csrf is not None and not i.acknowledged and i.closed_at is None:
            ack += (f'<form method="post" action="/camera/{e(p.cam.id)}/incident/{i.id}/acknowledge">'
                    f'<input type="hidden" name="csrf" value="{e(csrf)}"><button type="submit">{e(w["ack_button"])}'
                    "</button></form>")
        pics = ""
        if pictures:
            for kind, key, stored in (("first-bad", "first_bad", i.first_bad_snapshot),
                                      ("last-good", "last_good", i.last_good_snapshot)):
                if stored:
                    src = f"/incident/{i.id}/{kind}.jpg"
                    pics += (f'<a href="{e(src)}"><img src="{e(src)}" alt="{e(w[key])}" title="{e(w[key])}" '
                             'loading="lazy" width="96" height="54"></a>')
        kind = f'{w.verdict(i.kind)} ({w["severity_" + i.severity] if i.severity in ("down", "degraded") else i.severity})'
        rows.append(f'<tr class="sev-{e(i.severity)}"><td>{e(kind)}</td><td>{e(w.moment(i.started_at))}</td>'
                    f'<td>{e(end)}</td><td>{e(took)}</td><td class="ackcell">{ack}</td><td class="thumbs">{pics}</td></tr>')
    body = "".join(rows) or f'<tr><td colspan="6">{e(w["none"])}</td></tr>'
    return (f'<section><h2>{e(w["incidents"])}</h2><div class="scroll"><table class="incidents"><thead><tr>{head}</tr>'
            f'</thead><tbody>{body}</tbody></table></div></section>')


def _maintenance(w: Words, p: CameraPage) -> str:
    items = [f'<li>{e(w.moment(m.starts_at))} – {e(w.moment(m.ends_at))}{" (" + e(m.reason) + ")" if m.reason else ""} '
             f'<small>{e(w["stored"])}</small></li>' for m in p.maintenance]
    items += [f'<li>{e(w["daily"]) + " " if kind == "daily" else ""}{e(span)} <small>{e(w["planned"])}</small></li>'
              for kind, span in p.planned]
    listed = "".join(items) or f"<li>{e(w['none'])}</li>"
    return f'<section><h2>{e(w["maintenance"])}</h2><ul class="maint">{listed}</ul></section>'
