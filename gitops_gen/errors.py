"""The one exception hierarchy of gitops-gen.

Every error meant for the user is a ``GitopsGenError``: its message is one line that names the file, field or
object at fault and what to do, and its class carries the process exit code. The CLI turns it into output in
exactly one place (``gitops_gen.cli.main``).
"""

from __future__ import annotations

from typing import ClassVar

EXIT_OK = 0
EXIT_DRIFT = 1
EXIT_ERROR = 2


class GitopsGenError(Exception):
    """Base class of every error gitops-gen reports to its user."""

    exit_code: ClassVar[int] = EXIT_ERROR

    def __init__(self, message: str) -> None:
        # One line, always: a multi-line message would break CI logs and the "one-line error" promise.
        super().__init__(" ".join(message.split()))

    @property
    def message(self) -> str:
        return str(self)


class SpecError(GitopsGenError, ValueError):
    """The spec file (gitops-gen.yaml) is invalid."""

    def __init__(self, path: str, problem: str, *, line: int | None = None, field: str | None = None) -> None:
        where = path if line is None else f"{path}:{line}"
        what = f"{field}: {problem}" if field else problem
        super().__init__(f"{where}: {what}")
        self.path = path
        self.line = line
        self.field = field
        self.problem = problem


class InputError(GitopsGenError, ValueError):
    """A command-line argument or a file the user pointed at is unusable."""


class GeneratedFileEditedError(GitopsGenError):
    """A generated file was edited by hand; regenerating would lose the edit."""


class RepoError(GitopsGenError):
    """Git refused an operation, or the repository is not in a state we can work with."""


class KustomizeError(GitopsGenError):
    """The real kustomize failed to render a tree, or is not installed."""


class ClusterError(GitopsGenError):
    """The cluster could not be reached, refused our credentials, or answered an error."""


class ClusterConfigError(ClusterError):
    """No usable kubeconfig, context or in-cluster configuration."""


class ClusterUnreachableError(ClusterError):
    """The API server did not answer within the timeout, or the connection failed."""


class ClusterAuthError(ClusterError):
    """The API server rejected our credentials (401)."""


class ClusterForbiddenError(ClusterError):
    """The API server refused an operation to our identity (403); the message names the kinds and verbs."""


class ClusterNotServedError(ClusterError):
    """The API server does not serve a kind (apiVersion) that the rendered tree uses."""

    def __init__(self, message: str, *, kind: str = "") -> None:
        super().__init__(message)
        self.kind = kind


class ClusterRequestError(ClusterError):
    """The API server answered a request with an error status other than 401/403."""
