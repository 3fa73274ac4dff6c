"""The browsable report: one self-contained ``index.html`` over every model's summary."""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["write_index", "load_summaries"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
h1{margin-bottom:.2em} h2{margin-top:2em;border-bottom:2px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;width:100%;font-size:.9em;margin:1em 0}
th,td{border:1px solid #ddd;padding:.35em .5em;vertical-align:top;text-align:left}
th{background:#f4f4f4} td.num{font-family:ui-monospace,monospace;white-space:nowrap}
.pass{color:#0a7d2c;font-weight:700} .fail{color:#c0151b;font-weight:700}
.tag{font-size:.75em;padding:.1em .4em;border-radius:3px;background:#eef;color:#335}
.tag.reconstruction{background:#fff3d6;color:#7a5200}
figure{display:inline-block;margin:.5em;vertical-align:top;max-width:48%}
figure img{max-width:100%;border:1px solid #eee} figcaption{font-size:.8em;color:#555}
.summary{font-size:1.1em} .notes li{margin:.3em 0} .err{background:#fee;padding:.5em;border:1px solid #c0151b}
"""


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.6g}"
    if isinstance(x, list):
        if len(x) > 8:
            return f"[{', '.join(_fmt(v) for v in x[:4])}, ... ({len(x)} values)]"
        return "[" + ", ".join(_fmt(v) for v in x) + "]"
    return html.escape(str(x))


def load_summaries(out_dir: Path) -> list[dict[str, Any]]:
    """Every ``OUT/*/summary.json``, sorted by name."""
    out = []
    for p in sorted(Path(out_dir).glob("*/summary.json")):
        out.append(json.loads(p.read_text()))
    return out


def _model_section(out_dir: Path, s: dict[str, Any]) -> str:
    name = s["name"]
    claims = s.get("claims", [])
    n_pass = sum(1 for c in claims if c.get("passed"))
    status = "pass" if s.get("passed") else "fail"
    parts = [f'<h2 id="{html.escape(name)}">{html.escape(name)}: {html.escape(s.get("title", ""))}</h2>',
             f'<p class="summary"><span class="{status}">{status.upper()}</span> &mdash; '
             f'{n_pass} of {len(claims)} claims pass; {s.get("timings_s", {}).get("total", 0):.1f} s</p>']
    if s.get("error"):
        parts.append(f'<p class="err">Error: {html.escape(str(s["error"]))}</p>')
    parts.append("<table><tr><th>verdict</th><th>claim</th><th>statement</th><th>predicted</th>"
                 "<th>measured</th><th>tolerance</th><th>why this tolerance</th></tr>")
    for c in claims:
        v = "pass" if c.get("passed") else "fail"
        src = c.get("source", "paper")
        rel = " (rel.)" if c.get("relative") else ""
        parts.append(
            f'<tr><td class="{v}">{v.upper()}</td><td>{html.escape(c["id"])}<br>'
            f'<span class="tag {html.escape(src)}">{html.escape(src)}</span></td>'
            f'<td>{html.escape(c["statement"])}</td><td class="num">{_fmt(c["predicted"])}</td>'
            f'<td class="num">{_fmt(c["measured"])}</td><td class="num">{_fmt(c["tolerance"])}{rel}</td>'
            f'<td>{html.escape(c["why"])}</td></tr>')
    parts.append("</table>")
    if s.get("reconstructed"):
        parts.append("<p><b>Reconstructed (not the paper's text):</b></p><ul class='notes'>"
                     + "".join(f"<li>{html.escape(r)}</li>" for r in s["reconstructed"]) + "</ul>")
    if s.get("notes"):
        parts.append("<p><b>Notes:</b></p><ul class='notes'>"
                     + "".join(f"<li>{html.escape(r)}</li>" for r in s["notes"]) + "</ul>")
    for fig in s.get("figures", []):
        p = out_dir / name / fig
        if p.exists():
            b64 = base64.b64encode(p.read_bytes()).decode()
            parts.append(f'<figure><img alt="{html.escape(fig)}" src="data:image/png;base64,{b64}">'
                         f"<figcaption>{html.escape(fig)}</figcaption></figure>")
    if s.get("trajectories"):
        parts.append("<p>Data: " + ", ".join(
            f'<a href="{html.escape(name)}/{html.escape(t)}">{html.escape(t)}</a>' for t in s["trajectories"]) + "</p>")
    cfg = json.dumps(s.get("config", {}), indent=1)
    parts.append(f"<details><summary>configuration and versions</summary><pre>{html.escape(cfg)}\n"
                 f"{html.escape(json.dumps(s.get('versions', {})))}</pre></details>")
    return "\n".join(parts)


def write_index(out_dir: Path, summaries: Sequence[dict[str, Any]] | None = None) -> Path:
    """Write ``OUT/index.html`` (figures embedded, so the page stands alone)."""
    out_dir = Path(out_dir)
    if summaries is None:
        summaries = load_summaries(out_dir)
    total = sum(len(s.get("claims", [])) for s in summaries)
    passed = sum(1 for s in summaries for c in s.get("claims", []) if c.get("passed"))
    rows = "".join(
        f'<tr><td><a href="#{html.escape(s["name"])}">{html.escape(s["name"])}</a></td>'
        f'<td>{html.escape(s.get("title", ""))}</td>'
        f'<td class="{"pass" if s.get("passed") else "fail"}">{"PASS" if s.get("passed") else "FAIL"}</td>'
        f'<td>{sum(1 for c in s.get("claims", []) if c.get("passed"))}/{len(s.get("claims", []))}</td></tr>'
        for s in summaries)
    body = (f"<h1>dynamics verification report</h1><p class='summary'>{passed} of {total} claims pass "
            f"across {len(summaries)} model(s).</p><table><tr><th>model</th><th>title</th><th>verdict</th>"
            f"<th>claims</th></tr>{rows}</table>"
            + "\n".join(_model_section(out_dir, s) for s in summaries))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>dynamics report</title>"
            f"<style>{_CSS}</style></head><body>{body}</body></html>")
    path = out_dir / "index.html"
    tmp = out_dir / ".index.html.tmp"
    tmp.write_text(page)
    tmp.replace(path)
    return path
