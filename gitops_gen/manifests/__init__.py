"""Spec -> Kubernetes objects and CI files, one module per component. Pure functions returning plain data."""
