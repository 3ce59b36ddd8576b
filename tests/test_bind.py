"""What web and streaming listen on (``BIND``), run by the real servers' listen code.

Mastodon's puma config binds ``tcp://#{BIND}:#{PORT}`` and its streaming server calls
``server.listen(PORT, BIND)``; these tests start puma (Debian's) and node with those exact calls and the BIND the
generated Deployments carry, then connect over IPv4 and IPv6 loopback, as a kubelet probe on a pod IP would.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from gitops_gen.generate.layout import generate
from gitops_gen.spec.load import parse_spec
from tests.nginx_harness import free_port, ipv6_loopback

DUAL_STACK = "expose:\n  ipFamilyPolicy: PreferDualStack\n  ipFamilies: [IPv6, IPv4]\n"
PUMA_CONFIG = "bind \"tcp://#{ENV.fetch('BIND')}:#{ENV.fetch('PORT')}\"\n"  # as Mastodon's config/puma.rb binds
RACK_APP = 'run ->(env) { [200, {"Content-Type" => "text/plain"}, ["ok"]] }\n'
NODE_SERVER = "require('http').createServer((q, s) => s.end('ok')).listen(+process.env.PORT, process.env.BIND)"

pytestmark = pytest.mark.skipif(not ipv6_loopback(), reason="this machine has no IPv6 loopback")


def _bind(spec_text: str, deployment: str) -> str:
    for file in generate(parse_spec(spec_text)):
        for doc in (file.data or []) if file.is_yaml else []:
            if doc.get("kind") == "Deployment" and doc["metadata"]["name"] == deployment:
                env = {e["name"]: e.get("value") for e in doc["spec"]["template"]["spec"]["containers"][0]["env"]}
                return str(env["BIND"])
    raise AssertionError(f"no Deployment {deployment}")


def _answers(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as connection:
            connection.settimeout(2)
            connection.connect((host, port))
            connection.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
            return connection.recv(100).startswith(b"HTTP/1.")
    except OSError:
        return False


@contextmanager
def _serving(command: list[str], bind: str, port: int, cwd: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(command, cwd=cwd, env={**os.environ, "BIND": bind, "PORT": str(port)},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (_answers("127.0.0.1", port) or _answers("::1", port)):
            if process.poll() is not None:
                break
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=20)


def _server(which: str, tmp_path: Path) -> list[str]:
    if which == "web":
        if not shutil.which("puma"):
            pytest.fail("puma is not installed: .ci/run installs Debian's (apt-get install puma)", pytrace=False)
        (tmp_path / "puma.rb").write_text(PUMA_CONFIG)
        (tmp_path / "config.ru").write_text(RACK_APP)
        return ["puma", "-C", "puma.rb", "config.ru"]
    return ["node", "-e", NODE_SERVER]


@pytest.mark.parametrize(("which", "deployment"), [("web", "mastodon-web"), ("streaming", "mastodon-streaming")])
def test_with_ipv6_in_the_families_the_servers_answer_on_ipv6_and_ipv4(tmp_path: Path, which: str,
                                                                        deployment: str) -> None:
    bind, port = _bind(DUAL_STACK, deployment), free_port(28000, 28999, ("127.0.0.1", "::1"))
    with _serving(_server(which, tmp_path), bind, port, tmp_path) as process:
        output = "" if process.poll() is None else process.communicate()[0][-400:]
        assert process.poll() is None, f"BIND={bind!r} does not start {which}: {output}"
        assert _answers("::1", port), f"{which} with BIND={bind!r} does not answer on IPv6"
        assert _answers("127.0.0.1", port), f"{which} with BIND={bind!r} does not answer on IPv4"


@pytest.mark.parametrize("deployment", ["mastodon-web", "mastodon-streaming"])
def test_without_ipv6_the_servers_bind_every_ipv4_address(deployment: str) -> None:
    assert _bind("", deployment) == "0.0.0.0"
