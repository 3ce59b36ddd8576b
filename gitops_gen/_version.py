"""The version, in one place: pyproject.toml reads it from here (``dynamic = ["version"]``), so the installed
metadata and ``gitops-gen --version`` cannot disagree, and the version is known without importlib.metadata
(which loads the email package: a fifth of ``gitops-gen version``'s start-up)."""

__version__ = "0.1.0"
