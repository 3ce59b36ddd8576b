#!/usr/bin/env python3
"""Serve one git repository read/write over smart HTTP on loopback, with the real `git http-backend` as CGI.

    git-http-server.py --repo PATH --name NAME --port PORT [--state DIR]

The repository (a bare repo, or a work tree's .git) is served at http://127.0.0.1:PORT/NAME.git; push is
allowed (http.receivepack). --state only names the test environment this server belongs to, so that the
environment's `down` recognises the process as its own.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body, whether sent with Content-Length or chunked (git sends large pushes chunked)."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


def make_handler(repo: str, name: str) -> type[BaseHTTPRequestHandler]:
    prefix = f"/{name}.git"

    class GitHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:
            self.run_backend()

        def do_POST(self) -> None:
            self.run_backend()

        def run_backend(self) -> None:
            path, _, query = self.path.partition("?")
            if not (path == prefix or path.startswith(prefix + "/")):
                self.send_error(404, f"only {prefix} is served here")
                return
            body = read_body(self) if self.command == "POST" else b""
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "GATEWAY_INTERFACE": "CGI/1.1",
                "SERVER_PROTOCOL": self.request_version,
                "REQUEST_METHOD": self.command,
                # The project root is the repository itself: PATH_INFO is what follows NAME.git.
                "GIT_PROJECT_ROOT": repo,
                "PATH_INFO": path[len(prefix):] or "/",
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_ADDR": self.client_address[0],
                "REMOTE_USER": "testenv",
                "GIT_HTTP_EXPORT_ALL": "1",
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "http.receivepack",
                "GIT_CONFIG_VALUE_0": "true",
            }
            for header in ("Content-Encoding", "Git-Protocol"):
                if header in self.headers:
                    env["HTTP_" + header.upper().replace("-", "_")] = self.headers[header]
            result = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True)
            if result.stderr:
                sys.stderr.write(result.stderr.decode(errors="replace"))
            head, _, payload = result.stdout.partition(b"\r\n\r\n")
            if not _:
                head, _, payload = result.stdout.partition(b"\n\n")
            status, headers = 200, []
            for line in head.decode("latin-1").splitlines():
                key, _, value = line.partition(":")
                if key.lower() == "status":
                    status = int(value.strip().split()[0])
                elif key:
                    headers.append((key, value.strip()))
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return GitHandler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", default="")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(str(Path(args.repo).resolve()), args.name))
    server.serve_forever()


if __name__ == "__main__":
    main()
