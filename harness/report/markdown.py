"""report.md from the report's blocks; images are linked by their path relative to the run directory."""

from __future__ import annotations

from functools import singledispatch
from pathlib import Path

from harness.report.blocks import Block, Bullets, Code, Heading, Image, Para, Ref, Table


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


@singledispatch
def _render(block: Block, base: Path) -> str:
    raise TypeError(f"no markdown for {type(block).__name__}")


@_render.register
def _(block: Heading, base: Path) -> str:
    return f"{'#' * block.level} {block.text}"


@_render.register
def _(block: Para, base: Path) -> str:
    return block.text


@_render.register
def _(block: Bullets, base: Path) -> str:
    return "\n".join(f"- {item}" for item in block.items)


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
    return f"```sh\n{block.text}\n```"


def to_markdown(blocks: list[Block], base: Path) -> str:
    return "\n\n".join(_render(block, base) for block in blocks) + "\n"
