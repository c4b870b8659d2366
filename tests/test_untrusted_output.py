"""What a peer sends reaches report.md as plain text (harness.report.markdown), and the declared Python
floor covers what the harness uses."""

from __future__ import annotations

import re
import tarfile
import tomllib
from pathlib import Path

from harness.report.blocks import Bullets, Code, Heading, Para, Table, Untrusted
from harness.report.markdown import to_markdown
from harness.report.topology import topology_blocks

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ["<img src=x onerror=alert(1)>", "![tracker](http://evil.example/t.png)", "[click](javascript:alert(1))",
           "a|b", "<!-- hidden", "<https://evil.example>", "**bold** `code` _em_ # heading"]


def _markdown(blocks) -> str:
    return to_markdown(blocks, ROOT)


def test_a_workers_host_facts_reach_the_report_as_plain_text():
    hosts = [{"name": HOSTILE[0], "hostname": HOSTILE[1], "cpu_model": HOSTILE[2], "cores": HOSTILE[3],
              "cpus_given": [0], "processes": HOSTILE[4], "locust": HOSTILE[5]}]
    text = _markdown(topology_blocks({"topology": {"loadgen_hosts": hosts, "master_bind": "127.0.0.1:5557"}}))
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert "<img" not in text and "](http" not in text and "](javascript" not in text and "<!--" not in text
    assert "<https" not in text
    cells = re.split(r"(?<!\\)\|", table[1])[1:-1]  # unescaped pipes only: the row keeps its 7 cells
    assert len(cells) == 7


def test_no_text_of_the_report_becomes_html_a_link_or_an_image():
    blocks = [Heading(HOSTILE[0]), Para("a worker said: " + HOSTILE[1]), Bullets([HOSTILE[2], HOSTILE[0]]),
              Table(["name", "error"], [[HOSTILE[5], HOSTILE[4]]])]
    text = _markdown(blocks)
    assert not re.search(r"<[A-Za-z/!?]", text), text
    assert not re.search(r"(?<!\\)\]\(", text), text


def test_the_harness_own_text_reads_the_same():
    own = [Para("express rss_idle_mb < fastapi's; CI [163–175] (94%)"), Table(["a"], [["**regression ✓ratio**"]])]
    assert _markdown(own) == ("express rss_idle_mb < fastapi's; CI [163–175] (94%)\n\n"
                              "| a |\n|---|\n| **regression ✓ratio** |\n")


def test_an_untrusted_value_is_shown_literally():
    text = _markdown([Table(["x"], [[Untrusted(HOSTILE[6])]])])
    assert r"\*\*bold\*\* \`code\` \_em\_ \# heading" in text


def test_a_code_block_cannot_be_closed_by_its_text():
    text = _markdown([Code("bench run --server-env X='```\n<script>'")])
    fence = text.split("sh\n", 1)[0]
    assert len(fence) >= 4 and text.rstrip().endswith(fence)


def test_the_declared_python_has_tarfiles_data_filter():
    """bench ab extracts a revision with tarfile's filter="data" (Python 3.11.4 and later)."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert declared == ">=3.11.4"
    assert hasattr(tarfile, "data_filter")  # this interpreter has it, as the floor says
