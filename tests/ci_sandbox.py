"""Run the generated CI steps for real, with the real ``sh``, in a temporary directory.

Only the network services are stood in for: ``curl`` serves files from a local directory laid out like the
URLs it is asked for (``<dir>/dl.k8s.io/release/stable-1.31.txt``), and answers the GitLab issues API from a
JSON state file; ``gh`` keeps GitHub issues in the same kind of state file and applies its ``--jq`` filter with
the real ``jq``; ``apt-get`` records what it would install. Every fake appends its arguments to a log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

VENV_BIN = Path(sys.executable).parent  # the real gitops-gen of this test run

_PRELUDE = f"""#!{sys.executable}
import json, os, subprocess, sys
from pathlib import Path
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps([Path(sys.argv[0]).name, *args]) + "\\n")
state_file = Path(os.environ["FAKE_STATE"])
state = json.loads(state_file.read_text()) if state_file.exists() else {{"issues": []}}
def save():
    state_file.write_text(json.dumps(state))
def value(flag):
    return args[args.index(flag) + 1] if flag in args else None
"""

_CURL = """
url = next(a for a in args if a.startswith("http"))
method = value("-X") or "GET"
form = {}
for i, a in enumerate(args):
    if a == "--data-urlencode":
        name, sep, rest = args[i + 1].partition("=")
        if not sep:
            name, _, path = args[i + 1].partition("@")
            rest = Path(path).read_text()
        form[name] = rest
if "/issues" in url:
    tail = url.split("/issues", 1)[1].strip("/")
    if method == "GET":
        print(json.dumps([i for i in state["issues"] if i["state"] == form.get("state")]))
    elif method == "POST" and not tail:
        state["issues"].append({"iid": len(state["issues"]) + 1, "title": form["title"], "state": "opened",
                                "description": form["description"]})
    elif method == "PUT":
        issue = next(i for i in state["issues"] if i["iid"] == int(tail))
        if form.get("state_event") == "close":
            issue["state"] = "closed"
        issue.update({k: v for k, v in form.items() if k == "description"})
    save()
    sys.exit(0)
path = Path(os.environ["FAKE_NET"]) / url.split("://", 1)[1]
if not path.is_file():
    sys.stderr.write(f"curl: (22) The requested URL returned error: 404 {url}\\n")
    sys.exit(22)
out = value("-o")
if out:
    Path(out).write_bytes(path.read_bytes())
else:
    sys.stdout.buffer.write(path.read_bytes())
"""

_GH = """
if args[:2] == ["issue", "list"]:
    listed = [{"number": i["number"], "title": i["title"]} for i in state["issues"] if i["state"] == "OPEN"]
    sys.stdout.write(subprocess.run(["jq", "-r", value("--jq")], input=json.dumps(listed), text=True,
                                    capture_output=True, check=True).stdout)
elif args[:2] == ["issue", "create"]:
    state["issues"].append({"number": 100 + len(state["issues"]), "title": value("--title"), "state": "OPEN",
                            "body": Path(value("--body-file")).read_text()})
elif args[:2] == ["issue", "edit"]:
    next(i for i in state["issues"] if i["number"] == int(args[2]))["body"] = Path(value("--body-file")).read_text()
elif args[:2] == ["issue", "close"]:
    next(i for i in state["issues"] if i["number"] == int(args[2]))["state"] = "CLOSED"
else:
    sys.exit(f"fake gh: unexpected {args}")
save()
"""


@dataclass
class Sandbox:
    """A temporary place to run steps: fakes first on PATH, then this run's venv, then the system."""

    root: Path

    def __post_init__(self) -> None:
        self.bin = self.root / "fake-bin"
        self.net = self.root / "net"
        self.home = self.root / "home"
        self.log = self.root / "calls.jsonl"
        self.state = self.root / "state.json"
        for directory in (self.bin, self.net, self.home):
            directory.mkdir(parents=True, exist_ok=True)
        for name, body in (("curl", _CURL), ("gh", _GH), ("apt-get", "")):
            path = self.bin / name
            path.write_text(_PRELUDE + body)
            path.chmod(0o755)

    def env(self, **extra: str) -> dict[str, str]:
        return {"PATH": f"{self.bin}:{VENV_BIN}:{os.environ['PATH']}", "HOME": str(self.home),
                "FAKE_LOG": str(self.log), "FAKE_STATE": str(self.state), "FAKE_NET": str(self.net),
                "LANG": "C.UTF-8", **extra}

    def serve(self, url: str, content: bytes) -> None:
        path = self.net / url.split("://", 1)[1]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)

    def calls(self, program: str | None = None) -> list[list[str]]:
        if not self.log.exists():
            return []
        calls = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [call for call in calls if program is None or call[0] == program]

    def issues(self) -> list[dict[str, Any]]:
        return list(json.loads(self.state.read_text())["issues"]) if self.state.exists() else []

    def run(self, script: str, cwd: Path, env: dict[str, str], shell: str = "sh"
            ) -> subprocess.CompletedProcess[str]:
        """``script`` under ``shell -e``, as GitHub (``shell: sh``) and GitLab (one shell, errexit) run it."""
        return subprocess.run([shell, "-e", "-c", script], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=300)


def github_steps(workflow_text: str) -> dict[str, dict[str, Any]]:
    """The steps of the generated workflow's job, by name (or by ``uses`` when unnamed)."""
    job = yaml.safe_load(workflow_text)["jobs"]["drift"]
    return {step.get("name", step.get("uses")): step for step in job["steps"]}


def outputs(path: Path) -> dict[str, str]:
    """A ``$GITHUB_OUTPUT`` / ``$GITHUB_ENV`` file as a dict."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return dict(pairs)
