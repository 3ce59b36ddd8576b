"""The real CRDs of kinds gitops-gen writes for add-ons, installed into the test API server.

- Gateway API (HTTPRoute and the Gateway it attaches to): ``config/crd/standard/`` of the module
  ``sigs.k8s.io/gateway-api`` at ``GATEWAY_API_VERSION`` (v1.7.0 needs a newer Go than the machine's).
- The Prometheus Operator's ServiceMonitor: ``example/prometheus-operator-crd/`` of the module
  ``github.com/prometheus-operator/prometheus-operator`` at ``PROMETHEUS_OPERATOR_VERSION`` (the newest version
  the Go module proxy serves of that module; its API module alone carries no CRD files).

Both come from the Go module proxy with the machine's ``go`` (``go mod download -json``), which keeps them in its
module cache: downloaded once per machine, read from there afterwards. They are installed whole, CEL rules
included, by server-side apply, so objects are checked against every rule they carry.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Cluster

GATEWAY_API = ("sigs.k8s.io/gateway-api", "v1.6.3", "config/crd/standard",
               ("gateway.networking.k8s.io_gatewayclasses.yaml", "gateway.networking.k8s.io_gateways.yaml",
                "gateway.networking.k8s.io_httproutes.yaml"))
PROMETHEUS_OPERATOR = ("github.com/prometheus-operator/prometheus-operator", "v0.85.0",
                       "example/prometheus-operator-crd", ("monitoring.coreos.com_servicemonitors.yaml",))
SERVICE_MONITOR_CRD = "servicemonitors.monitoring.coreos.com"


def _module_files(module: str, version: str, directory: str, files: tuple[str, ...]) -> list[Path]:
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-modcacherw"}
    try:
        answer = subprocess.run(["go", "mod", "download", "-json", f"{module}@{version}"], capture_output=True,
                                text=True, timeout=300, env=env, cwd="/")
    except FileNotFoundError:
        pytest.fail("the go command is needed to fetch the upstream CRDs (it builds the test plane too)", pytrace=False)
    info = json.loads(answer.stdout or "{}")
    if answer.returncode != 0 or "Dir" not in info:
        pytest.fail(f"go mod download {module}@{version}: {info.get('Error') or answer.stderr[-500:]}", pytrace=False)
    return [Path(info["Dir"]) / directory / name for name in files]


@pytest.fixture
def gateway_api_crds(cluster: Cluster) -> list[str]:
    """Gateway API's GatewayClass, Gateway and HTTPRoute CRDs, installed (once: later calls find them)."""
    return cluster.install_crds(_module_files(*GATEWAY_API))


@pytest.fixture
def service_monitor_crd(cluster: Cluster) -> list[str]:
    """The Prometheus Operator's ServiceMonitor CRD, installed (once: later calls find it)."""
    return cluster.install_crds(_module_files(*PROMETHEUS_OPERATOR))
