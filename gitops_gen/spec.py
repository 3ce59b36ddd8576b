"""The deployment spec (``gitops-gen.yaml``): a typed model with defaults, and its validation.

Every field has a default, so an empty file describes a working deployment. Errors name the spec file, the
line and the field path (``gitops-gen.yaml:12: sidekiq[0].concurrency: ...``).
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from pydantic.alias_generators import to_camel

from gitops_gen import images, yamlio
from gitops_gen.errors import SpecError
from gitops_gen.quantity import is_valid_resource_quantity

SPEC_FILE = "gitops-gen.yaml"
DEFAULT_MASTODON_VERSION = "v4.6.6"
DEFAULT_KUBE_VERSION = "1.36"
MAIN_IMAGE = images.MASTODON_IMAGE
STREAMING_IMAGE = images.MASTODON_STREAMING_IMAGE
SIDEKIQ_QUEUES = ("default", "push", "ingress", "mailers", "pull", "scheduler")

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _dns_label(value: str) -> str:
    if not _DNS1123_LABEL.fullmatch(value):
        raise ValueError(f"{value!r} is not a DNS-1123 label (lower-case letters, digits and '-', at most 63)")
    return value


def _domain(value: str) -> str:
    if len(value) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid domain name")
    return value


def _quantity(value: str | int | float) -> str:
    if not is_valid_resource_quantity(value):
        raise ValueError(f"{value!r} is not a Kubernetes resource quantity (examples: 500m, 0.5, 512Mi, 1Gi)")
    return str(value)


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
# Image names and tags by the OCI distribution grammar, the same code bump-image validates with.
ImageName = Annotated[str, AfterValidator(images.validate_name)]
ImageTag = Annotated[str, AfterValidator(images.validate_tag)]
Domain = Annotated[str, AfterValidator(_domain)]
Quantity = Annotated[str | int | float, AfterValidator(_quantity)]
PositiveInt = Annotated[int, Field(strict=True, gt=0)]
Replicas = Annotated[int, Field(strict=True, ge=0)]


class _Model(BaseModel):
    # camelCase in YAML, snake_case in Python; unknown keys are errors (a typo must not pass silently).
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class ResourceList(_Model):
    cpu: Quantity | None = None
    memory: Quantity | None = None


class Resources(_Model):
    requests: ResourceList = ResourceList()
    limits: ResourceList = ResourceList()


class ImageRef(_Model):
    """An image as repository plus tag; the tag seeds new overlays (``bump-image`` moves it afterwards)."""

    repository: ImageName
    tag: ImageTag = DEFAULT_MASTODON_VERSION


class Images(_Model):
    mastodon: ImageRef = ImageRef(repository=MAIN_IMAGE)
    streaming: ImageRef = ImageRef(repository=STREAMING_IMAGE)


class Endpoint(_Model):
    """A Service: a bare name is taken to be in the overlay's namespace, a dotted host is used as written."""

    host: str
    port: Annotated[int, Field(strict=True, ge=1, le=65535)]

    @field_validator("host")
    @classmethod
    def _valid_host(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            _domain(value)
        return value


class Database(Endpoint):
    host: str = "postgresql"
    port: Annotated[int, Field(strict=True, ge=1, le=65535)] = 5432
    name: str = "mastodon_production"
    user: str = "mastodon"


class Redis(Endpoint):
    host: str = "redis"
    port: Annotated[int, Field(strict=True, ge=1, le=65535)] = 6379


class S3(_Model):
    bucket: str
    endpoint: str | None = None
    region: str | None = None
    alias_host: str | None = None


class Smtp(_Model):
    server: str
    port: Annotated[int, Field(strict=True, ge=1, le=65535)] = 587
    from_address: str


class Mastodon(_Model):
    local_domain: Domain = "social.example.com"
    web_domain: Domain | None = None
    database: Database = Database()
    redis: Redis = Redis()
    s3: S3 | None = None
    smtp: Smtp | None = None
    extra_env: dict[str, str] = {}


class Web(_Model):
    replicas: Replicas = 2
    concurrency: PositiveInt = 2
    max_threads: PositiveInt = 5
    resources: Resources = Resources(
        requests=ResourceList(cpu="250m", memory="768Mi"), limits=ResourceList(memory="1Gi")
    )


class Streaming(_Model):
    replicas: Replicas = 2
    resources: Resources = Resources(
        requests=ResourceList(cpu="100m", memory="256Mi"), limits=ResourceList(memory="512Mi")
    )


class Queue(_Model):
    name: str
    weight: PositiveInt | None = None

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9_]+", value):
            raise ValueError(f"{value!r} is not a sidekiq queue name (known: {', '.join(SIDEKIQ_QUEUES)})")
        return value


def _queue(value: Any) -> Any:
    # A queue is written `default` or `{name: default, weight: 4}`.
    return {"name": value} if isinstance(value, str) else value


class SidekiqWorker(_Model):
    name: DnsLabel
    queues: Annotated[list[Annotated[Queue, Field()]], Field(min_length=1)]
    concurrency: PositiveInt = 5
    replicas: Replicas = 1
    resources: Resources = Resources(
        requests=ResourceList(cpu="250m", memory="512Mi"), limits=ResourceList(memory="1Gi")
    )

    @field_validator("queues", mode="before")
    @classmethod
    def _queues(cls, value: Any) -> Any:
        return [_queue(item) for item in value] if isinstance(value, list) else value

    @property
    def runs_scheduler(self) -> bool:
        return any(queue.name == "scheduler" for queue in self.queues)


def _default_workers() -> list[SidekiqWorker]:
    return [SidekiqWorker(name="default", queues=[Queue(name=q) for q in SIDEKIQ_QUEUES], concurrency=10)]


class Nfs(_Model):
    server: str
    path: str

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"{value!r} is not an absolute path on the NFS server")
        return value


class SystemStorage(_Model):
    """``public/system`` (uploaded media), shared by web and sidekiq: ReadWriteMany, unless S3 is used."""

    size: Quantity = "10Gi"
    storage_class: str | None = None
    nfs: Nfs | None = None


class Storage(_Model):
    system: SystemStorage = SystemStorage()


class NodePorts(_Model):
    web: Annotated[int, Field(strict=True, ge=30000, le=32767)] | None = None
    streaming: Annotated[int, Field(strict=True, ge=30000, le=32767)] | None = None


class Ingress(_Model):
    class_name: str | None = None
    tls_secret: str | None = None
    annotations: dict[str, str] = {}


class Expose(_Model):
    type: Literal["Ingress", "NodePort", "ClusterIP"] = "Ingress"
    ingress: Ingress = Ingress()
    node_ports: NodePorts = NodePorts()
    load_balancer_nodes: list[str] = []
    ip_family_policy: Literal["SingleStack", "PreferDualStack", "RequireDualStack"] | None = None
    ip_families: list[Literal["IPv4", "IPv6"]] | None = None

    @field_validator("load_balancer_nodes")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            try:
                ipaddress.ip_address(address)
            except ValueError:
                _domain(address)
        return value


class ComponentOverride(_Model):
    replicas: Replicas | None = None
    resources: Resources | None = None


class WorkerOverride(ComponentOverride):
    pass


class ArgoCDSettings(_Model):
    namespace: DnsLabel = "argocd"


_DURATION = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"


class FluxSettings(_Model):
    namespace: DnsLabel = "flux-system"
    interval: Annotated[str, Field(pattern=_DURATION)] = "10m"
    git_secret: str | None = None


class GitOps(_Model):
    """How Argo CD and/or Flux sync each overlay (``clusters/<env>/<engine>/``)."""

    engines: Annotated[list[Literal["argocd", "flux"]], Field(min_length=1)] = ["argocd"]
    # Unset: the repository's `origin` remote, else a placeholder to edit. Spelt as Argo CD spells it.
    repo_url: str | None = Field(default=None, alias="repoURL")
    revision: str = "main"
    argocd: ArgoCDSettings = ArgoCDSettings()
    flux: FluxSettings = FluxSettings()


class ExternalSecretsSettings(_Model):
    store: str
    store_kind: Literal["SecretStore", "ClusterSecretStore"] = "SecretStore"
    remote_key_prefix: str = ""


class SopsSettings(_Model):
    age_recipients: Annotated[list[str], Field(min_length=1)]

    @field_validator("age_recipients")
    @classmethod
    def _public_keys(cls, value: list[str]) -> list[str]:
        for recipient in value:
            if not re.fullmatch(r"age1[0-9a-z]{50,}", recipient):
                raise ValueError(f"{recipient!r} is not an age public key (age1...); never put a private key here")
        return value


class Secrets(_Model):
    """Where the Secret the workloads read comes from; its values are never written into the repository."""

    provider: Literal["existing", "external-secrets", "sops"] = "existing"
    name: DnsLabel | None = None  # default: <name>-secrets
    external_secrets: ExternalSecretsSettings | None = None
    sops: SopsSettings | None = None


class DriftIgnoreRule(_Model):
    """Differences to ignore: objects chosen by any of group / kind / namespace / name (globs allowed)."""

    group: str | None = None
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    json_pointers: Annotated[list[str], Field(min_length=1)] = ["/"]

    @field_validator("json_pointers")
    @classmethod
    def _pointers(cls, value: list[str]) -> list[str]:
        for pointer in value:
            if not pointer.startswith("/"):
                raise ValueError(f"{pointer!r} is not a JSON pointer (it starts with /, e.g. /spec/replicas)")
        return value


class InClusterDrift(_Model):
    """The opt-in CronJob that runs ``gitops-gen drift`` inside the cluster with read-only rights."""

    image: str  # an image with gitops-gen and kubectl (or kustomize): the project publishes none
    namespace: DnsLabel | None = None  # default: the overlay's namespace


class Drift(_Model):
    """How ``gitops-gen drift`` judges differences, and how it is scheduled."""

    ignore: list[DriftIgnoreRule] = []
    sync_managers: list[Annotated[str, Field(min_length=1)]] = []
    ci: Literal["github", "gitlab", "none"] = "github"
    schedule: str = "17 */6 * * *"
    install: str = "pip install gitops-gen"  # how the CI job installs gitops-gen
    in_cluster: InClusterDrift | None = None

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError(f"{value!r} is not a cron schedule of five fields (e.g. \"17 */6 * * *\")")
        return value


class Overlay(_Model):
    """What differs in one environment; everything unset falls back to the top-level value."""

    namespace: DnsLabel | None = None
    local_domain: Domain | None = None
    image_tag: ImageTag | None = None
    web: ComponentOverride = ComponentOverride()
    streaming: ComponentOverride = ComponentOverride()
    sidekiq: dict[str, WorkerOverride] = {}


def _default_overlays() -> dict[str, Overlay]:
    return {
        "staging": Overlay(namespace="mastodon-staging", local_domain="staging.social.example.com",
                           web=ComponentOverride(replicas=1), streaming=ComponentOverride(replicas=1)),
        "production": Overlay(namespace="mastodon"),
    }


class Spec(_Model):
    """The whole deployment. See README.md ("The spec") for every field."""

    name: DnsLabel = "mastodon"
    kube_version: str = DEFAULT_KUBE_VERSION
    images: Images = Images()
    mastodon: Mastodon = Mastodon()
    web: Web = Web()
    streaming: Streaming = Streaming()
    sidekiq: Annotated[list[SidekiqWorker], Field(min_length=1)] = Field(default_factory=_default_workers)
    storage: Storage = Storage()
    expose: Expose = Expose()
    gitops: GitOps = GitOps()
    secrets: Secrets = Secrets()
    drift: Drift = Drift()
    overlays: Annotated[dict[str, Overlay], Field(min_length=1)] = Field(default_factory=_default_overlays)

    @field_validator("kube_version", mode="before")
    @classmethod
    def _kube_version(cls, value: Any) -> Any:
        # `kubeVersion: 1.20` parses as a float, which would read as 1.2: insist on the string form.
        if isinstance(value, float):
            raise ValueError("write the version in quotes, for example \"1.20\": unquoted, 1.20 is the number 1.2")
        if isinstance(value, str) and not re.fullmatch(r"v?1\.\d+(\.\d+)?", value):
            raise ValueError(f"{value!r} is not a Kubernetes version such as \"1.31\"")
        return value

    @property
    def kube_minor(self) -> int:
        return int(self.kube_version.lstrip("v").split(".")[1])

    @property
    def secret_name(self) -> str:
        return self.secrets.name or f"{self.name}-secrets"

    def overlay_namespace(self, overlay: str) -> str:
        return self.overlays[overlay].namespace or f"{self.name}-{overlay}"


# --------------------------------------------------------------------------------------------------------------
# Loading


def load_spec(path: Path) -> Spec:
    """Read and validate a spec file; raise ``SpecError`` naming the file, line and field of the first problem."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return parse_spec(text, str(path))


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
        raise _spec_error(error, source, lines) from None
    for location, problem in _semantic_problems(spec):
        raise SpecError(source, problem, line=_nearest_line(location, lines), field=_field_path(location))
    return spec


def _semantic_problems(spec: Spec) -> list[tuple[tuple[str | int, ...], str]]:
    """Rules that span fields; each problem comes with the location of the field to fix."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for name in spec.overlays:
        if not _DNS1123_LABEL.fullmatch(name):
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
    return problems


def validate_drift_section(data: dict[str, Any], source: str,
                           lines: dict[yamlio.FieldPath, int] | None = None) -> Drift:
    """Validate only the ``drift:`` section of a spec document: a drift check must not fail on the rest of a
    spec written for another version of gitops-gen."""
    try:
        return Drift.model_validate(data.get("drift") or {})
    except ValidationError as error:
        raise _spec_error(error, source, lines or {}, prefix=("drift",)) from None


def _spec_error(error: ValidationError, source: str, lines: dict[yamlio.FieldPath, int],
                prefix: tuple[str, ...] = ()) -> SpecError:
    first = error.errors(include_url=False)[0]
    location = prefix + tuple(part for part in first["loc"] if not _is_pydantic_branch(part))
    field = _field_path(location)
    line = _nearest_line(location, lines)
    problem = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        unknown = str(location[-1])
        known = _known_keys(location[:-1])
        hint = difflib.get_close_matches(unknown, known, n=1, cutoff=0.6)
        problem = f"unknown field {unknown!r}" + (f"; did you mean {hint[0]!r}?" if hint else "")
        problem += f" (known fields here: {', '.join(known)})" if known and not hint else ""
    elif first["type"] in ("int_type", "greater_than", "greater_than_equal", "less_than_equal", "int_parsing"):
        problem = f"{problem} (got {first.get('input')!r})"
    return SpecError(source, problem, line=line, field=field or None)


def _is_pydantic_branch(part: str | int) -> bool:
    # Union branches show up in locations as their type names (`str`, `float`, `function-after[...]`).
    return isinstance(part, str) and (part in {"str", "int", "float", "Queue"} or "[" in part)


def _field_path(location: tuple[str | int, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _nearest_line(location: tuple[str | int, ...], lines: dict[yamlio.FieldPath, int]) -> int | None:
    for end in range(len(location), 0, -1):
        line = lines.get(location[:end])
        if line is not None:
            return line
    return None


def _known_keys(location: tuple[str | int, ...]) -> list[str]:
    model: Any = Spec
    for part in location:
        if isinstance(part, int):
            continue
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == part or n == part), None)
        if field is None:
            return []
        model = _model_of(field.annotation)
        if model is None:
            return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in getattr(annotation, "__args__", ()) or ():
        found = _model_of(argument)
        if found is not None:
            return found
    return None


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the spec (shipped as ``gitops_gen/spec.schema.json`` for editors)."""
    schema = Spec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "gitops-gen.yaml"
    return schema
