"""report.md from the report's blocks; images are linked by their path relative to the run directory.

Text may hold what a peer sent (a worker's host name, a request name, an error message). So no text
becomes raw HTML, an autolink, a link or an image, whatever it holds (`_text`: the harness's own text
uses none of them, so it reads the same), and an Untrusted value is shown literally (`_literal`).
"""

from __future__ import annotations

import re
from functools import singledispatch
from pathlib import Path

from harness.report.blocks import Block, Bullets, Code, Heading, Image, Para, Ref, Table, Untrusted

_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")  # where raw HTML (a tag, comment, declaration) or an autolink begins
_LINK = re.compile(r"\](?=[(\[:])")  # [text](url), ![alt](src), [text][ref], [ref]: url
_MARKUP = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def _text(text: str) -> str:
    """`text` with every start of raw HTML and every link or image made literal."""
    return _LINK.sub("\\\\]", _TAG_START.sub("&lt;", text))


def _literal(text: str) -> str:
    """`text` shown as it is: Markdown's punctuation backslash-escaped, HTML's specials as entities."""
    return _MARKUP.sub(r"\\\1", text.replace("&", "&amp;").replace("<", "&lt;"))


def _inline(text: str) -> str:
    return _literal(text) if isinstance(text, Untrusted) else _text(text)


def _cell(text: str) -> str:
    if isinstance(text, Untrusted):
        return _literal(text.replace("\n", " "))  # its | escaped with the rest
    return _text(text).replace("|", "\\|").replace("\n", " ")


@singledispatch
def _render(block: Block, base: Path) -> str:
    raise TypeError(f"no markdown for {type(block).__name__}")


@_render.register
def _(block: Heading, base: Path) -> str:
    return f"{'#' * block.level} {_inline(block.text)}"


@_render.register
def _(block: Para, base: Path) -> str:
    return _inline(block.text)


@_render.register
def _(block: Bullets, base: Path) -> str:
    return "\n".join(f"- {_inline(item)}" for item in block.items)


@_render.register
def _(block: Table, base: Path) -> str:
    lines = ["| " + " | ".join(_cell(h) for h in block.header) + " |", "|" + "---|" * len(block.header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in block.rows]
    return "\n".join(lines)


@_render.register
def _(block: Image, base: Path) -> str:
    return f'<a id="{block.anchor}"></a>\n\n![{block.alt}]({block.path.relative_to(base).as_posix()})'


@_render.register
def _(block: Ref, base: Path) -> str:
    return f"See the figure [{block.title}](#{block.anchor}) above."


@_render.register
def _(block: Code, base: Path) -> str:
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall("`+", block.text)), default=0))
    return f"{fence}sh\n{block.text}\n{fence}"  # longer than any run of backticks in the text: it cannot end early


def to_markdown(blocks: list[Block], base: Path) -> str:
    return "\n\n".join(_render(block, base) for block in blocks) + "\n"
