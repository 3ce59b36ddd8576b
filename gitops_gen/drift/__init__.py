"""Drift: render the committed tree (``run``, with ``render_cache``), read the cluster through ``kube``, compare
left-scoped with merge keys and field managers (``compare``, ``fieldpath``, ``managed_fields``, ``policy``,
``ignore_rules``, read from the spec by ``config``), and report (``result``, ``report``).

May import: ``spec``, ``kube`` (``run`` imports its client lazily), ``git``, ``kustomize``, ``objects``,
``quantity``, ``errors``, ``yamlio``. Everything but ``run`` and ``render_cache`` is pure. Nothing here imports
``generate``, ``images`` or the CLI.
"""
