"""gitops-gen: GitOps trees for Mastodon on Kubernetes."""

from gitops_gen._version import __version__

__all__ = ["__version__"]
