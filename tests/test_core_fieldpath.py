"""How drift names a field and decides that one path lies under another (gitops_gen/drift/fieldpath.py), as
the reports show them and as ignore rules and the comparison use them. Each case was a surviving mutant of
benchmarks/mutation.py."""

from __future__ import annotations

from gitops_gen.drift.fieldpath import ABSENT, Index, Key, Member, find_item, format_path, is_empty, is_prefix
from gitops_gen.drift.policy import INSTANCE, MANAGED_BY, tracking_selector

CONTAINER = ("spec", "template", "spec", "containers", Key((("name", "web"),)))


def test_paths_quote_every_key_that_is_not_a_plain_word_wherever_it_stands() -> None:
    assert format_path(("metadata", "annotations", "a.b/c", "d e")) == 'metadata.annotations["a.b/c"]["d e"]'
    assert format_path(("x.y", "z")) == '["x.y"].z'


def test_keys_and_set_members_with_structured_values_are_written_as_sorted_json() -> None:
    assert format_path(("ports", Key((("port", {"b": 1, "a": 2}),)))) == 'ports[port={"a": 2, "b": 1}]'
    assert format_path(("finalizers", Member({"z": 0, "y": 1})), ) == 'finalizers[{"y": 1, "z": 0}]'
    assert format_path(("args", Index(2))) == "args[2]"


def test_a_path_lies_under_a_prefix_only_when_every_segment_matches() -> None:
    assert is_prefix(CONTAINER, (*CONTAINER, "image"))
    assert is_prefix((*CONTAINER[:4], Key((("name", "web"),))), CONTAINER)
    assert not is_prefix((*CONTAINER, "image"), CONTAINER)  # longer than the path
    assert not is_prefix(("spec", "replicas"), ("spec", "template"))
    assert not is_prefix(("spec", "template", "spec", "containers", Key((("name", "sidecar"),))), CONTAINER)
    # A keyed item never matches a field of the same position.
    assert not is_prefix(("spec", "x", Key((("name", "web"),))), ("spec", "x", "name"))
    assert not is_prefix(("spec", "x", "name"), ("spec", "x", Key((("name", "web"),))))


def test_only_zero_is_an_empty_number() -> None:
    assert is_empty(0) and is_empty(ABSENT) and is_empty(None) and is_empty("") and is_empty(False)
    assert not is_empty(1) and not is_empty(-1) and not is_empty("0")


def test_a_port_without_protocol_is_found_by_its_tcp_key() -> None:
    ports = [{"containerPort": 3000}, {"containerPort": 3000, "protocol": "UDP"}]
    tcp = Key((("containerPort", 3000), ("protocol", "TCP")))
    assert find_item(ports, tcp) == {"containerPort": 3000}
    assert find_item({"not": "a list"}, tcp) is ABSENT


def test_the_tracking_selector_joins_the_shared_labels_with_a_comma() -> None:
    labels = {MANAGED_BY: "gitops-gen", INSTANCE: "m-prod"}
    assert tracking_selector([{"metadata": {"labels": labels}}, {"metadata": {"labels": dict(labels, x="y")}}]) == (
        f"{MANAGED_BY}=gitops-gen,{INSTANCE}=m-prod")
    assert tracking_selector([{"metadata": {"labels": labels}}, {"metadata": {"labels": {INSTANCE: "other"}}}]) == ""
