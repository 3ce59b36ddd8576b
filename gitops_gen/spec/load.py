"""Reading ``gitops-gen.yaml``: YAML to the typed model, rules that span fields, and errors that name the line.

Errors name the spec file, the line and the field path (``gitops-gen.yaml:12: sidekiq[0].concurrency: ...``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gitops_gen import yamlio
from gitops_gen.errors import SpecError
from gitops_gen.spec import SPEC_FILE, metrics, routing, services, versions
from gitops_gen.spec.model import DNS1123_LABEL, Spec
from gitops_gen.spec.problems import field_path, nearest_line, spec_error
from gitops_gen.spec.secrets import GENERATED_KEY_NAMES, SUPPLIED_KEY_NAMES


def load_spec(path: Path) -> Spec:
    """Read and validate a spec file; raise ``SpecError`` naming the file, line and field of the first problem."""
    return parse_spec(read_spec_text(path) if path.exists() else "", str(path))


def read_spec_text(path: Path) -> str:
    """The text of a spec file; ``SpecError`` (one line, what to do) when it is no readable UTF-8 file."""
    try:
        return path.read_text(encoding="utf-8")
    except IsADirectoryError:
        raise SpecError(str(path), "is a directory, not a file: move it away and run gitops-gen init again") from None
    except UnicodeDecodeError as error:
        raise SpecError(str(path), f"is not UTF-8 text (byte {error.start}): save it as UTF-8") from None
    except OSError as error:
        raise SpecError(str(path), f"cannot be read ({error.strerror}): check its permissions") from None


def parse_spec(text: str, source: str = SPEC_FILE) -> Spec:
    """Validate spec text (an empty text gives the defaults)."""
    document = yamlio.load_round_trip(text, source)
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise SpecError(source, "the spec must be a mapping of fields (see README.md, 'The spec')", line=1)
    return validate_document(yamlio.to_plain(document), source, yamlio.line_numbers(document))


def validate_document(data: dict[str, Any], source: str, lines: dict[yamlio.FieldPath, int] | None = None) -> Spec:
    """Validate an already parsed spec; ``lines`` maps field paths to lines for the error message."""
    lines = lines or {}
    try:
        spec = Spec.model_validate(data)
    except ValidationError as error:
        raise spec_error(error, source, lines) from None
    for location, problem in _semantic_problems(spec):
        raise SpecError(source, problem, line=nearest_line(location, lines), field=field_path(location))
    return spec


def _semantic_problems(spec: Spec) -> list[tuple[tuple[str | int, ...], str]]:
    """Rules that span fields; each problem comes with the location of the field to fix."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for name in spec.overlays:
        if not DNS1123_LABEL.fullmatch(name):
            problems.append((("overlays", name), f"{name!r} is not a DNS-1123 label: use lower-case letters, "
                                                 "digits and '-' (it names directories and objects)"))
    names = [worker.name for worker in spec.sidekiq]
    for index, name in enumerate(names):
        if name in names[:index]:
            problems.append((("sidekiq", index, "name"), f"sidekiq workers need distinct names; {name!r} is taken"))
    schedulers = [index for index, worker in enumerate(spec.sidekiq) if worker.runs_scheduler]
    for index in schedulers[1:]:
        problems.append((("sidekiq", index, "queues"), f"only one sidekiq worker may run the scheduler queue; "
                                                       f"{spec.sidekiq[schedulers[0]].name!r} already does"))
    for index, worker in enumerate(spec.sidekiq):
        if worker.runs_scheduler and worker.replicas > 1:
            problems.append((("sidekiq", index, "replicas"), f"worker {worker.name!r} runs the scheduler queue, so "
                                                             "it must have at most one replica"))
    for overlay_name, overlay in spec.overlays.items():
        for worker_name, override in overlay.sidekiq.items():
            location: tuple[str | int, ...] = ("overlays", overlay_name, "sidekiq", worker_name)
            if worker_name not in names:
                problems.append((location, f"no sidekiq worker is named {worker_name!r} (workers: {', '.join(names)})"))
            elif spec.sidekiq[names.index(worker_name)].runs_scheduler and (override.replicas or 0) > 1:
                problems.append(((*location, "replicas"), f"worker {worker_name!r} runs the scheduler queue, so it "
                                                          "must have at most one replica"))
    ports = spec.expose.node_ports
    if ports.web is not None and ports.web == ports.streaming:
        problems.append((("expose", "nodePorts", "streaming"), f"node port {ports.web} is used twice (web and "
                                                               "streaming): give each its own"))
    if spec.secrets.provider == "external-secrets" and spec.secrets.external_secrets is None:
        problems.append((("secrets", "provider"), "provider external-secrets needs secrets.externalSecrets.store: "
                                                  "the SecretStore to read from"))
    if spec.secrets.provider == "sops" and spec.secrets.sops is None:
        problems.append((("secrets", "provider"), "provider sops needs secrets.sops.ageRecipients: the age public "
                                                  "keys that may decrypt"))
    if spec.storage.system.nfs and spec.mastodon.s3:
        problems.append((("storage", "system", "nfs"), "NFS storage and mastodon.s3 exclude each other: media go "
                                                       "to one of them"))
    expose = spec.expose
    if expose.load_balancer_nodes and (expose.type != "NodePort" or None in (ports.web, ports.streaming)):
        problems.append((("expose", "loadBalancerNodes"), "the external nginx needs expose.type: NodePort and both "
                                                          "nodePorts (web and streaming) to point its upstreams at"))
    secret_keys = {*GENERATED_KEY_NAMES, *SUPPLIED_KEY_NAMES, *(key.name for key in spec.secrets.extra_keys)}
    for name in spec.mastodon.extra_env:
        if name in secret_keys:
            problems.append((("mastodon", "extraEnv", name), f"{name} is a key of the Secret "
                             f"{spec.secret_name}: extraEnv goes into a ConfigMap in git, in plain text; set it "
                             "in the Secret (gitops-gen secrets lists how)"))
    problems += services.problems(spec.mastodon, spec.images.mastodon.tag)
    problems += routing.problems(spec) + metrics.problems(spec)
    # Last: a more precise sidekiq problem above (a second scheduler, too many replicas) comes first.
    problems += _unconsumed_queues(spec)
    return problems


def _unconsumed_queues(spec: Spec) -> list[tuple[tuple[str | int, ...], str]]:
    """Mastodon's config/sidekiq.yml sets ``listened_queues_only``: a queue no worker names is never worked off."""
    tag = spec.images.mastodon.tag
    consumed = {queue.name for worker in spec.sidekiq for queue in worker.queues}
    missing = [queue for queue in versions.sidekiq_queues(tag) if queue not in consumed]
    if not missing:
        return []
    anywhere = [queue for queue in missing if queue != "scheduler"]
    fix = [f"{', '.join(anywhere)} (any worker)"] if anywhere else []
    if "scheduler" in missing:
        fix.append("scheduler (exactly one worker, with one replica)")
    return [(("sidekiq",), f"no worker consumes the queue{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                           f"of {versions.describe(tag)} (jobs there would never run); add them to a worker's "
                           f"queues: {'; '.join(fix)}")]


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the spec (shipped as ``gitops_gen/spec/schema.json`` for editors)."""
    schema = Spec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "gitops-gen.yaml"
    return schema
