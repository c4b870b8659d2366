#!/usr/bin/env bash
# Add one stored run to a results branch, with the CI files of `bench compare` against the run before it and
# the history page of every run on the branch (docs/regression-tracking.md, "CI"). Run by the workflow's
# results-branch job on each push to main; tests/test_workflow.py runs it against a local bare repository.
#
#   scripts/publish-results.sh BRANCH RUN_DIR [REMOTE]
#
# The branch (created, with no history, when it does not exist) holds:
#   runs/<UTC time>-<commit>/   the run folder as stored (results.json, metrics.csv, samples.csv; no logs/)
#   ci/<the same name>/         bmf.json, benchmark-bigger.json, benchmark-smaller.json, junit.xml, compare.md/.json
#   history.html, history.json, history.csv   every figure's trend across runs/ (bench history)
# With GITHUB_TOKEN set, git authenticates with it (an extra header for this call only, never stored in
# .git/config). BENCH is the harness's command (default .venv/bin/bench).
set -euo pipefail
branch="${1:?usage: publish-results.sh BRANCH RUN_DIR [REMOTE]}"
run_dir="${2:?usage: publish-results.sh BRANCH RUN_DIR [REMOTE]}"
remote="${3:-origin}"
bench="${BENCH:-$PWD/.venv/bin/bench}"
[ -f "$run_dir/results.json" ] || { echo "publish-results: no results.json in $run_dir" >&2; exit 2; }
git check-ref-format --branch "$branch" >/dev/null

auth=()
if [ -n "${GITHUB_TOKEN:-}" ]; then
    auth=(-c "http.extraheader=AUTHORIZATION: basic $(printf 'x-access-token:%s' "$GITHUB_TOKEN" | base64 -w0)")
fi
work="$(mktemp -d)"
trap 'git worktree remove --force "$work/branch" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

if git "${auth[@]}" fetch --quiet --depth=1 "$remote" "+refs/heads/$branch:refs/remotes/$remote/$branch" 2>/dev/null; then
    git worktree add --quiet -B "$branch" "$work/branch" "$remote/$branch"
else
    git worktree add --quiet --detach "$work/branch"
    git -C "$work/branch" checkout --quiet --orphan "$branch"
    git -C "$work/branch" rm -r -q -f --ignore-unmatch .
    git -C "$work/branch" clean -fdxq
fi
published="$work/branch"

commit="$(python3 -c 'import json, sys; print(((json.load(open(sys.argv[1])).get("environment") or {}).get("git") or {}).get("commit") or "unknown")' "$run_dir/results.json")"
name="$(date -u +%Y%m%dT%H%M%SZ)-${commit:0:12}"
mkdir -p "$published/runs"
previous="$(find "$published/runs" -mindepth 2 -maxdepth 2 -name results.json -printf '%h\n' | sort | tail -n 1)"
cp -r "$run_dir" "$published/runs/$name"
rm -rf "$published/runs/$name/logs"
printf 'runs/index.sqlite\n' > "$published/.gitignore"  # the history's index: rebuilt from runs/ by each reader

if [ -n "$previous" ]; then
    code=0
    "$bench" compare "$previous" "$published/runs/$name" --out "$published/ci/$name" --quiet || code=$?
    if [ "$code" -ge 2 ]; then  # 0 no regression, 1 a regression: both write the files
        echo "publish-results: no CI files for $name: bench compare exited $code (see its line above)" >&2
    fi
fi
"$bench" history "$published/runs" --out "$published" --last "${HISTORY_RUNS:-50}" --quiet  # the page: the last 50 runs

git -C "$published" add -A
git -C "$published" -c user.name="bench results" -c user.email="bench-results@users.noreply.github.com" \
    commit --quiet -m "bench: add run $name"
git -C "$published" "${auth[@]}" push --quiet "$remote" "HEAD:refs/heads/$branch"
echo "publish-results: added runs/$name to $branch"
