#!/usr/bin/env python3
"""Post `bench ab`'s report (ab.md) on a pull request as one comment, updated on every push.

    GITHUB_TOKEN=... scripts/pr-comment.py --repo OWNER/NAME --pr 12 --report ab-reports/ab.md \\
        --verdict regression|no-regression|not-judged|failed [--run-url URL]

The comment is found again by a hidden marker in its body (MARKER), written by the same account
(--author, default the workflow token's github-actions[bot]): the first such comment is edited (PATCH),
else one is created (POST). The body starts with the verdict, which is also the `bench` job's status
(a regression fails it), and ends with a link to the run. GitHub's REST API, the issues endpoints (a
pull request's conversation comments are issue comments); the token needs `pull-requests: write`.

Standard library only (urllib), so it runs before any install and is tested against a local fake of
the API (tests/test_workflow.py). Exit codes: 0 done, 1 the API refused or failed (one line on stderr),
2 bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

MARKER = "<!-- bench-ab-report: updated on each push by scripts/pr-comment.py -->"
MAX_BODY = 65536  # GitHub's limit on a comment's body, in characters
API = "https://api.github.com"
HEADLINES = {
    "regression": "### ❌ bench ab: a gated figure regressed (the `bench` job fails)",
    "no-regression": "### ✅ bench ab: no regression",
    "not-judged": "### ⚠️ bench ab could not judge this pull request (exit 2): the reason is in the job's summary",
    "failed": "### ⚠️ The benchmark did not reach a verdict (the `bench` job failed or was cancelled before it)",
}
TRUNCATED = "\n\n… (cut to fit a comment: the whole ab.md is in the run's artifact)\n"


def comment_body(report: str | None, verdict: str, run_url: str | None = None) -> str:
    """The comment: marker, verdict, the report (cut to fit), a link to the run."""
    head = f"{MARKER}\n{HEADLINES[verdict]}\n\n"
    tail = f"\n\n---\n[The run, its log and artifact]({run_url})\n" if run_url else "\n"
    text = report.strip() if report and report.strip() else "_bench ab wrote no report._"
    room = MAX_BODY - len(head) - len(tail)
    if len(text) > room:
        text = text[:room - len(TRUNCATED)] + TRUNCATED
    return head + text + tail


class ApiError(Exception):
    pass


class GitHub:
    """The few REST calls needed, with the token; `api` is the API's root (a local fake in the tests)."""

    def __init__(self, token: str, api: str = API) -> None:
        self.token, self.api = token, api.rstrip("/")
        self.opener = urllib.request.build_opener()

    def call(self, method: str, url: str, body: dict[str, Any] | None = None) -> tuple[Any, dict[str, str]]:
        if not url.startswith(("http://", "https://")):
            url = self.api + url
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "fastapi-express-bench-pr-comment",
            **({"Content-Type": "application/json"} if data is not None else {})})
        try:
            with self.opener.open(request, timeout=30) as response:
                payload = response.read()
                return (json.loads(payload) if payload else None), dict(response.headers)
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            with contextlib.suppress(ValueError, AttributeError):  # not JSON, or not an object: the text itself
                detail = json.loads(detail).get("message", detail)
            raise ApiError(f"HTTP {exc.code} on {method} {url}: {' '.join(str(detail).split())[:300]}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise ApiError(f"{method} {url}: {exc}") from None


def _next_page(headers: dict[str, str]) -> str | None:
    link = next((v for k, v in headers.items() if k.lower() == "link"), "")
    found = re.search(r'<([^>]+)>;\s*rel="next"', link)
    return found.group(1) if found else None


def find_comment(github: GitHub, repo: str, pr: int, author: str | None) -> dict[str, Any] | None:
    """The first comment on the pull request with the marker, by `author` (any author if None)."""
    url: str | None = f"/repos/{repo}/issues/{pr}/comments?per_page=100"
    while url:
        comments, headers = github.call("GET", url)
        for comment in comments:
            if MARKER in (comment.get("body") or "") and (author is None or
                                                          (comment.get("user") or {}).get("login") == author):
                return comment
        url = _next_page(headers)
    return None


def upsert(github: GitHub, repo: str, pr: int, body: str, author: str | None) -> tuple[str, dict[str, Any]]:
    """("updated" | "created", the comment)."""
    found = find_comment(github, repo, pr, author)
    if found is not None:
        comment, _ = github.call("PATCH", f"/repos/{repo}/issues/comments/{found['id']}", {"body": body})
        return "updated", comment
    comment, _ = github.call("POST", f"/repos/{repo}/issues/{pr}/comments", {"body": body})
    return "created", comment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", required=True, help="OWNER/NAME")
    parser.add_argument("--pr", type=int, required=True, help="the pull request's number")
    parser.add_argument("--report", type=Path, help="ab.md (missing or absent: the comment says so)")
    parser.add_argument("--verdict", required=True, choices=list(HEADLINES))
    parser.add_argument("--run-url", help="the workflow run, linked at the end")
    parser.add_argument("--api", default=os.environ.get("GITHUB_API_URL", API), help="the REST API's root")
    parser.add_argument("--author", default="github-actions[bot]",
                        help="only a comment of this account is updated ('' for any)")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", args.repo):
        parser.error(f"--repo: expected OWNER/NAME, got {args.repo!r}")
    token = os.environ.get("GITHUB_TOKEN", "")
    if not token:
        parser.error("no GITHUB_TOKEN in the environment")
    report = args.report.read_text(errors="replace") if args.report and args.report.is_file() else None
    body = comment_body(report, args.verdict, args.run_url)
    try:
        action, comment = upsert(GitHub(token, args.api), args.repo, args.pr, body, args.author or None)
    except ApiError as exc:
        print(f"pr-comment: error: {exc}", file=sys.stderr)
        return 1
    print(f"pr-comment: {action} comment {comment.get('id')}: {comment.get('html_url', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
