"""report.html: one self-contained file per run folder, for a reviewer to open with no network.

It is made from the run's own report.md (every task writes one) and report.json's headline, so it holds
exactly what the run measured: the headline against the trivial baseline first, then the report's
tables and the figures, inlined as data: URIs. No script, font, stylesheet or image is fetched from
anywhere. markdown-it-py (already installed with rich) turns the markdown into HTML.
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from vitalens import DISCLAIMER

REPORT_HTML = "report.html"
STYLE = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d232a}
.disclaimer{background:#fff4e5;border-left:4px solid #d9822b;padding:.6rem 1rem;font-weight:600}
.headline{border:2px solid #2b6cb0;border-radius:8px;padding:.4rem 1rem;margin:1rem 0}
table{border-collapse:collapse;margin:.8rem 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #cbd2d9;padding:.25rem .6rem;text-align:left}
th{background:#f0f4f8}
img{max-width:100%;height:auto;border:1px solid #e4e7eb;margin:.4rem 0}
code{background:#f0f4f8;padding:0 .2rem}
"""
_IMAGE = re.compile(r'<img src="([^"]+)"')


def render_run_html(run_dir: str | Path) -> Path:
    """Write `run_dir/report.html` from its report.md and report.json; returns its path."""
    run_dir = Path(run_dir)
    markdown_file = run_dir / "report.md"
    if not markdown_file.is_file():
        raise FileNotFoundError(f"{run_dir}: no report.md here; pass a folder written by `vitalens train` or `vitalens evaluate`.")
    report = json.loads((run_dir / "report.json").read_text()) if (run_dir / "report.json").is_file() else {}
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown_file.read_text())
    body = inline_images(body, run_dir)
    title = html.escape(f"{report.get('task', 'vitalens')} — run report")
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{title}</title><style>{STYLE}</style></head><body>"
            f'<p class="disclaimer">{html.escape(report.get("disclaimer", DISCLAIMER))}</p>{_headline(report)}{body}</body></html>\n')  # fmt: skip
    out = run_dir / REPORT_HTML
    out.write_text(page)
    return out


def _headline(report: dict[str, Any]) -> str:
    """The run's headline rows (metric, model, baseline) in a box of their own, before anything else."""
    rows = report.get("headline") or []
    if not rows:
        return ""
    cells = "".join(
        f"<tr><td>{html.escape(str(r.get('metric')))}</td><td><b>{_number(r.get('model'))}</b></td>"
        f"<td>{_number(r.get('baseline'))}</td><td>{html.escape(str(r.get('baseline_name', '')))}</td></tr>"
        for r in rows
    )
    validation = html.escape(str(report.get("validation", "")))
    return (f'<section class="headline"><h2>Headline</h2><p>Validation: {validation}</p><table><tr><th>metric</th><th>model</th>'
            f"<th>baseline</th><th>baseline is</th></tr>{cells}</table></section>")  # fmt: skip


def _number(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else html.escape("–" if value is None else str(value))


def inline_images(page: str, folder: Path) -> str:
    """Every <img src> of `page` that names a file inside `folder` as a data: URI (any other src is emptied)."""
    return _IMAGE.sub(lambda match: f'<img src="{_data_uri(folder, match.group(1))}"', page)


def _data_uri(run_dir: Path, source: str) -> str:
    """A figure of the run folder as a data: URI; anything else (outside the folder, missing) is dropped,
    so the page can never load a file from elsewhere."""
    path = (run_dir / html.unescape(source)).resolve()
    if not path.is_file() or run_dir.resolve() not in path.parents:
        return ""
    kind = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "svg": "image/svg+xml"}.get(path.suffix.lower().lstrip("."))
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode()}" if kind else ""
