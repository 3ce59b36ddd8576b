"""Generation: spec -> Kubernetes objects (``manifests``), which files a spec becomes (``layout``),
writing them as a Kustomize tree with ownership checks (``tree``),
the secrets catalogue of a spec (``catalogue``) and its providers (``secrets``).

May import: ``spec``, ``errors``, ``yamlio``. Pure: ``tree`` writes files only when ``write`` is called, and
nothing here imports ``git``, ``kube``, ``drift`` or the CLI.
"""
