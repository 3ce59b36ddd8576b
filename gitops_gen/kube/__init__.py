"""The cluster: the only package that imports the official ``kubernetes`` client. ``connect`` makes a
``cluster.Cluster`` (discovery, OpenAPI, LIST/GET, dry-run apply); ``resources`` and ``openapi`` are the plain
data it returns; ``redact`` cuts server messages short so that no Secret content reaches a log.

May import: ``errors``, ``objects``. The client is imported inside functions: it costs about a second, which
commands that never talk to a cluster must not pay.
"""
