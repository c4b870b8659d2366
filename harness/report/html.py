"""report.html from the report's blocks: one self-contained file, images embedded as base64 PNG.

A Content-Security-Policy forbids every fetch but data: images and the inline style, so a browser
loads nothing from anywhere (tests/test_report_browser.py checks it in Chromium); wide tables scroll
inside their own box, so the page reads at a phone's width. Figures drawn half a page wide, one after
another, share a row (the report's first screen: the verdicts beside the ratios), and stack on a phone.
"""

from __future__ import annotations

import base64
import struct
from functools import singledispatch
from html import escape

from harness.report.blocks import Block, Bullets, Code, Heading, Image, Para, Ref, Table

VERDICT_CLASS = {"supported": "ok", "partly supported": "part", "refuted": "bad", "inconclusive": "doubt",
                 "not checkable": "na", "by inspection": "read"}
STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; max-width: 78rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
.wide { overflow-x: auto; margin: 1rem 0; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; text-align: left; }
th { background: #f3f3f3; }
td.ok { background: #d9f2d9; } td.part { background: #e8f4c8; }
td.bad { background: #f8d0cc; } td.doubt { background: #fdf0c2; }
td.na { background: #eee; color: #555; } td.read { background: #dde8f6; font-style: italic; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.5rem 0 1rem; }
pre { background: #f6f6f6; padding: 0.8rem; overflow-x: auto; }
figure { margin: 0; }
.beside { display: flex; flex-wrap: wrap; gap: 0 1rem; align-items: flex-start; }
.beside figure { flex: 1 1 28rem; min-width: 0; }
.beside img { margin-bottom: 0.2rem; }
@media (max-width: 40rem) { body { margin: 1rem auto; font-size: 14px; } td, th { min-width: 4rem; } }
"""
# nothing may be fetched: images are data: URIs, the style is inline; no script at all
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


@singledispatch
def _render(block: Block) -> str:
    raise TypeError(f"no HTML for {type(block).__name__}")


@_render.register
def _(block: Heading) -> str:
    anchor = f' id="{escape(block.anchor)}"' if block.anchor else ""
    return f"<h{block.level}{anchor}>{escape(block.text)}</h{block.level}>"


@_render.register
def _(block: Para) -> str:
    return f"<p>{escape(block.text)}</p>"


@_render.register
def _(block: Bullets) -> str:
    return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in block.items) + "</ul>"


def _td(text: str) -> str:
    css = VERDICT_CLASS.get(text)
    return f'<td class="{css}">{escape(text)}</td>' if css else f"<td>{escape(text)}</td>"


@_render.register
def _(block: Table) -> str:
    head = "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in block.header) + "</tr>"
    rows = "".join("<tr>" + "".join(_td(c) for c in row) + "</tr>" for row in block.rows)
    return f'<div class="wide"><table>{head}{rows}</table></div>'


@_render.register
def _(block: Image) -> str:
    data = base64.b64encode(block.path.read_bytes()).decode("ascii")
    return (f'<figure id="{escape(block.anchor)}"><img alt="{escape(block.alt)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{escape(block.alt)}</figcaption></figure>')


@_render.register
def _(block: Ref) -> str:
    return f'<p>See the figure <a href="#{escape(block.anchor)}">{escape(block.title)}</a> above.</p>'


@_render.register
def _(block: Code) -> str:
    return f"<pre><code>{escape(block.text)}</code></pre>"


HALF_PAGE_PX = 800  # a PNG at most this wide is drawn for half the page (harness.report.plots.HALF_WIDTH_IN)


def _half_page(block: Block) -> bool:
    # a PNG's width is the first field of its IHDR chunk, right after the 8-byte signature and chunk header
    return isinstance(block, Image) and struct.unpack(">I", block.path.read_bytes()[16:20])[0] <= HALF_PAGE_PX


def _rows(blocks: list[Block]) -> list[str]:
    """Each block's HTML; consecutive half-page figures wrapped in one row."""
    out: list[str] = []
    run: list[str] = []
    for block in [*blocks, Para("")]:  # a last non-figure ends the final run
        if _half_page(block):
            run.append(_render(block))
            continue
        if run:
            out.append(f'<div class="beside">{"".join(run)}</div>' if len(run) > 1 else run[0])
            run = []
        out.append(_render(block))
    return out[:-1]


def to_html(blocks: list[Block], title: str) -> str:
    body = "\n".join(_rows(blocks))
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")
