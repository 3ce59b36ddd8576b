"""The secrets catalogue, the value generators, the providers' objects and `gitops-gen secrets`."""

from __future__ import annotations

import base64
import re
import shlex
import string
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gitops_gen.cli import main
from gitops_gen.errors import InputError
from gitops_gen.generate.catalogue import OTP_SECRET, S3_KEYS, SEARCH_KEYS, backend_keys, catalogue
from gitops_gen.generate.secrets import (
    GENERATED_KEYS,
    SECRET_KEY_NAMES,
    SECRET_KEYS,
    USER_KEYS,
    ExistingSecret,
    ExternalSecrets,
    SopsSecrets,
    Source,
    active_record_key,
    external_secret,
    flux_decryption,
    generate_values,
    rails_secret,
    referenced_secret_keys,
    secret_env,
    secret_objects,
    sops_config,
    sops_creation_rule,
    streaming_keys,
    vapid_keys,
)
from gitops_gen.spec.load import parse_spec
from gitops_gen.spec.secrets import GENERATED_KEY_NAMES, SUPPLIED_KEY_NAMES

# A replica with its own user, sentinels with their own password, a separate cache and Sidekiq Redis: every
# password mastodon.database and mastodon.redis can bring.
EVERY_BACKEND = ("mastodon:\n  database: {replica: {host: r, user: \"u$}\"}}\n  redis:\n"
                 "    sentinel: {master: m, hosts: [s], ownPassword: true}\n"
                 "    cache: {sentinel: {master: c, hosts: [s], ownPassword: true}}\n"
                 "    sidekiq: {sentinel: {master: k, hosts: [s], ownPassword: true}}\n")
AGE = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"


def test_catalogue_names_every_key_mastodon_needs_once() -> None:
    assert set(SECRET_KEY_NAMES) == {
        "SECRET_KEY_BASE", "VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY",
        "ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY", "ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT",
        "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY", "DB_PASS", "REDIS_PASSWORD", "SMTP_LOGIN", "SMTP_PASSWORD",
    }
    assert len(SECRET_KEY_NAMES) == len(set(SECRET_KEY_NAMES))
    assert set(USER_KEYS) == {"DB_PASS", "REDIS_PASSWORD", "SMTP_LOGIN", "SMTP_PASSWORD"}
    assert all(key.option for key in SECRET_KEYS if key.source is Source.USER)


def _catalogue(text: str) -> dict[str, tuple[Source, bool]]:
    return {key.name: (key.source, key.optional) for key in catalogue(parse_spec(text))}


MASTODON_4_3 = ("images:\n  mastodon: {repository: ghcr.io/mastodon/mastodon, tag: v4.3.8}\n"
                "sidekiq:\n  - {name: all, queues: [default, push, ingress, mailers, pull, scheduler]}\n")


def test_the_default_spec_has_the_default_catalogue_and_no_otp_secret_for_mastodon_4_4_and_later() -> None:
    assert catalogue(parse_spec("")) == SECRET_KEYS
    assert "OTP_SECRET" not in _catalogue("images:\n  mastodon: {repository: ghcr.io/mastodon/mastodon, tag: v4.4.0}\n")


def test_mastodon_before_4_4_still_needs_a_generated_otp_secret() -> None:
    keys = _catalogue(MASTODON_4_3)
    assert keys["OTP_SECRET"] == (Source.GENERATED, False)
    assert set(keys) == {*SECRET_KEY_NAMES, "OTP_SECRET"}
    assert "OTP_SECRET" in generate_values(catalogue(parse_spec(MASTODON_4_3)))


def test_s3_brings_its_required_credentials_and_extra_keys_follow_the_spec() -> None:
    keys = _catalogue("mastodon:\n  s3: {bucket: media}\nsecrets:\n  extraKeys:\n    - ES_PASS\n"
                      "    - {name: DEEPL_API_KEY, optional: true}\n    - SMTP_PASSWORD\n")
    assert list(keys)[-4:] == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "ES_PASS", "DEEPL_API_KEY"]
    assert keys["AWS_ACCESS_KEY_ID"] == keys["AWS_SECRET_ACCESS_KEY"] == keys["ES_PASS"] == (Source.USER, False)
    assert keys["DEEPL_API_KEY"] == (Source.USER, True)
    assert keys["SMTP_PASSWORD"] == (Source.USER, False)  # listed: now required
    assert "AWS_ACCESS_KEY_ID" not in _catalogue("")


def test_the_spec_refuses_extra_keys_that_gitops_gen_generates_and_agrees_with_the_catalogue_on_them() -> None:
    generated = {key.name for key in (*SECRET_KEYS, OTP_SECRET) if key.source is Source.GENERATED}
    assert generated == set(GENERATED_KEY_NAMES)
    # extraEnv refuses every secret key by these names: the spec must know all the user's keys too.
    supplied = {key.name for key in (*SECRET_KEYS, *S3_KEYS, *SEARCH_KEYS, *backend_keys(parse_spec(EVERY_BACKEND)))
                if key.source is Source.USER}
    assert supplied == set(SUPPLIED_KEY_NAMES)


def test_streaming_reads_only_the_database_and_redis_keys() -> None:
    keys = catalogue(parse_spec("secrets:\n  extraKeys: [ES_PASS, DATABASE_URL, REDIS_SENTINEL_PASSWORD]\n"))
    assert [key.name for key in streaming_keys(keys)] == [
        "DB_PASS", "REDIS_PASSWORD", "DATABASE_URL", "REDIS_SENTINEL_PASSWORD"]


def test_generate_values_covers_exactly_the_generated_keys() -> None:
    assert tuple(generate_values()) == GENERATED_KEYS


def test_rails_secret_is_128_hex_characters_and_fresh_each_time() -> None:
    value = rails_secret()
    assert re.fullmatch(r"[0-9a-f]{128}", value)
    assert rails_secret() != value


def test_active_record_keys_are_32_alphanumeric_characters_like_db_encryption_init() -> None:
    value = active_record_key()
    assert len(value) == 32 and set(value) <= set(string.ascii_letters + string.digits)
    assert active_record_key() != value


def _urlsafe_decode(text: str) -> bytes:
    assert re.fullmatch(r"[A-Za-z0-9_-]+=*", text), text
    return base64.urlsafe_b64decode(text)


def test_vapid_pair_is_a_p256_scalar_and_its_uncompressed_public_point_as_webpush_encodes_them() -> None:
    pair = vapid_keys()
    # Base64.urlsafe_encode64 keeps the padding: 32 bytes -> 44 characters, 65 bytes -> 88.
    assert len(pair.private_key) == 44 and len(pair.public_key) == 88
    scalar = _urlsafe_decode(pair.private_key)
    point = _urlsafe_decode(pair.public_key)
    assert len(scalar) == 32 and len(point) == 65 and point[0] == 0x04
    derived = ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1()).public_key()
    assert derived.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint) == point
    assert vapid_keys().private_key != pair.private_key


def test_secret_env_gives_every_key_by_secret_key_ref_and_marks_only_optional_ones() -> None:
    env = secret_env("mastodon-secrets")
    assert [entry["name"] for entry in env] == list(SECRET_KEY_NAMES)
    refs = {entry["name"]: entry["valueFrom"]["secretKeyRef"] for entry in env}
    assert all(ref["name"] == "mastodon-secrets" and ref["key"] == key for key, ref in refs.items())
    assert {key for key, ref in refs.items() if ref.get("optional")} == {"REDIS_PASSWORD", "SMTP_LOGIN",
                                                                          "SMTP_PASSWORD"}


def test_referenced_secret_keys_finds_every_required_reference_in_every_container() -> None:
    pod = {"containers": [{"env": secret_env("a")}], "initContainers": [{"env": secret_env("b")[:1]}]}
    objects = [{"kind": "Deployment", "spec": {"template": {"spec": pod}}}]
    required = set(SECRET_KEY_NAMES) - {"REDIS_PASSWORD", "SMTP_LOGIN", "SMTP_PASSWORD"}
    assert referenced_secret_keys(objects) == {"a": required, "b": {"SECRET_KEY_BASE"}}


def test_external_secret_maps_every_key_from_the_named_store_with_the_prefix() -> None:
    provider = ExternalSecrets(store_name="vault", store_kind="ClusterSecretStore", remote_key_prefix="m/prod/")
    obj = external_secret(provider, "mastodon-production")
    assert obj["apiVersion"] == "external-secrets.io/v1beta1" and obj["kind"] == "ExternalSecret"
    assert obj["spec"]["secretStoreRef"] == {"name": "vault", "kind": "ClusterSecretStore"}
    assert obj["spec"]["target"]["name"] == provider.secret_name
    assert {(d["secretKey"], d["remoteRef"]["key"]) for d in obj["spec"]["data"]} == {
        (key, f"m/prod/{key}") for key in SECRET_KEY_NAMES}
    assert obj["metadata"]["labels"]["app.kubernetes.io/component"] == "secrets"


def test_only_external_secrets_adds_objects_and_none_is_a_secret() -> None:
    assert secret_objects(ExistingSecret(), "ns") == []
    assert secret_objects(SopsSecrets(age_recipients=(AGE,)), "ns") == []
    assert [o["kind"] for o in secret_objects(ExternalSecrets(store_name="s"), "ns")] == ["ExternalSecret"]


def test_sops_rule_encrypts_only_the_data_of_the_overlays_enc_files_for_the_recipients() -> None:
    second = "age1" + "q" * 58
    rule = sops_creation_rule(SopsSecrets(age_recipients=(AGE, second)), "production")
    assert rule["age"] == f"{AGE},{second}"
    assert rule["encrypted_regex"] == "^(data|stringData)$"
    pattern = re.compile(rule["path_regex"])
    assert pattern.search("overlays/production/secrets.enc.yaml")
    assert pattern.search("/home/me/repo/overlays/production/secrets/mastodon.enc.yaml")
    assert not pattern.search("overlays/staging/secrets.enc.yaml")
    assert not pattern.search("overlays/production/kustomization.yaml")
    config = sops_config({"staging": SopsSecrets(age_recipients=(second,)),
                          "production": SopsSecrets(age_recipients=(AGE,))})
    assert [r["age"] for r in config["creation_rules"]] == [AGE, second]


def test_flux_decryption_is_the_sops_stanza_only_for_sops() -> None:
    sops = SopsSecrets(age_recipients=(AGE,), decryption_secret="age-key")
    assert flux_decryption(sops) == {"provider": "sops", "secretRef": {"name": "age-key"}}
    assert flux_decryption(ExistingSecret()) is None
    assert flux_decryption(ExternalSecrets(store_name="s")) is None


# --- the command ---------------------------------------------------------------------------------------------

def test_secrets_lists_generated_and_user_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["secrets", "--namespace", "mastodon"]) == 0
    out = capsys.readouterr().out
    generated, supplied = out.split("You supply")
    assert all(key in generated for key in GENERATED_KEYS)
    assert all(key in supplied for key in USER_KEYS) and "--db-password" in supplied
    assert "mastodon-secrets in namespace mastodon" in out


def _literals(command: str) -> dict[str, str]:
    words = shlex.split(command.replace("\\\n", " "))
    assert words[:5] == ["kubectl", "create", "secret", "generic", words[4]]
    return dict(word.removeprefix("--from-literal=").split("=", 1) for word in words
                if word.startswith("--from-literal="))


def test_kubectl_command_has_every_key_fresh_values_and_no_placeholder_text(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["secrets", "--kubectl", "--name", "m-secrets", "-n", "mastodon", "--smtp-login", "bob o'neil"]) == 0
    first = capsys.readouterr()
    assert first.out.startswith("kubectl create secret generic m-secrets --namespace mastodon")
    literals = _literals(first.out)
    assert list(literals) == list(SECRET_KEY_NAMES)
    assert literals["SMTP_LOGIN"] == "bob o'neil"
    assert literals["DB_PASS"].startswith("${DB_PASS:?") and literals["REDIS_PASSWORD"] == "${REDIS_PASSWORD-}"
    assert "stored nowhere" in first.err
    assert list(tmp_path.iterdir()) == []  # nothing written

    assert main(["secrets", "--kubectl"]) == 0
    again = _literals(capsys.readouterr().out)
    assert all(again[key] != literals[key] for key in GENERATED_KEYS)


def test_user_key_descriptions_are_safe_inside_the_shell_expansion() -> None:
    for key in (*SECRET_KEYS, *catalogue(parse_spec(EVERY_BACKEND))):
        if key.source is Source.USER:
            assert not set(key.how) & set('$`"\\}'), key.name


@pytest.mark.parametrize("args", [["--name", "Bad_Name"], ["--namespace", "a.b"]])
def test_invalid_secret_name_or_namespace_is_an_error_with_exit_2(
        args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["secrets", "--kubectl", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and args[0] in captured.err


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: SopsSecrets(age_recipients=()), "empty"),
        (lambda: SopsSecrets(age_recipients=("AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ",)), "private key"),
        (lambda: ExternalSecrets(store_name=" "), "store_name"),
    ],
)
def test_bad_provider_parameters_are_refused_with_the_field_named(make: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        make()


def test_secrets_refuses_a_bad_spec_with_one_line_naming_the_file_and_field(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "gitops-gen.yaml").write_text("secrets:\n  extraKeys: [ES-PASS]\n")
    assert main(["secrets", "--kubectl", "--repo", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
    assert f"{tmp_path / 'gitops-gen.yaml'}:2: secrets.extraKeys[0].name:" in captured.err
    assert [p.name for p in tmp_path.iterdir()] == ["gitops-gen.yaml"]
