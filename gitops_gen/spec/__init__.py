"""The spec: ``gitops-gen.yaml`` as a typed model (``model``), read and validated with line numbers (``load``;
``problems`` words pydantic's errors), the sections drift reads on their own (``drift``), what depends on the
targeted Mastodon version (``versions``), with the shipped default (``default.yaml``) and JSON Schema
(``schema.json``).

May import: ``errors``, ``yamlio``, ``quantity``, ``images.reference`` and ``images.versions`` (image names and
tags are checked, and tags read as versions, by the code bump-image uses). Nothing here does I/O beyond reading
the spec text; nothing imports ``generate``, ``drift``, ``kube``, ``git`` or the CLI. This file stays free of
pydantic: commands import it for ``--help``.
"""

SPEC_FILE = "gitops-gen.yaml"
