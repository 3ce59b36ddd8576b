"""Spec -> Kubernetes objects, as plain dicts. Pure functions: no I/O, no kustomize."""
