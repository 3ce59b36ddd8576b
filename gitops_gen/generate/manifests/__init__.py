"""Spec -> Kubernetes objects as plain dicts: workloads, per-environment objects, migration Jobs, the sync
engines' objects, the drift job and CI workflows. Pure functions; ``generate.tree`` turns them into files."""
