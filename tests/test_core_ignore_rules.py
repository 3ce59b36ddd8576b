"""What an ignore rule (``--ignore``, ``drift.ignore``) selects and covers, and the rules an HPA implies
(gitops_gen/drift/ignore_rules.py). Each case was a surviving mutant of benchmarks/mutation.py."""

from __future__ import annotations

from gitops_gen.drift.fieldpath import Index, Key, Member
from gitops_gen.drift.ignore_rules import IgnoreRule, hpa_ignore_rules, parse_ignore

WEB = ("spec", "template", "spec", "containers", Key((("name", "web"),)))


def test_each_selector_form_names_its_parts() -> None:
    assert parse_ignore("Deployment:/a") == IgnoreRule(("/a",), kind="Deployment")
    assert parse_ignore("Deployment/web:/a") == IgnoreRule(("/a",), kind="Deployment", name="web")
    assert parse_ignore("Deployment/ns/web:/a") == IgnoreRule(("/a",), kind="Deployment", namespace="ns", name="web")
    assert parse_ignore("apps/Deployment/ns/web:/a, /b ,") == IgnoreRule(
        ("/a", "/b"), kind="Deployment", namespace="ns", name="web", group="apps")
    # Only the first colon ends the selector: a pointer may hold one.
    assert parse_ignore("ConfigMap/c:/data/a:b").pointers == ("/data/a:b",)


def test_a_rule_selects_objects_by_globs_and_the_whole_object_only_with_a_root_pointer() -> None:
    rule = parse_ignore("apps/Deploy*/ns/w?b:/spec/replicas")
    assert rule.selects(("apps", "Deployment", "ns", "web"))
    assert not rule.selects(("", "Deployment", "ns", "web"))
    assert not rule.selects(("apps", "Deployment", "other", "web"))
    assert not rule.whole_object and parse_ignore("Secret:/").whole_object
    assert IgnoreRule(("",)).whole_object


def test_pointers_cover_fields_list_items_by_key_or_position_and_escaped_names() -> None:
    assert parse_ignore("*:/spec/template/spec/containers/web/image").covers((*WEB, "image"))
    assert parse_ignore("*:/spec/template/spec/containers/web").covers((*WEB, "env"))  # and what lies under
    assert not parse_ignore("*:/spec/template/spec/containers/sidecar").covers((*WEB, "image"))
    assert parse_ignore("*:/spec/*/spec/containers/*/image").covers((*WEB, "image"))
    assert not parse_ignore("*:/spec/*/spec/containers/*/image").covers((*WEB, "args"))
    assert parse_ignore("*:/spec/args/1").covers(("spec", "args", Index(1)))
    assert not parse_ignore("*:/spec/args/1").covers(("spec", "args", Index(2)))
    assert parse_ignore("*:/metadata/finalizers/a").covers(("metadata", "finalizers", Member("a")))
    assert not parse_ignore("*:/metadata/finalizers/a").covers(("metadata", "finalizers", Member("b")))
    # RFC 6901 escapes: ~1 is "/", ~0 is "~".
    assert parse_ignore("*:/metadata/annotations/a~1b~0c").covers(("metadata", "annotations", "a/b~c"))
    assert parse_ignore("*:/XY/z").covers(("XY", "z"))
    assert not parse_ignore("*:/spec/replicas/x").covers(("spec", "replicas"))  # longer than the path
    assert not parse_ignore("*:/spec/replicas").covers(("spec", "paused"))


def test_an_hpa_implies_a_rule_for_its_targets_replicas_in_its_namespace() -> None:
    def hpa(target: dict[str, str], namespace: str | None = "ns") -> dict[str, object]:
        metadata = {"name": "h", **({"namespace": namespace} if namespace else {})}
        return {"kind": "HorizontalPodAutoscaler", "metadata": metadata, "spec": {"scaleTargetRef": target}}

    assert hpa_ignore_rules([
        {"kind": "Deployment", "metadata": {"name": "web"}},
        hpa({"kind": "Deployment"}),  # no name: nothing to ignore
        hpa({"name": "web"}),  # no kind
        hpa({"kind": "Deployment", "name": "web"}),
        hpa({"kind": "StatefulSet", "name": "db"}, namespace=None),
    ]) == (IgnoreRule(("/spec/replicas",), kind="Deployment", name="web", namespace="ns"),
           IgnoreRule(("/spec/replicas",), kind="StatefulSet", name="db"))
