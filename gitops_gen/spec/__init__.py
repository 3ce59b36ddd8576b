"""The spec: ``gitops-gen.yaml`` as a typed model (``model``), read and validated with line numbers (``load``),
with the shipped default (``default.yaml``) and JSON Schema (``schema.json``); what depends on the targeted Mastodon
version (``versions``: its sidekiq queues, its secret keys).

May import: ``errors``, ``yamlio``, ``quantity``, ``images.reference`` (image names and tags are checked with the
grammar bump-image uses). Nothing here does I/O beyond reading the spec text; nothing imports ``generate``,
``drift``, ``kube``, ``git`` or the CLI.
"""
