"""Images: the reference grammar (``reference``), a kustomization's ``images:`` entries (``entries``), the
overlays that hold them (``overlays``), the plan and its all-or-nothing commit across overlays (``change``),
the commit message (``message``), and tags read as versions (``versions``: downgrades, floating tags, the
targeted Mastodon release).

May import: ``errors``, ``yamlio`` (in-place scalar edits), ``atomicfile`` and ``git`` (``change`` only).
Nothing here imports ``spec``, ``generate``, ``drift``, ``kube`` or the CLI.
"""
