"""Connecting to a cluster: a kubeconfig context or the in-cluster service account, with a timeout and a
request counter on every call. Nothing is sent until the ``Cluster`` is used."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from gitops_gen.errors import ClusterConfigError
from gitops_gen.kube.cluster import Cluster
from gitops_gen.kube.redact import short

DEFAULT_TIMEOUT = 10.0
_SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


def _counting_client_class() -> Any:
    from kubernetes.client import ApiClient

    class _CountingApiClient(ApiClient):
        """The official client, with a default timeout on every request and a request counter."""

        def __init__(self, configuration: Any, timeout: float) -> None:
            super().__init__(configuration=configuration)
            self.request_count = 0
            self._count_lock = threading.Lock()
            self._timeout = (timeout, timeout)  # (connect, read): read is per socket read, not per response

        def call_api(self, method: str, url: str, header_params: Any = None, body: Any = None,
                     post_params: Any = None, _request_timeout: Any = None) -> Any:
            with self._count_lock:
                self.request_count += 1
            return super().call_api(method, url, header_params, body, post_params,
                                    _request_timeout or self._timeout)

    return _CountingApiClient


def _in_cluster() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and (_SERVICE_ACCOUNT_DIR / "token").exists()


def connect(kubeconfig: Path | None = None, context: str | None = None, *, timeout: float = DEFAULT_TIMEOUT,
            pool_size: int = 8) -> Cluster:
    """Configure a connection: ``kubeconfig`` (or ``$KUBECONFIG``, or ``~/.kube/config``) with ``context``, or
    the in-cluster service account when there is no kubeconfig at all. Nothing is sent yet."""
    import yaml
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    configuration = client.Configuration()
    default_file = Path(config.KUBE_CONFIG_DEFAULT_LOCATION.split(os.pathsep)[0]).expanduser()
    use_file = kubeconfig is not None or bool(os.environ.get("KUBECONFIG")) or default_file.exists()
    if use_file or not _in_cluster():
        if kubeconfig is not None and not kubeconfig.is_file():
            raise ClusterConfigError(f"kubeconfig {kubeconfig} does not exist: pass an existing file to --kubeconfig")
        if not use_file:
            raise ClusterConfigError(
                f"no kubeconfig ({default_file} is missing, $KUBECONFIG is unset) and not running inside a "
                "cluster: pass --kubeconfig"
            )
        source = str(kubeconfig) if kubeconfig is not None else None
        where = source or os.environ.get("KUBECONFIG") or str(default_file)
        try:
            contexts, active = config.list_kube_config_contexts(config_file=source)  # type: ignore[no-untyped-call]
            if context is not None:
                names = [str(item.get("name")) for item in contexts]
                if context not in names:
                    raise ClusterConfigError(
                        f"kubeconfig {where} has no context {context!r}; it has: {', '.join(names) or 'none'}"
                    )
                active = next(item for item in contexts if item.get("name") == context)
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=source, context=context, client_configuration=configuration
            )
        except (ConfigException, OSError, ValueError, yaml.YAMLError) as error:
            raise ClusterConfigError(f"kubeconfig {where}: {short(error)}") from error
        context_name = str(active.get("name", context or "?"))
        namespace = str((active.get("context") or {}).get("namespace") or "default")
    else:
        if context is not None:
            raise ClusterConfigError("--context needs a kubeconfig; running in-cluster there is only one identity")
        try:
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        except ConfigException as error:
            raise ClusterConfigError(f"in-cluster configuration: {short(error)}") from error
        context_name = "in-cluster"
        namespace_file = _SERVICE_ACCOUNT_DIR / "namespace"
        namespace = namespace_file.read_text().strip() if namespace_file.exists() else "default"
    # One attempt per request: an unreachable server must fail within the timeout, not several times it.
    configuration.retries = 0
    configuration.connection_pool_maxsize = max(4, pool_size)
    api_client = _counting_client_class()(configuration, timeout)
    return Cluster(api_client, host=str(configuration.host), context=context_name, default_namespace=namespace,
                   timeout=timeout)
