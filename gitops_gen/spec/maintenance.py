"""The ``maintenance:`` section: Mastodon's cleanup tasks (``tootctl``), each run by a CronJob on a schedule.

Mastodon keeps a local copy of every remote attachment and link preview it sees, and nothing removes them unless
an admin runs ``tootctl media remove`` and ``tootctl preview_cards remove``: the default 10Gi claim fills up.
Those two are on by default; the heavier ones (orphan scan, status removal, account pruning) are opt-in. The
retention defaults are tootctl's own (``lib/mastodon/cli/media.rb``, ``preview_cards.rb``, ``statuses.rb``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from gitops_gen.spec.base import SPEC_CONFIG, CronSchedule, ResourceList, Resources

Days = Annotated[int, Field(strict=True, gt=0)]


class _Model(BaseModel):
    model_config = SPEC_CONFIG


class MediaRemove(_Model):
    """``tootctl media remove --days N``: cached copies of remote attachments older than N days."""

    enabled: bool = True
    schedule: CronSchedule = "10 3 * * *"
    days: Days = 7


class PreviewCardsRemove(_Model):
    """``tootctl preview_cards remove --days N``: link preview thumbnails older than N days (tootctl advises
    against fewer than 14: a card is fetched again only when its link is posted anew after two weeks)."""

    enabled: bool = True
    schedule: CronSchedule = "40 3 * * *"
    days: Days = 180


class MediaRemoveOrphans(_Model):
    """``tootctl media remove-orphans``: files that belong to no record; walks the whole store, so it is slow
    (and, with S3, billed per listing request)."""

    enabled: bool = False
    schedule: CronSchedule = "10 4 * * 0"


class StatusesRemove(_Model):
    """``tootctl statuses remove --days N``: remote statuses no local user interacted with; heavy on the
    database."""

    enabled: bool = False
    schedule: CronSchedule = "10 5 * * 0"
    days: Days = 90


class AccountsPrune(_Model):
    """``tootctl accounts prune``: remote accounts that never interacted with a local user."""

    enabled: bool = False
    schedule: CronSchedule = "10 6 * * 0"


class Maintenance(_Model):
    """One CronJob per enabled task (``concurrencyPolicy: Forbid``: a run never overlaps the previous one)."""

    media_remove: MediaRemove = MediaRemove()
    preview_cards_remove: PreviewCardsRemove = PreviewCardsRemove()
    media_remove_orphans: MediaRemoveOrphans = MediaRemoveOrphans()
    statuses_remove: StatusesRemove = StatusesRemove()
    accounts_prune: AccountsPrune = AccountsPrune()
    # tootctl boots the whole Rails app, like a sidekiq process.
    resources: Resources = Resources(
        requests=ResourceList(cpu="100m", memory="512Mi"), limits=ResourceList(memory="1Gi")
    )
