"""A document as a list of plain blocks (headings, paragraphs, tables, images), built once and rendered
by one small exporter per format (markdown.py, html.py), as hyperfine does. The report, compare.md and
the history table are all built of these."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class Untrusted(str):
    """Text the harness did not write (a worker's host name or CPU model, a request name, an error message):
    renderers show it as plain text, never as markup. A plain str that keeps the mark only while it is one
    value (a table cell); text composed of it is guarded by the renderers' rule for all text."""

    __slots__ = ()


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2
    anchor: str = ""


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: list[str]


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Image:
    path: Path  # absolute; renderers make it relative or embed it
    alt: str
    anchor: str


@dataclass(frozen=True)
class Ref:
    """A pointer to an image shown earlier."""

    title: str
    anchor: str


@dataclass(frozen=True)
class Code:
    text: str


Block = Heading | Para | Bullets | Table | Image | Ref | Code
