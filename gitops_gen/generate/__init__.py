"""Generation: spec -> Kubernetes objects (``manifests``), objects -> the files of a Kustomize tree (``tree``),
the secrets catalogue of a spec (``catalogue``) and its providers (``secrets``).

May import: ``spec``, ``errors``, ``yamlio``. Pure: ``tree`` writes files only when ``write`` is called, and
nothing here imports ``git``, ``kube``, ``drift`` or the CLI.
"""
