"""Spec -> Kubernetes objects, one module per component."""
