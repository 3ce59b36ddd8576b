"""The shell steps of the scheduled drift check, shared by the GitHub workflow and the GitLab job.

They are constant POSIX ``sh`` text: nothing from the spec is pasted into them. What varies (the overlay, the
kubectl minor, the paths) reaches them as environment variables, which ``drift_workflow`` sets through a YAML
emitter. Each step runs under ``sh -e`` (GitHub: ``bash -e``; GitLab joins ``before_script`` and ``script``
into one shell with ``set -e``), so every command that may fail on purpose is guarded.

The kubeconfig the job gets is the overlay's own, so drift runs with ``--current-context``: the spec's
``overlays.<env>.context`` names a context of the user's kubeconfig, which that file need not have.

Variables they read: ``KUBECTL_MINOR`` (``1.31``), ``XDG_CACHE_HOME``, ``OVERLAY``, ``DRIFT_REPO`` (the tree's
directory from the repository root, where the steps run; unset for a tree at the root); GitHub's
``GITHUB_OUTPUT``, ``GITHUB_PATH``, ``GITHUB_STEP_SUMMARY``, ``RUNNER_TEMP``; GitLab's ``CI_API_V4_URL``,
``CI_PROJECT_ID``, ``CI_JOB_URL`` and the optional ``DRIFT_ISSUE_TOKEN``.
"""

from __future__ import annotations

# The newest patch release of the chosen minor (dl.k8s.io publishes stable-1.N.txt per minor): it carries the
# security fixes that a fixed vX.Y.0 lacks, and needs no regeneration when a patch is released.
RESOLVE_KUBECTL = """\
kubectl_version=$(curl -fsSL "https://dl.k8s.io/release/stable-$KUBECTL_MINOR.txt")
case "$kubectl_version" in
  v1.[0-9]*.[0-9]*) ;;
  *) echo "no kubectl release found for Kubernetes $KUBECTL_MINOR (dl.k8s.io answered: $kubectl_version)" >&2
     exit 2 ;;
esac
"""

# The binary is kept in the cached directory: gitops-gen's render cache is keyed by the kustomize binary (its
# path, size and time), so a fresh download on every run would never hit the cache.
INSTALL_KUBECTL = """\
case "$(uname -m)" in
  aarch64|arm64) kubectl_arch=arm64 ;;
  *) kubectl_arch=amd64 ;;
esac
kubectl_dir="$XDG_CACHE_HOME/gitops-gen/kubectl/$kubectl_version-$kubectl_arch"
kubectl_url="https://dl.k8s.io/release/$kubectl_version/bin/linux/$kubectl_arch/kubectl"
kubectl_sum=$(curl -fsSL "$kubectl_url.sha256")
if ! { [ -x "$kubectl_dir/kubectl" ] && echo "$kubectl_sum  $kubectl_dir/kubectl" | sha256sum -c - >/dev/null 2>&1; }
then
  mkdir -p "$kubectl_dir"
  curl -fsSL -o "$kubectl_dir/kubectl.download" "$kubectl_url"
  if ! echo "$kubectl_sum  $kubectl_dir/kubectl.download" | sha256sum -c - >/dev/null 2>&1; then
    rm -f "$kubectl_dir/kubectl.download"
    echo "kubectl $kubectl_version: the download does not match its published sha256" >&2
    exit 2
  fi
  chmod +x "$kubectl_dir/kubectl.download"
  mv "$kubectl_dir/kubectl.download" "$kubectl_dir/kubectl"
fi
"""

# After the drift command: $code, $report (Markdown), $errors (its stderr). Sets $outcome and writes the text
# people read ($report is replaced by the error's reason on an error). Exit 1 with no report is not drift:
# only a report says so.
CLASSIFY = """\
if [ "$code" -eq 0 ] && [ -s "$report" ]; then
  outcome=in-sync
elif [ "$code" -eq 1 ] && [ -s "$report" ]; then
  outcome=drift
else
  outcome=error
  if [ "$code" -lt 2 ]; then code=2; fi
  {
    echo "## Drift: overlay \\`$OVERLAY\\` — error (exit $code)"
    echo
    echo "gitops-gen drift could not compare the cluster with git:"
    echo
    echo '```'
    tail -n 5 "$errors"
    echo '```'
  } > "$report"
fi
"""

GITHUB_PREPARE = """\
echo "XDG_CACHE_HOME=$HOME/.cache" >> "$GITHUB_ENV"
echo "tree=$(git rev-parse 'HEAD^{tree}')" >> "$GITHUB_OUTPUT"
""" + RESOLVE_KUBECTL + """\
echo "kubectl=$kubectl_version" >> "$GITHUB_OUTPUT"
"""

GITHUB_INSTALL_KUBECTL = INSTALL_KUBECTL + """\
echo "$kubectl_dir" >> "$GITHUB_PATH"
"""

GITHUB_CHECK = """\
report="drift-$OVERLAY.md"
errors="drift-$OVERLAY.err"
umask 077
: > "$errors"
if [ -z "$KUBECONFIG_DATA" ]; then
  echo "the secret $KUBECONFIG_SECRET is not set: it must hold the kubeconfig of overlay $OVERLAY" > "$errors"
  code=2
else
  printf '%s' "$KUBECONFIG_DATA" > "$RUNNER_TEMP/kubeconfig"
  set +e
  gitops-gen drift --repo "${DRIFT_REPO:-.}" --overlay "$OVERLAY" --kubeconfig "$RUNNER_TEMP/kubeconfig" \\
    --current-context --output markdown --json-file "drift-$OVERLAY.json" > "$report" 2> "$errors"
  code=$?
  set -e
  rm -f "$RUNNER_TEMP/kubeconfig"
fi
cat "$errors" >&2
""" + CLASSIFY + """\
cat "$report" >> "$GITHUB_STEP_SUMMARY"
echo "code=$code" >> "$GITHUB_OUTPUT"
echo "outcome=$outcome" >> "$GITHUB_OUTPUT"
"""

# One open issue per overlay, found by its exact title. An error leaves it alone: it says nothing about drift.
GITHUB_ISSUE = """\
title="gitops-gen drift: ${DRIFT_REPO:+$DRIFT_REPO/}$OVERLAY"
number=$(gh issue list --state open --limit 1000 --json number,title \\
  --jq "first(.[] | select(.title == \\"$title\\") | .number) // empty")
case "$OUTCOME" in
  drift)
    {
      echo "The [scheduled drift check]($RUN_URL) found drift in overlay \\`$OVERLAY\\`."
      echo
      head -c 60000 "drift-$OVERLAY.md"
    } > "drift-$OVERLAY.issue.md"
    if [ -n "$number" ]; then
      gh issue edit "$number" --body-file "drift-$OVERLAY.issue.md"
    else
      gh issue create --title "$title" --body-file "drift-$OVERLAY.issue.md"
    fi ;;
  in-sync)
    if [ -n "$number" ]; then
      gh issue close "$number" --comment "In sync again: $RUN_URL"
    fi ;;
  *) echo "gitops-gen drift failed: the issue is left as it is" ;;
esac
"""

GITLAB_SYSTEM = ("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
                 "git curl ca-certificates jq > /dev/null")

GITLAB_INSTALL_KUBECTL = RESOLVE_KUBECTL + INSTALL_KUBECTL + """\
export PATH="$kubectl_dir:$PATH"
"""

GITLAB_CHECK = """\
report=drift.md
errors=drift.err
set +e
gitops-gen drift --repo "${DRIFT_REPO:-.}" --overlay "$OVERLAY" --current-context --output markdown \\
  --json-file drift.json > "$report" 2> "$errors"
code=$?
cat "$errors" >&2
""" + CLASSIFY + """\
cat "$report"
"""

GITLAB_ISSUE = """\
if [ -z "${DRIFT_ISSUE_TOKEN:-}" ]; then
  echo "DRIFT_ISSUE_TOKEN is not set: no issue is opened or closed (docs/drift.md, Scheduled checks)"
else
  issues="$CI_API_V4_URL/projects/$CI_PROJECT_ID/issues"
  title="gitops-gen drift: ${DRIFT_REPO:+$DRIFT_REPO/}$OVERLAY"
  if open_issues=$(curl -fsS -G -H "PRIVATE-TOKEN: $DRIFT_ISSUE_TOKEN" "$issues" --data-urlencode state=opened \\
      --data-urlencode in=title --data-urlencode "search=$title" --data-urlencode per_page=100); then
    iid=$(printf '%s' "$open_issues" \\
      | jq -r --arg title "$title" 'first(.[] | select(.title == $title) | .iid) // empty')
  else
    echo "cannot read the project's issues (DRIFT_ISSUE_TOKEN needs the api scope, role Reporter)" >&2
    outcome=unreadable
  fi
  case "$outcome" in
    drift)
      {
        echo "The [scheduled drift check]($CI_JOB_URL) found drift in overlay \\`$OVERLAY\\`."
        echo
        head -c 60000 "$report"
      } > drift.issue.md
      if [ -n "$iid" ]; then
        curl -fsS -X PUT -H "PRIVATE-TOKEN: $DRIFT_ISSUE_TOKEN" "$issues/$iid" \\
          --data-urlencode description@drift.issue.md > /dev/null || echo "could not update issue $iid" >&2
      else
        curl -fsS -X POST -H "PRIVATE-TOKEN: $DRIFT_ISSUE_TOKEN" "$issues" --data-urlencode "title=$title" \\
          --data-urlencode description@drift.issue.md > /dev/null || echo "could not open an issue" >&2
      fi ;;
    in-sync)
      if [ -n "$iid" ]; then
        curl -fsS -X POST -H "PRIVATE-TOKEN: $DRIFT_ISSUE_TOKEN" "$issues/$iid/notes" \\
          --data-urlencode "body=In sync again: $CI_JOB_URL" > /dev/null || echo "could not comment" >&2
        curl -fsS -X PUT -H "PRIVATE-TOKEN: $DRIFT_ISSUE_TOKEN" "$issues/$iid" \\
          --data-urlencode state_event=close > /dev/null || echo "could not close issue $iid" >&2
      fi ;;
    error) echo "gitops-gen drift failed: the issue is left as it is" ;;
  esac
fi
"""
