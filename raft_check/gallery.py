"""``counterexamples/index.html``: the gallery ``check defend`` writes, one row per rule with a link to its viewer."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from models import tweaks

if TYPE_CHECKING:
    from raft_check.rows import Row

STYLE = """
body { font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:#1d2330; margin:24px; background:#f6f7f9; }
table { border-collapse:collapse; background:#fff; }
th, td { border:1px solid #d7dbe3; padding:6px 10px; text-align:left; vertical-align:top; }
th { background:#eef2f8; }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
.holds { color:#2f9e57; font-weight:600; }
.violated { color:#d62d3a; font-weight:600; }
.mismatch { background:#fdecee; }
code { font-size:12px; }
td.bounds code { white-space:nowrap; }
.violated small { color:#6b7280; font-weight:400; }
"""


def _cell(text: str) -> str:
    return html.escape(text)


def write_index(out: Path, rows: Sequence[Row], not_run: Sequence[tweaks.Tweak]) -> Path:
    """Write ``out/index.html``; links are relative, so the folder can be moved or opened from disk."""
    body = []
    for r in rows:
        page = next((f for f in r.files if f.suffix == ".html"), None)
        link = f'<a href="{html.escape(page.relative_to(out).as_posix() if page.is_relative_to(out) else str(page))}">open the viewer</a>' if page else ""
        verdict = "holds" if r.actual == "holds" else f"{r.actual} violated" if r.trace_length is not None else r.actual
        cls = "holds" if r.actual == "holds" else "violated"
        mism = "" if r.ok else f" (expected {r.expected})"
        body.append(f'<tr class="{"" if r.ok else "mismatch"}"><td><code>{_cell(r.name)}</code></td><td>{_cell(r.rule)}</td>'
                    f'<td class="bounds"><code>{_cell(_bounds(r.bounds))}</code></td><td class="{cls}">{_cell(verdict + mism)}</td>'
                    f'<td class="num">{"" if r.trace_length is None else r.trace_length}</td><td>{link}</td></tr>')
    for t in not_run:
        pages = sorted((out / t.name).glob("*.html"))
        link, length = "", ""
        if pages:
            link = f'<a href="{html.escape(pages[0].relative_to(out).as_posix())}">open the viewer</a>'
            itf = pages[0].with_name(pages[0].name.removesuffix(".html") + ".itf.json")
            if itf.exists():
                length = str(len(json.loads(itf.read_text())["states"]) - 1)
        why = f"not run by defend (the search takes {t.search_time}); committed trace" if t.search_time else "not run by defend; from a replayed execution"
        body.append(f'<tr><td><code>{_cell(t.name)}</code></td><td>{_cell(t.rule)}</td><td class="bounds"><code>{_cell(_bounds(t.bounds))}</code></td>'
                    f'<td class="violated">{_cell(t.expected)} violated <small>({_cell(why)})</small></td>'
                    f'<td class="num">{length}</td><td>{link}</td></tr>')
    text = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<link rel="icon" href="data:,">\n'
        f"<title>Defending Raft: one counterexample per rule</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        "<h1>Defending Raft: one counterexample per rule</h1>\n"
        "<p>Written by <code>check defend</code>. Each row removes or changes one rule of the protocol "
        "(<code>check --list-tweaks</code>) and gives the checker's verdict at the row's bounds; an unsafe change links "
        "to the shortest counterexample in the trace viewer.</p>\n"
        '<table>\n<tr><th>tweak</th><th>rule it changes</th><th>bounds</th><th>verdict</th><th>trace length</th><th>viewer</th></tr>\n'
        + "\n".join(body) + "\n</table>\n</body>\n</html>\n"
    )
    index = out / "index.html"
    index.write_text(text)
    return index


def _bounds(b: tuple[int, int, int]) -> str:
    return f"--servers {b[0]} --max-term {b[1]}" + (f" --max-log {b[2]}" if b[2] else "")
