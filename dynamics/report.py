"""The browsable report: one self-contained ``index.html`` over every model's summary.

The page reads as a verification, top to bottom:

1. the totals, then one row per model with its counts of pass, finding and fail, and under
   it each finding (one sentence, linked to its claim) and each fail;
2. per model, its claims as cards: verdict, id, source tag, the statement, the numbers
   (long arrays abbreviated, the full value one click away), the reason for the tolerance,
   and for a finding its explanation;
3. each figure, with its caption, right after the first claim it supports (figures that
   support no claim close the section), then what is reconstructed, notes and data files.

Figures are embedded, so the file stands alone. :func:`layout_problems` renders the page in
headless Chromium and reports horizontal overflow (used by the tests).
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["write_index", "load_summaries", "verdict_of", "layout_problems", "find_chromium"]

_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:1.5em auto;max-width:1180px;
 color:#222;padding:0 1.2em;line-height:1.45;overflow-wrap:break-word}
h1{margin-bottom:.2em} h2{margin-top:2.2em;border-bottom:2px solid #ddd;padding-bottom:.2em}
h3{margin:1.6em 0 .4em}
a{color:#1a56a8}
table{border-collapse:collapse;width:100%;font-size:.92em;margin:.8em 0;table-layout:auto}
th,td{border:1px solid #ddd;padding:.35em .55em;vertical-align:top;text-align:left}
th{background:#f4f4f4} td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.v{display:inline-block;min-width:5.2em;text-align:center;font-weight:700;font-size:.8em;
 padding:.12em .45em;border-radius:3px;color:#fff}
.v.pass{background:#0a7d2c} .v.finding{background:#b26a00} .v.fail{background:#c0151b}
.c-pass{color:#0a7d2c;font-weight:700} .c-finding{color:#b26a00;font-weight:700}
.c-fail{color:#c0151b;font-weight:700}
.tag{font-size:.75em;padding:.1em .45em;border-radius:3px;background:#eef;color:#335;margin-left:.4em}
.tag.reconstruction{background:#fff3d6;color:#7a5200} .tag.derived{background:#e7f4ec;color:#1d5b34}
.tag.calibration{background:#eee;color:#444}
.model-findings{margin:.2em 0 .2em 1.2em;padding:0;font-size:.92em} .model-findings li{margin:.15em 0}
.claim{border:1px solid #ddd;border-left:6px solid #0a7d2c;border-radius:4px;padding:.6em .9em;
 margin:.8em 0;background:#fff}
.claim.finding{border-left-color:#b26a00} .claim.fail{border-left-color:#c0151b}
.claim:target{box-shadow:0 0 0 3px #9cc3ff}
.claim .head{display:flex;flex-wrap:wrap;align-items:baseline;gap:.5em}
.claim .id{font-family:ui-monospace,monospace;font-weight:600}
.claim .stmt{margin:.4em 0}
.nums{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.1em .9em;margin:.3em 0;
 font-size:.92em}
.nums dt{color:#555} .nums dd{margin:0;font-family:ui-monospace,monospace;min-width:0}
.why{font-size:.92em;color:#333;margin:.4em 0}
.explain{background:#fff8ea;border:1px solid #f0d9a8;border-radius:4px;padding:.5em .8em;margin:.5em 0;
 font-size:.93em}
.explain.stale,.err{background:#fee;border:1px solid #c0151b;border-radius:4px;padding:.5em .8em}
.explain p{margin:.25em 0}
details summary{cursor:pointer;color:#1a56a8}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f7f7f7;padding:.5em;font-size:.85em;
 max-height:28em;overflow-y:auto}
figure{margin:1em 0;padding:.5em;border:1px solid #eee;border-radius:4px}
figure img{display:block;max-width:100%;height:auto;margin:0 auto}
figcaption{font-size:.9em;color:#333;margin-top:.4em}
figcaption .supports{color:#666;font-size:.9em}
.notes li{margin:.3em 0}
"""

_ARRAY_SHOWN = 6


def verdict_of(claim: dict[str, Any]) -> str:
    """A claim's verdict from its JSON form (summaries written before verdicts: from ``passed``)."""
    v = claim.get("verdict")
    if v in ("pass", "finding", "fail"):
        return str(v)
    return "pass" if claim.get("passed") else "fail"


def _counts(s: dict[str, Any]) -> dict[str, int]:
    out = {"pass": 0, "finding": 0, "fail": 0}
    for c in s.get("claims", []):
        out[verdict_of(c)] += 1
    return out


def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _anchor(claim_id: str) -> str:
    return "claim-" + re.sub(r"[^A-Za-z0-9_.-]", "-", claim_id)


def _num(x: Any) -> str:
    if isinstance(x, bool) or x is None:
        return str(x)
    if isinstance(x, float):
        return f"{x:.6g}"
    return str(x)


def _short(x: Any) -> str:
    text = ", ".join(_num(v) for v in _flat(x)) if isinstance(x, list) else _num(x)
    text = f"[{text}]" if isinstance(x, list) else text
    return text if len(text) <= 60 else text[:57] + "..."


def _flat(x: Any) -> list[Any]:
    if isinstance(x, list):
        return [v for item in x for v in _flat(item)]
    return [x]


def _value(x: Any) -> str:
    """A value for a claim card: short ones inline, long ones abbreviated with the full value
    one click away."""
    if isinstance(x, list | dict):
        full = json.dumps(x, indent=None if isinstance(x, list) else 1, default=str)
        if isinstance(x, list) and all(not isinstance(v, list | dict) for v in x) and len(x) <= _ARRAY_SHOWN:
            text = "[" + ", ".join(_num(v) for v in x) + "]"
            if len(text) <= 90:
                return _esc(text)
        if len(full) <= 90:
            return _esc(full)
        if isinstance(x, list):
            flat = _flat(x)
            head = ", ".join(_num(v) for v in flat[:4])
            short = f"[{head}, ... ] ({len(flat)} values)"
        else:
            short = "{" + ", ".join(_esc(k) for k in list(x)[:4]) + (", ..." if len(x) > 4 else "") + "}"
        return (f"<details><summary>{_esc(short)}</summary><pre>{_esc(full)}</pre></details>")
    text = _num(x)
    if len(text) > 120:
        return f"<details><summary>{_esc(text[:80])} ...</summary><pre>{_esc(text)}</pre></details>"
    return _esc(text)


def _summary_problem(doc: Any) -> str | None:
    """What makes a parsed ``summary.json`` unusable for the report, or None."""
    if not isinstance(doc, dict):
        return f"a JSON {type(doc).__name__}, not an object"
    if not isinstance(doc.get("name"), str):
        return "no model name"
    claims = doc.get("claims", [])
    if not isinstance(claims, list) or not all(isinstance(c, dict) and isinstance(c.get("id"), str)
                                               for c in claims):
        return "its claims are not a list of claims with ids"
    for key in ("figures", "trajectories", "notes", "reconstructed", "unmatched_findings"):
        if not isinstance(doc.get(key, []), list):
            return f"{key!r} is not a list"
    for key in ("figure_info", "timings_s", "config"):
        if not isinstance(doc.get(key, {}), dict):
            return f"{key!r} is not an object"
    return None


def load_summaries(out_dir: Path) -> list[dict[str, Any]]:
    """Every ``OUT/*/summary.json``, sorted by name.

    A summary that cannot be read (truncated, not JSON, not a summary) does not stop the
    report: it is skipped with one warning line on stderr naming the file, and stands in the
    list as a model error ("summary unreadable: ...; rerun dynamics verify NAME"), so the
    report notes it.
    """
    out = []
    for p in sorted(Path(out_dir).glob("*/summary.json")):
        try:
            doc = json.loads(p.read_text())
            problem = _summary_problem(doc)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            problem = f"{type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}"
        if problem is None:
            out.append(doc)
            continue
        name = p.parent.name
        print(f"dynamics: warning: skipping unreadable {p} ({problem}); "
              f"rerun `dynamics verify {name}` to rewrite it", file=sys.stderr)
        out.append({"name": name, "title": "", "claims": [], "passed": False, "unreadable": True,
                    "error": f"summary unreadable ({p}: {problem}); rerun dynamics verify {name}"})
    return out


def _claim_card(c: dict[str, Any]) -> str:
    v = verdict_of(c)
    src = str(c.get("source", "paper"))
    rel = " (relative)" if c.get("relative") else ""
    parts = [f'<div class="claim {v}" id="{_anchor(c["id"])}"><div class="head">'
             f'<span class="v {v}">{v.upper()}</span><span class="id">{_esc(c["id"])}</span>'
             f'<span class="tag {_esc(src)}">{_esc(src)}</span></div>',
             f'<p class="stmt">{_esc(c["statement"])}</p>',
             '<dl class="nums">'
             f'<dt>predicted</dt><dd>{_value(c.get("predicted"))}</dd>'
             f'<dt>measured</dt><dd>{_value(c.get("measured"))}</dd>'
             f'<dt>tolerance</dt><dd>{_esc(_num(c.get("tolerance")))}{rel}'
             + (f' &nbsp; (worst deviation {_esc(_num(c["deviation"]))})'
                if isinstance(c.get("deviation"), float) else "")
             + "</dd></dl>",
             f'<p class="why"><b>Why this tolerance:</b> {_esc(c.get("why", ""))}</p>']
    if c.get("negative_controls"):  # wrong predictions checked the same way: each must be refuted
        parts.append('<p class="why"><b>Negative controls:</b> ' + "; ".join(
            f'{_esc(str(n.get("label")))} {"refuted" if n.get("refuted") else "<b>NOT refuted</b>"}'
            for n in c["negative_controls"]) + "</p>")
    fp = c.get("finding_parts")
    if fp and c.get("stale_finding"):
        parts.append(f'<div class="explain stale"><p><b>Stale finding:</b> this claim was registered as '
                     f'known not to hold ("{_esc(fp["summary"])}"), but it now holds, so the '
                     f"explanation no longer describes the numbers. Re-examine and remove the finding.</p></div>")
    elif fp:
        scope = ("the paper's claim" if fp.get("bears_on") == "paper"
                 else "our reconstruction only, not the paper")
        parts.append(f'<div class="explain"><p><b>Finding:</b> {_esc(fp["summary"])}</p>'
                     f'<p><b>What the numbers show:</b> {_esc(fp["shows"])}</p>'
                     f'<p><b>Ruled out:</b> {_esc(fp["ruled_out"])}</p>'
                     f"<p><b>Bears on:</b> {scope}.</p></div>")
    elif c.get("finding"):
        parts.append(f'<div class="explain"><p><b>Finding:</b> {_esc(c["finding"])}</p></div>')
    if c.get("details"):
        parts.append(f'<details><summary>details</summary><pre>{_esc(json.dumps(c["details"], indent=1, default=str))}'
                     "</pre></details>")
    parts.append("</div>")
    return "".join(parts)


def _figure(out_dir: Path, name: str, fig: str, info: dict[str, Any]) -> str:
    p = out_dir / name / fig
    if not p.exists():
        return f'<p class="err">figure {_esc(fig)} is missing</p>'
    b64 = base64.b64encode(p.read_bytes()).decode()
    cap = info.get("caption") or fig
    supports = info.get("claims") or []
    links = ", ".join(f'<a href="#{_anchor(i)}">{_esc(i)}</a>' for i in supports)
    return (f'<figure><img alt="{_esc(cap)}" src="data:image/png;base64,{b64}">'
            f"<figcaption><b>{_esc(fig)}</b>: {_esc(cap)}"
            + (f'<br><span class="supports">supports: {links}</span>' if links else "")
            + "</figcaption></figure>")


def _model_section(out_dir: Path, s: dict[str, Any]) -> str:
    name = s["name"]
    claims = s.get("claims", [])
    n = _counts(s)
    parts = [f'<h2 id="{_esc(name)}">{_esc(name)}: {_esc(s.get("title", ""))}</h2>',
             f'<p><span class="c-pass">{n["pass"]} pass</span>, <span class="c-finding">{n["finding"]} '
             f'finding{"s" if n["finding"] != 1 else ""}</span>, <span class="c-fail">{n["fail"]} fail</span> '
             f'of {len(claims)} claims; {s.get("timings_s", {}).get("total", 0):.1f} s</p>']
    if s.get("error"):
        parts.append(f'<p class="err">Error: {_esc(s["error"])}</p>')
    for f in s.get("unmatched_findings", []):
        parts.append(f'<p class="err">A finding is registered for claim {_esc(f["claim"])}, which this run '
                     "did not produce.</p>")
    figures = list(s.get("figures", []))
    info = s.get("figure_info", {})
    placed: set[str] = set()
    for c in claims:
        parts.append(_claim_card(c))
        for fig in figures:
            if fig not in placed and c["id"] in (info.get(fig, {}).get("claims") or []):
                parts.append(_figure(out_dir, name, fig, info.get(fig, {})))
                placed.add(fig)
    rest = [f for f in figures if f not in placed]
    if rest:
        parts.append("<h3>Other figures</h3>")
        parts.extend(_figure(out_dir, name, f, info.get(f, {})) for f in rest)
    if s.get("reconstructed"):
        parts.append("<h3>Reconstructed (not the paper's text)</h3><ul class='notes'>"
                     + "".join(f"<li>{_esc(r)}</li>" for r in s["reconstructed"]) + "</ul>")
    if s.get("notes"):
        parts.append("<h3>Notes</h3><ul class='notes'>"
                     + "".join(f"<li>{_esc(r)}</li>" for r in s["notes"]) + "</ul>")
    if s.get("trajectories"):
        parts.append("<p>Data: " + ", ".join(
            f'<a href="{_esc(name)}/{_esc(t)}">{_esc(t)}</a>' for t in s["trajectories"]) + "</p>")
    cfg = json.dumps(s.get("config", {}), indent=1, default=str)
    parts.append(f"<details><summary>configuration and versions</summary><pre>{_esc(cfg)}\n"
                 f"{_esc(json.dumps(s.get('versions', {})))}</pre></details>")
    return "\n".join(parts)


def _overview(summaries: Sequence[dict[str, Any]]) -> str:
    rows = []
    for s in summaries:
        n = _counts(s)
        name = _esc(s["name"])
        rows.append(f'<tr><td><a href="#{name}">{name}</a><br><small>{_esc(s.get("title", ""))}</small></td>'
                    f'<td class="n c-pass">{n["pass"]}</td><td class="n c-finding">{n["finding"]}</td>'
                    f'<td class="n c-fail">{n["fail"]}</td></tr>')
        items = []
        for c in s.get("claims", []):
            v = verdict_of(c)
            link = f'<a href="#{_anchor(c["id"])}">{_esc(c["id"])}</a>'
            if v == "finding":
                summ = (c.get("finding_parts") or {}).get("summary") or c.get("finding") or ""
                items.append(f'<li><span class="c-finding">finding</span> {link}: {_esc(summ)}</li>')
            elif v == "fail":
                why = ("stale finding: the claim now holds" if c.get("stale_finding")
                       else "the prediction does not hold: predicted "
                       f"{_short(c.get('predicted'))}, measured {_short(c.get('measured'))}")
                if c.get("statement"):  # what was compared, so the line explains itself
                    why += f". {c['statement']}"
                items.append(f'<li><span class="c-fail">fail</span> {link}: {_esc(why)}</li>')
        if s.get("error"):
            items.append(f'<li><span class="c-fail">error</span>: {_esc(s["error"])}</li>')
        if items:
            rows.append(f'<tr><td colspan="4"><ul class="model-findings">{"".join(items)}</ul></td></tr>')
    return ("<table><tr><th>model</th><th>pass</th><th>finding</th><th>fail</th></tr>"
            + "".join(rows) + "</table>")


def write_index(out_dir: Path, summaries: Sequence[dict[str, Any]] | None = None) -> Path:
    """Write ``OUT/index.html`` atomically (figures embedded, so the page stands alone)."""
    out_dir = Path(out_dir)
    if summaries is None:
        summaries = load_summaries(out_dir)
    tot = {"pass": 0, "finding": 0, "fail": 0}
    for s in summaries:
        for k, v in _counts(s).items():
            tot[k] += v
    errors = sum(1 for s in summaries if s.get("error"))
    body = ("<h1>dynamics verification report</h1>"
            f"<p><span class='c-pass'>{tot['pass']} pass</span>, <span class='c-finding'>{tot['finding']} "
            f"findings</span>, <span class='c-fail'>{tot['fail']} fail</span>"
            + (f", <span class='c-fail'>{errors} model error(s)</span>" if errors else "")
            + f" across {len(summaries)} model(s).</p>"
            "<p><small>A <b>pass</b> holds within its tolerance; a <b>finding</b> does not hold, and "
            "this is known and explained (what the numbers show, what of our measurement was ruled "
            "out, and whether it bears on the paper or only on our reconstruction); a <b>fail</b> "
            "does not hold unexpectedly, or is a finding whose claim now holds (stale). Source tags: "
            "<span class='tag paper'>paper</span> stated by the paper, <span class='tag reconstruction'>"
            "reconstruction</span> a detail we reconstructed, <span class='tag derived'>derived</span> "
            "our derivation or another paper's result, <span class='tag calibration'>calibration</span> "
            "a model with a closed form.</small></p>"
            + _overview(summaries)
            + "\n".join(_model_section(out_dir, s) for s in summaries))
    page = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>dynamics report</title><style>{_CSS}</style></head><body>{body}</body></html>")
    path = out_dir / "index.html"
    tmp = out_dir / f".index.html.{os.getpid()}.tmp"
    try:
        tmp.write_text(page)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


# --------------------------------------------------------------------------- layout check
_PROBE = """<script>
window.addEventListener('load', function () {
  var W = document.documentElement.clientWidth, bad = [];
  document.querySelectorAll('body *').forEach(function (e) {
    var r = e.getBoundingClientRect();
    if (r.width > 0 && r.right > W + 1) bad.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
        + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ')[0] : '')
        + ' right=' + Math.round(r.right));
  });
  var p = document.createElement('pre'); p.id = 'layout-probe';
  p.textContent = JSON.stringify({viewport: W, scrollWidth: document.documentElement.scrollWidth,
                                  overflowing: bad.slice(0, 20), count: bad.length});
  document.body.appendChild(p);
});
</script>"""


def find_chromium() -> str | None:
    """The path of a Chromium executable, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _chromium(args: list[str], chromium: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=180)


def layout_problems(index_html: Path, *, width: int = 1280, screenshot: Path | None = None,
                    chromium: str | None = None) -> list[str]:
    """Render ``index_html`` in headless Chromium at ``width`` px and list what overflows
    horizontally (empty when nothing does). Optionally save a screenshot of the top of the page.

    Raises ``RuntimeError`` when no Chromium is found or it does not render the page.
    """
    chromium = chromium or find_chromium()
    if chromium is None:
        raise RuntimeError("no Chromium found (Debian: apt-get install chromium)")
    index_html = Path(index_html).resolve()
    probe = index_html.with_name(f".layout-probe.{os.getpid()}.html")
    probe.write_text(index_html.read_text().replace("</body>", _PROBE + "</body>", 1))
    try:
        r = _chromium([f"--window-size={width},1000", "--virtual-time-budget=10000", "--dump-dom",
                       probe.as_uri()], chromium)
        m = re.search(r'<pre id="layout-probe">(.*?)</pre>', r.stdout, re.S)
        if m is None:
            raise RuntimeError(f"Chromium did not render {index_html} (exit {r.returncode}): {r.stderr[-500:]}")
        res = json.loads(html.unescape(m.group(1)))
        if screenshot is not None:
            _chromium([f"--window-size={width},1600", f"--screenshot={Path(screenshot).resolve()}",
                       index_html.as_uri()], chromium)
    finally:
        probe.unlink(missing_ok=True)
    problems = list(res["overflowing"])
    if res["scrollWidth"] > res["viewport"] + 1:
        problems.insert(0, f"page is {res['scrollWidth']} px wide in a {res['viewport']} px viewport")
    return problems
