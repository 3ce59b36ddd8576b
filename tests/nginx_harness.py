"""A real nginx on loopback in front of two echo servers: what the generated nginx.conf does to a request.

The generated file is used as written except for what is unavoidable to run it unprivileged on loopback:
``listen 443``/``listen 80`` become free high ports on 127.0.0.1 and ::1, and the ``ssl_certificate`` paths
point at a throwaway self-signed certificate. Everything else (upstreams, headers, locations, redirects) is
exactly what ``gitops-gen init`` wrote.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import http.client
import json
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


def free_port(low: int = 20000, high: int = 29999, hosts: tuple[str, ...] = ("127.0.0.1",)) -> int:
    """A port free on every one of ``hosts`` (node ports need 30000-32767: pass that range)."""
    for port in range(low + os.getpid() % 500, high):
        try:
            for host in hosts:
                family = socket.AF_INET6 if ":" in host else socket.AF_INET
                with socket.socket(family, socket.SOCK_STREAM) as probe:
                    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    probe.bind((host, port))
            return port
        except OSError:
            continue
    raise RuntimeError(f"no free port in {low}-{high}")


class _Echo(BaseHTTPRequestHandler):
    """Answers with what it received: the request headers and the body length, as JSON. A WebSocket
    Upgrade is answered 101 (with the headers seen in ``X-Echo``), as the streaming server would."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the upstream keepalive pool expects

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _seen(self, body_length: int) -> dict[str, Any]:
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return {"server": self.server.name, "method": self.command, "path": self.path,  # type: ignore[attr-defined]
                "headers": headers, "body_length": body_length}

    def _answer(self) -> None:
        if self.headers.get("Upgrade", "").lower() == "websocket":
            accept = base64.b64encode(hashlib.sha1((self.headers["Sec-WebSocket-Key"] + WEBSOCKET_GUID)
                                                   .encode()).digest()).decode()
            self.send_response(101, "Switching Protocols")
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", accept)
            self.send_header("X-Echo", json.dumps(self._seen(0)))
            self.end_headers()
            self.close_connection = True
            return
        length = int(self.headers.get("Content-Length") or 0)
        remaining = length
        while remaining:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)
        body = json.dumps(self._seen(length - remaining)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer


class _EchoServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, name: str, host: str, port: int) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.name = name
        super().__init__((host, port), _Echo)


@contextmanager
def echo_servers(ports: dict[str, int], hosts: list[str]) -> Iterator[None]:
    """One echo server per (name, port) on each host: what the NodePort Services stand in for."""
    servers = [_EchoServer(name, host, port) for name, port in ports.items() for host in hosts]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def self_signed_certificate(directory: Path, hosts: list[str]) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def for_loopback(conf: str, https: int, http_port: int, cert: Path, key: Path, ipv6: bool) -> str:
    """The documented substitutions, and nothing else: listen ports and certificate paths."""
    def listen(match: re.Match[str]) -> str:
        v6, port, rest = match.group(1), match.group(2), match.group(3)
        new_port = https if port == "443" else http_port
        if v6 and not ipv6:
            return ""
        return f"listen {'[::1]' if v6 else '127.0.0.1'}:{new_port}{rest}"

    return with_certificate(re.sub(r"listen (\[::\]:)?(443|80)\b([^;]*;)", listen, conf), cert, key)


def with_certificate(conf: str, cert: Path, key: Path) -> str:
    """Every ``ssl_certificate``/``ssl_certificate_key`` path replaced by the throwaway certificate's."""
    conf = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", conf)
    return re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", conf)


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    if not found:
        raise RuntimeError("nginx is not installed: .ci/run installs Debian's (apt-get install nginx-light)")
    return found


def main_conf(prefix: Path, include: Path) -> Path:
    """The nginx.conf an admin would have: events{} and an http{} that includes the generated file."""
    user = f"user {pwd.getpwuid(os.getuid()).pw_name};\n" if os.geteuid() == 0 else ""
    temp = "".join(f"    {kind}_temp_path {prefix / kind};\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    path = prefix / "nginx.conf"
    path.write_text(f"{user}worker_processes 1;\nevents {{}}\nhttp {{\n    access_log off;\n{temp}"
                    f"    include {include};\n}}\n")
    return path


def nginx_test(prefix: Path, conf: Path) -> subprocess.CompletedProcess[str]:
    """``nginx -t`` of a main conf; returns the process (stderr carries nginx's verdict)."""
    return subprocess.run([nginx_binary(), "-t", "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log"),
                           "-g", f"pid {prefix / 'nginx.pid'};"], capture_output=True, text=True, timeout=60)


@dataclass
class Client:
    https_port: int
    http_port: int

    def plain_http(self, path: str, host: str) -> tuple[int, str | None]:
        connection = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=30)
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        response.read()
        connection.close()
        return response.status, response.getheader("Location")

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context

    def request(self, method: str, path: str, host: str, headers: dict[str, str] | None = None,
                body: bytes | None = None) -> tuple[http.client.HTTPResponse, bytes]:
        connection = http.client.HTTPSConnection("127.0.0.1", self.https_port, context=self._context(), timeout=60)
        connection.request(method, path, body=body, headers={"Host": host, **(headers or {})})
        response = connection.getresponse()
        data = response.read()
        connection.close()
        return response, data

    def echo(self, path: str, host: str, **kwargs: Any) -> dict[str, Any]:
        response, data = self.request(kwargs.pop("method", "GET"), path, host, **kwargs)
        assert response.status == 200, (response.status, data[:300])
        seen: dict[str, Any] = json.loads(data)
        seen["response_headers"] = {k.lower(): v for k, v in response.getheaders()}
        return seen

    def declared_upload(self, path: str, host: str, length: int) -> int:
        """A POST that declares ``length`` bytes and sends none: nginx judges the size by the header."""
        connection = http.client.HTTPSConnection("127.0.0.1", self.https_port, context=self._context(), timeout=60)
        connection.putrequest("POST", path, skip_host=True)
        connection.putheader("Host", host)
        connection.putheader("Content-Length", str(length))
        connection.endheaders()
        status = connection.getresponse().status
        connection.close()
        return status

    def websocket_handshake(self, path: str, host: str) -> tuple[str, dict[str, str]]:
        key = base64.b64encode(os.urandom(16)).decode()
        raw = socket.create_connection(("127.0.0.1", self.https_port), timeout=30)
        with self._context().wrap_socket(raw) as tls:
            tls.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
            received = b""
            while b"\r\n\r\n" not in received:
                chunk = tls.recv(65536)
                if not chunk:
                    break
                received += chunk
        head = received.split(b"\r\n\r\n")[0].decode()
        status, *lines = head.split("\r\n")
        return status, {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}


@contextmanager
def running_nginx(prefix: Path, generated: str) -> Iterator[Client]:
    """nginx in the foreground with ``generated`` (already made loopback-ready) included in its http block."""
    include = prefix / "generated.conf"
    include.write_text(generated)
    conf = main_conf(prefix, include)
    checked = nginx_test(prefix, conf)
    assert checked.returncode == 0, f"nginx -t rejected the generated file:\n{checked.stderr}"
    https = int(re.search(r"listen 127\.0\.0\.1:(\d+) ssl", generated).group(1))  # type: ignore[union-attr]
    plain = int(re.search(r"listen 127\.0\.0\.1:(\d+);", generated).group(1))  # type: ignore[union-attr]
    process = subprocess.Popen([nginx_binary(), "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log"),
                                "-g", f"daemon off; pid {prefix / 'nginx.pid'};"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", https), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not start: {(prefix / 'error.log').read_text()}") from None
                time.sleep(0.1)
        yield Client(https, plain)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
