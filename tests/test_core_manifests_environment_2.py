"""How requests reach Mastodon, where its media live and how many of it run, pinned on the tree ``init`` writes
(tests/core_trees.py): the Ingress, the nginx.conf for NodePort exposure, the shared media volume, disruption
budgets and the overlays' replica and resource patches. Each test killed mutants of benchmarks/mutation.py that
survived before."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.core_trees import WrittenTree, tree_scope, written_tree

INGRESS = """\
drift: {ci: none}
name: fedi
mastodon: {localDomain: example.com, webDomain: social.example.com, alternateDomains: [example.net, example.org]}
expose:
  ingress: {className: nginx, tlsSecret: social-tls, annotations: {cert-manager.io/cluster-issuer: letsencrypt}}
storage:
  system: {size: 50Gi, nfs: {server: 192.0.2.10, path: /export/mastodon}}
sidekiq:
- name: default
  replicas: 2
  queues: [default, push, ingress, mailers, pull, fasp]
- name: scheduler
  queues: [scheduler]
overlays:
  staging:
    namespace: fedi-staging
    localDomain: staging.example.com
    web: {replicas: 1, resources: {limits: {memory: 1Gi}}}
    streaming: {resources: {requests: {cpu: 50m}, limits: {memory: 300Mi}}}
    sidekiq: {default: {replicas: 1, resources: {requests: {cpu: 250m}}}}
  production: {namespace: fedi}
"""

# Another controller, no web domain, no secret named; the media claim from a storage class.
TRAEFIK = """\
drift: {ci: none}
mastodon: {localDomain: example.com}
expose:
  ingress: {className: traefik}
storage:
  system: {storageClass: longhorn, size: 20Gi}
overlays:
  production: {namespace: mastodon}
"""

# No class: the annotations tell an nginx controller (F5's, or ingress-nginx); the user's own body limit wins.
ANNOTATED = """\
drift: {ci: none}
mastodon:
  localDomain: example.com
  s3: {bucket: media}
expose:
  ingress: {annotations: {nginx.org/client-max-body-size: 500m}}
overlays:
  production: {namespace: mastodon}
"""
ANNOTATED_INGRESS_NGINX = ANNOTATED.replace("nginx.org/client-max-body-size",
                                            "nginx.ingress.kubernetes.io/proxy-body-size")

NODEPORT = """\
drift: {ci: none}
name: home-lab
mastodon: {localDomain: example.com, webDomain: social.example.com, alternateDomains: [example.org]}
expose:
  type: NodePort
  nodePorts: {web: 30080, streaming: 30400}
  loadBalancerNodes: [node-a.lan, "2001:db8::10", 192.0.2.11]
overlays:
  production: {namespace: home}
"""

CLUSTER_IP = """\
drift: {ci: none}
mastodon: {localDomain: example.com}
expose: {type: ClusterIP}
overlays:
  production: {namespace: mastodon}
"""

SPECS = {"ingress": INGRESS, "traefik": TRAEFIK, "annotated": ANNOTATED,
         "annotated_ingress_nginx": ANNOTATED_INGRESS_NGINX,
         "nodeport": NODEPORT, "cluster_ip": CLUSTER_IP}


@pytest.fixture(scope=tree_scope)
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, WrittenTree]:
    return {name: written_tree(spec, tmp_path_factory.mktemp(name)) for name, spec in SPECS.items()}


def ingress(tree: WrittenTree, overlay: str = "production") -> dict[str, Any]:
    [found] = tree.documents(f"overlays/{overlay}/ingress.yaml")
    assert (found["apiVersion"], found["kind"]) == ("networking.k8s.io/v1", "Ingress")
    return dict(found)


def paths_by_host(found: dict[str, Any]) -> dict[str, dict[str, tuple[str, str, int]]]:
    return {rule["host"]: {p["path"]: (p["pathType"], p["backend"]["service"]["name"],
                                       p["backend"]["service"]["port"]["number"]) for p in rule["http"]["paths"]}
            for rule in found["spec"]["rules"]}


# --- Ingress ------------------------------------------------------------------------------------------------


def test_the_web_domain_gets_the_app_and_every_other_domain_its_well_known(trees: dict[str, WrittenTree]) -> None:
    for overlay, local in (("staging", "staging.example.com"), ("production", "example.com")):
        found = ingress(trees["ingress"], overlay)
        assert paths_by_host(found) == {
            # Prefix matching: /api/v1/streaming/... to streaming's port, everything else to web's.
            "social.example.com": {"/api/v1/streaming": ("Prefix", "fedi-streaming", 4000),
                                   "/": ("Prefix", "fedi-web", 3000)},
            # webfinger, host-meta and nodeinfo of the accounts' and the alternate domains: Mastodon answers them.
            local: {"/.well-known": ("Prefix", "fedi-web", 3000)},
            "example.net": {"/.well-known": ("Prefix", "fedi-web", 3000)},
            "example.org": {"/.well-known": ("Prefix", "fedi-web", 3000)},
        }
        # One certificate for every host the Ingress serves, from the secret the spec names.
        assert found["spec"]["tls"] == [{"hosts": ["social.example.com", local, "example.net", "example.org"],
                                         "secretName": "social-tls"}]
        assert found["spec"]["ingressClassName"] == "nginx"
        assert found["metadata"]["name"] == "fedi"
        assert found["metadata"]["labels"]["app.kubernetes.io/component"] == "ingress"


def test_nginx_controllers_get_mastodons_upload_limit_beside_the_users_annotations(
        trees: dict[str, WrittenTree]) -> None:
    # Mastodon takes uploads up to 99 MB; ingress-nginx's default limit is 1m, which refuses most videos.
    assert ingress(trees["ingress"])["metadata"]["annotations"] == {
        "nginx.ingress.kubernetes.io/proxy-body-size": "99m", "nginx.org/client-max-body-size": "99m",
        "cert-manager.io/cluster-issuer": "letsencrypt"}
    annotated = ingress(trees["annotated"])
    assert annotated["metadata"]["annotations"] == {"nginx.ingress.kubernetes.io/proxy-body-size": "99m",
                                                    "nginx.org/client-max-body-size": "500m"}  # the user's wins
    assert "ingressClassName" not in annotated["spec"]  # unset: the cluster's default class
    assert ingress(trees["annotated_ingress_nginx"])["metadata"]["annotations"] == {
        "nginx.ingress.kubernetes.io/proxy-body-size": "500m", "nginx.org/client-max-body-size": "99m"}


def test_another_controller_gets_no_annotations_and_a_certificate_named_after_the_app(
        trees: dict[str, WrittenTree]) -> None:
    found = ingress(trees["traefik"])
    assert "annotations" not in found["metadata"]
    assert found["spec"]["ingressClassName"] == "traefik"
    # Without a web domain the local domain serves the whole app, and needs no /.well-known rule of its own.
    assert paths_by_host(found) == {"example.com": {"/api/v1/streaming": ("Prefix", "mastodon-streaming", 4000),
                                                    "/": ("Prefix", "mastodon-web", 3000)}}
    assert found["spec"]["tls"] == [{"hosts": ["example.com"], "secretName": "mastodon-tls"}]


def test_only_ingress_exposure_writes_an_ingress(trees: dict[str, WrittenTree]) -> None:
    for name in ("nodeport", "cluster_ip"):
        assert "overlays/production/ingress.yaml" not in trees[name].paths(), name
        [kustomization] = trees[name].documents("overlays/production/kustomization.yaml")
        assert "ingress.yaml" not in kustomization["resources"], name
    for name in ("ingress", "traefik", "cluster_ip", "nodeport"):
        assert "overlays/production/httproute.yaml" not in trees[name].paths(), name


# --- nginx.conf for NodePort --------------------------------------------------------------------------------

Block = list[Any]  # [(directive, [args]) or (directive, [args], Block)]


def parse_nginx(text: str) -> Block:
    """nginx's configuration grammar, enough for this file: directives end at ';', blocks are in braces."""
    tokens = re.findall(r'"[^"]*"|\'[^\']*\'|[{};]|[^\s{};]+', re.sub(r"#[^\n]*", "", text))
    stack: list[Block] = [[]]
    words: list[str] = []
    for token in tokens:
        if token == ";":
            stack[-1].append((words[0], words[1:]))
            words = []
        elif token == "{":
            block: Block = []
            stack[-1].append((words[0], words[1:], block))
            stack.append(block)
            words = []
        elif token == "}":
            assert not words, f"unterminated directive {words}"
            stack.pop()
        else:
            words.append(token)
    assert len(stack) == 1 and not words, "unbalanced braces"
    return stack[0]


def directives(block: Block, name: str) -> list[list[str]]:
    return [entry[1] for entry in block if entry[0] == name]


def blocks(block: Block, name: str) -> dict[str, Block]:
    return {" ".join(entry[1]): entry[2] for entry in block if entry[0] == name and len(entry) == 3}


@pytest.fixture(scope=tree_scope)
def nginx_conf(trees: dict[str, WrittenTree]) -> Block:
    return parse_nginx(trees["nodeport"].text("overlays/production/nginx.conf"))


FORWARDING = [["Host", "$host"], ["X-Real-IP", "$remote_addr"], ["X-Forwarded-For", "$proxy_add_x_forwarded_for"],
              ["X-Forwarded-Proto", "$scheme"], ["Proxy", '""']]


def test_the_upstreams_are_every_node_on_the_node_ports_with_ipv6_bracketed(nginx_conf: Block) -> None:
    upstreams = blocks(nginx_conf, "upstream")
    assert set(upstreams) == {"home_lab_production_web", "home_lab_production_streaming"}  # nginx names: no '-'
    for name, port in (("home_lab_production_web", 30080), ("home_lab_production_streaming", 30400)):
        assert directives(upstreams[name], "server") == [
            [f"{node}:{port}", "max_fails=3", "fail_timeout=10s"]
            for node in ("node-a.lan", "[2001:db8::10]", "192.0.2.11")]
        assert directives(upstreams[name], "keepalive") == [["32"]]
    [mapping] = blocks(nginx_conf, "map").values()
    assert list(blocks(nginx_conf, "map")) == ["$http_upgrade $home_lab_production_connection"]
    assert mapping == [("default", ["upgrade"]), ("''", ["close"])]  # a websocket upgrade, else close


def test_plain_http_on_every_host_is_redirected_to_https(nginx_conf: Block) -> None:
    plain = [server for _, args, *body in nginx_conf if _ == "server" for server in body
             if ["80"] in directives(server, "listen")]
    [server] = plain
    assert directives(server, "listen") == [["80"], ["[::]:80"]]
    assert directives(server, "server_name") == [["social.example.com", "example.com", "example.org"]]
    assert blocks(server, "location") == {"/": [("return", ["301", "https://$host$request_uri"])]}


def _tls_servers(conf: Block) -> dict[str, Block]:
    servers = [body for name, _, *rest in conf if name == "server" for body in rest]
    return {directives(s, "server_name")[0][0]: s for s in servers
            if ["443", "ssl", "http2"] in directives(s, "listen")}


def test_every_https_host_has_its_own_certificate_and_http2(nginx_conf: Block) -> None:
    servers = _tls_servers(nginx_conf)
    assert set(servers) == {"social.example.com", "example.com", "example.org"}
    for host, server in servers.items():
        assert directives(server, "listen") == [["443", "ssl", "http2"], ["[::]:443", "ssl", "http2"]]
        assert directives(server, "server_name") == [[host]]
        assert directives(server, "ssl_certificate") == [[f"/etc/nginx/tls/{host}/fullchain.pem"]]
        assert directives(server, "ssl_certificate_key") == [[f"/etc/nginx/tls/{host}/privkey.pem"]]
        assert directives(server, "ssl_protocols") == [["TLSv1.2", "TLSv1.3"]]


def test_every_proxying_location_repeats_the_forwarding_headers(nginx_conf: Block) -> None:
    app = _tls_servers(nginx_conf)["social.example.com"]
    assert directives(app, "client_max_body_size") == [["99m"]]  # Mastodon's largest upload (video)
    assert directives(app, "keepalive_timeout") == [["70"]]
    assert directives(app, "proxy_http_version") == [["1.1"]]  # keepalive to the upstreams, websockets
    assert directives(app, "proxy_redirect") == [["off"]]
    locations = blocks(app, "location")
    assert set(locations) == {"^~ /api/v1/streaming", "^~ /packs/", "^~ /system/", "/"}
    for match, location in locations.items():
        # A location's own proxy_set_header discards every one inherited from server: all are repeated.
        headers = directives(location, "proxy_set_header")
        assert headers[:5] == FORWARDING, match
    streaming = locations["^~ /api/v1/streaming"]
    assert directives(streaming, "proxy_set_header")[5:] == [["Upgrade", "$http_upgrade"],
                                                              ["Connection", "$home_lab_production_connection"]]
    assert directives(streaming, "proxy_pass") == [["http://home_lab_production_streaming"]]
    assert directives(streaming, "proxy_buffering") == [["off"]]  # events go out as they come
    assert directives(streaming, "proxy_read_timeout") == [["1h"]]
    assert directives(streaming, "tcp_nodelay") == [["on"]]
    for match in ("^~ /packs/", "^~ /system/", "/"):
        assert directives(locations[match], "proxy_set_header")[5:] == [["Connection", '""']], match  # keepalive
        assert directives(locations[match], "proxy_pass") == [["http://home_lab_production_web"]], match


def test_only_fingerprinted_assets_and_media_are_cached_as_immutable(nginx_conf: Block) -> None:
    locations = blocks(_tls_servers(nginx_conf)["social.example.com"], "location")
    immutable = ["Cache-Control", '"public, max-age=31536000, immutable"']
    for match in ("^~ /packs/", "^~ /system/"):
        assert directives(locations[match], "proxy_hide_header") == [["Cache-Control"]], match
        assert immutable in directives(locations[match], "add_header"), match
    assert ["X-Content-Type-Options", "nosniff"] in directives(locations["^~ /system/"], "add_header")
    assert directives(locations["/"], "add_header") == []


def test_the_other_domains_answer_only_well_known_by_a_redirect_to_the_web_domain(nginx_conf: Block) -> None:
    servers = _tls_servers(nginx_conf)
    for host in ("example.com", "example.org"):
        assert blocks(servers[host], "location") == {
            "/.well-known/": [("add_header", ["Access-Control-Allow-Origin", '"*"']),
                              ("return", ["301", "https://social.example.com$request_uri"])],
            "/": [("return", ["404"])]}


def test_the_head_of_the_file_says_where_it_goes_and_what_it_points_at(trees: dict[str, WrittenTree]) -> None:
    text = trees["nodeport"].text("overlays/production/nginx.conf")
    assert "# nginx load balancer for social.example.com: include this file in the http block" in text
    assert "# Node ports: web 30080, streaming 30400; nodes: node-a.lan, 2001:db8::10, 192.0.2.11.\n" in text
    assert "# example.com is the LOCAL_DOMAIN" in text and "# example.org is one of ALTERNATE_DOMAINS" in text


def test_only_nodeport_exposure_with_nodes_writes_an_nginx_conf(trees: dict[str, WrittenTree]) -> None:
    for name in ("ingress", "cluster_ip"):
        assert "overlays/production/nginx.conf" not in trees[name].paths(), name


# --- the media volume ---------------------------------------------------------------------------------------


def test_an_nfs_export_is_a_static_volume_per_overlay_bound_only_to_its_own_claim(
        trees: dict[str, WrittenTree]) -> None:
    volumes = {}
    for overlay in ("staging", "production"):
        volume, claim = trees["ingress"].documents(f"overlays/{overlay}/storage.yaml")
        assert (volume["kind"], claim["kind"]) == ("PersistentVolume", "PersistentVolumeClaim")
        volumes[overlay] = volume["metadata"]["name"]
        # Cluster-scoped: each overlay's volume has a name of its own, and its claim selects it by label.
        assert volume["metadata"]["labels"]["gitops-gen.io/volume"] == volumes[overlay]
        assert claim["spec"]["selector"] == {"matchLabels": {"gitops-gen.io/volume": volumes[overlay]}}
        assert claim["metadata"]["name"] == "fedi-system"  # what the pods mount (namespaced, the same name)
        # An empty class on both sides: no provisioner races to create a volume of its own for the claim.
        assert volume["spec"]["storageClassName"] == claim["spec"]["storageClassName"] == ""
        assert volume["spec"]["accessModes"] == claim["spec"]["accessModes"] == ["ReadWriteMany"]
        assert volume["spec"]["capacity"] == claim["spec"]["resources"]["requests"] == {"storage": "50Gi"}
        assert volume["spec"]["nfs"] == {"server": "192.0.2.10", "path": "/export/mastodon"}
        assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Retain"  # deleting the claim keeps the media
        assert volume["apiVersion"] == claim["apiVersion"] == "v1"
        assert volume["metadata"]["labels"]["app.kubernetes.io/component"] == "storage"
    assert volumes == {"staging": "fedi-staging-system", "production": "fedi-production-system"}


def test_a_storage_class_provisions_the_shared_claim(trees: dict[str, WrittenTree]) -> None:
    [claim] = trees["traefik"].documents("overlays/production/storage.yaml")
    assert claim["kind"] == "PersistentVolumeClaim"
    assert claim["metadata"]["labels"]["app.kubernetes.io/component"] == "storage"
    assert claim["spec"] == {"accessModes": ["ReadWriteMany"],  # web and sidekiq pods on several nodes
                             "resources": {"requests": {"storage": "20Gi"}}, "storageClassName": "longhorn"}


def test_media_on_s3_need_no_shared_volume(trees: dict[str, WrittenTree]) -> None:
    assert "overlays/production/storage.yaml" not in trees["annotated"].paths()
    [kustomization] = trees["annotated"].documents("overlays/production/kustomization.yaml")
    assert "storage.yaml" not in kustomization["resources"]


# --- replicas per overlay -----------------------------------------------------------------------------------


def test_every_workload_with_more_than_one_replica_gets_a_disruption_budget(trees: dict[str, WrittenTree]) -> None:
    found = trees["ingress"].documents("overlays/production/disruption-budgets.yaml")
    assert {b["kind"] for b in found} == {"PodDisruptionBudget"}
    budgets = {b["metadata"]["name"]: b for b in found}
    assert set(budgets) == {"fedi-web", "fedi-streaming", "fedi-sidekiq-default"}  # not the one scheduler
    worker = budgets["fedi-sidekiq-default"]
    assert worker["apiVersion"] == "policy/v1"
    assert worker["spec"]["maxUnavailable"] == 1  # a node drain takes one pod at a time
    # Only this worker's pods: the scheduler's share the component label.
    assert worker["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "mastodon", "app.kubernetes.io/part-of": "fedi",
        "app.kubernetes.io/component": "sidekiq", "gitops-gen.io/sidekiq-worker": "default"}
    for name, component in (("fedi-web", "web"), ("fedi-streaming", "streaming"), ("fedi-sidekiq-default", "sidekiq")):
        assert budgets[name]["metadata"]["labels"]["app.kubernetes.io/component"] == component
        assert budgets[name]["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == component
    # Staging runs one web and one default worker: a budget there would block every node drain.
    staging = {b["metadata"]["name"] for b in trees["ingress"].documents("overlays/staging/disruption-budgets.yaml")}
    assert staging == {"fedi-streaming"}


def test_an_overlay_patches_only_the_replicas_and_resources_it_sets(trees: dict[str, WrittenTree]) -> None:
    assert not any(path.startswith("overlays/production/patches/") for path in trees["ingress"].paths())
    [kustomization] = trees["ingress"].documents("overlays/staging/kustomization.yaml")
    patched = {entry["path"] for entry in kustomization["patches"] if entry["path"].startswith("patches/")}
    assert patched == {"patches/fedi-web.yaml", "patches/fedi-streaming.yaml", "patches/fedi-sidekiq-default.yaml"}
    [web] = trees["ingress"].documents("overlays/staging/patches/fedi-web.yaml")
    assert (web["apiVersion"], web["kind"], web["metadata"]) == ("apps/v1", "Deployment", {"name": "fedi-web"})
    assert web["spec"] == {"replicas": 1, "template": {"spec": {"containers": [{
        "name": "web", "resources": {"limits": {"memory": "1Gi"}}}]}}}
    [streaming] = trees["ingress"].documents("overlays/staging/patches/fedi-streaming.yaml")
    assert streaming["spec"] == {"template": {"spec": {"containers": [{  # merged into the container by name
        "name": "streaming", "resources": {"requests": {"cpu": "50m"}, "limits": {"memory": "300Mi"}}}]}}}
    [worker] = trees["ingress"].documents("overlays/staging/patches/fedi-sidekiq-default.yaml")
    assert worker["spec"] == {"replicas": 1, "template": {"spec": {"containers": [{
        "name": "sidekiq", "resources": {"requests": {"cpu": "250m"}}}]}}}


def test_the_rendered_overlay_runs_the_overridden_replicas_and_resources(trees: dict[str, WrittenTree]) -> None:
    deployments = trees["ingress"].kinds("overlays/staging", "Deployment")
    assert deployments["fedi-web"]["spec"]["replicas"] == 1
    assert deployments["fedi-sidekiq-default"]["spec"]["replicas"] == 1
    assert deployments["fedi-sidekiq-scheduler"]["spec"]["replicas"] == 1
    streaming = deployments["fedi-streaming"]["spec"]
    assert streaming["replicas"] == 2  # only its resources are set in staging
    assert streaming["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] == "50m"
