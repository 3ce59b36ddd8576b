"""gitops-gen: GitOps trees for Mastodon on Kubernetes."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gitops-gen")
except PackageNotFoundError:  # running from a source checkout that was never installed
    __version__ = "0.0.0+source"
