"""What depends on the targeted Mastodon version: its sidekiq queues and whether it still reads ``OTP_SECRET``.

The version is the tag of ``images.mastodon`` in the spec. A tag that is not a version (``latest``, ``edge``,
``nightly.2025-06-01``) targets the newest Mastodon. Tags are read as versions by ``images.versions`` (the one
reader of tags, which bump-image uses too), and compared by release number: a 4.4 beta already has what 4.4 has.
"""

from __future__ import annotations

from gitops_gen.images.versions import as_version

#: Mastodon's queues as ``config/sidekiq.yml`` lists them, with the official chart's weights (None: no weight).
SIDEKIQ_QUEUE_WEIGHTS: tuple[tuple[str, int | None], ...] = (
    ("default", 8), ("push", 6), ("ingress", 4), ("mailers", 2), ("pull", None), ("scheduler", None), ("fasp", None),
)
SIDEKIQ_QUEUES: tuple[str, ...] = tuple(name for name, _ in SIDEKIQ_QUEUE_WEIGHTS)

# Fediverse Auxiliary Service Providers, and their queue, arrived in 4.4 (mastodon/mastodon #34031, #34965).
FASP_SINCE = (4, 4)
# 4.4 no longer reads OTP_SECRET (mastodon/mastodon #34743, #34810): two-factor secrets are encrypted by
# ActiveRecord encryption since 4.3.
OTP_SECRET_UNTIL = (4, 4)


def mastodon_release(tag: str) -> tuple[int, int] | None:
    """The (major, minor) release an image tag names, or None when the tag is not a version.

    >>> mastodon_release("v4.3.8"), mastodon_release("4.4.0-beta.2"), mastodon_release("latest")
    ((4, 3), (4, 4), None)
    """
    version = as_version(tag)
    if version is None:
        return None
    release = version.release
    return release[0], (release[1] if len(release) > 1 else 0)


def _before(tag: str, release: tuple[int, int]) -> bool:
    targeted = mastodon_release(tag)
    return targeted is not None and targeted < release


def sidekiq_queues(tag: str) -> tuple[str, ...]:
    """The queues Mastodon ``tag`` enqueues jobs on, each of which some sidekiq process must consume.

    >>> sidekiq_queues("v4.3.8")
    ('default', 'push', 'ingress', 'mailers', 'pull', 'scheduler')
    >>> sidekiq_queues("v4.4.0")[-1], sidekiq_queues("edge")[-1]
    ('fasp', 'fasp')
    """
    if _before(tag, FASP_SINCE):
        return tuple(queue for queue in SIDEKIQ_QUEUES if queue != "fasp")
    return SIDEKIQ_QUEUES


def reads_otp_secret(tag: str) -> bool:
    """Whether Mastodon ``tag`` still needs ``OTP_SECRET`` (versions before 4.4).

    >>> reads_otp_secret("v4.3.8"), reads_otp_secret("v4.4.0"), reads_otp_secret("latest")
    (True, False, False)
    """
    return _before(tag, OTP_SECRET_UNTIL)


def describe(tag: str) -> str:
    """How an error message names the targeted version.

    >>> describe("v4.3.8"), describe("latest")
    ('Mastodon 4.3', "Mastodon 'latest' (taken as the newest)")
    """
    release = mastodon_release(tag)
    return f"Mastodon {release[0]}.{release[1]}" if release else f"Mastodon {tag!r} (taken as the newest)"
