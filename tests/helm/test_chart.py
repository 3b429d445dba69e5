"""The Helm chart, checked offline: helm lint, helm template, Kubernetes schemas, and what must never
be in a rendered manifest."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from connector.config import Role, load_settings

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "vihat-connector"
ALL_FEATURES = Path(__file__).with_name("all-features.yaml")
KUBE_VERSION = "1.31.0"
SECRET_VALUES = [
    "pw-not-in-configmap",
    "rest-key-not-in-configmap",
    "rest-secret-not-in-configmap",
    "token-not-in-configmap",
]


def helm_binary() -> str:
    cached = Path(os.environ.get("VIHAT_CACHE_DIR", Path.home() / ".cache" / "vihat-connector")) / "bin" / "helm"
    found = str(cached) if cached.exists() else shutil.which("helm")
    assert found, "helm is missing: scripts/bootstrap builds it"
    return found


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([helm_binary(), *args], capture_output=True, text=True, check=False)


def render(*args: str) -> list[dict[str, Any]]:
    result = helm("template", "r1", str(CHART), "--kube-version", KUBE_VERSION, *args)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


@pytest.mark.parametrize("values", [[], ["-f", str(ALL_FEATURES)]], ids=["default", "all-features"])
def test_lint_and_kubernetes_schemas(values: list[str]) -> None:
    lint = helm("lint", str(CHART), "--kube-version", KUBE_VERSION, "--strict", *values)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    for doc in render(*values):
        if doc["apiVersion"] in ("keda.sh/v1alpha1", "monitoring.coreos.com/v1"):
            continue  # CRDs: no schema offline; their shape is asserted below
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)


def test_no_secret_in_a_configmap_and_all_in_the_secret() -> None:
    docs = render("-f", str(ALL_FEATURES))
    for config_map in by_kind(docs, "ConfigMap"):
        text = yaml.safe_dump(config_map)
        assert not [value for value in SECRET_VALUES if value in text]
    [secret] = by_kind(docs, "Secret")
    assert set(SECRET_VALUES) <= set(secret["stringData"].values())


def test_existing_secret_is_used_and_no_secret_rendered() -> None:
    docs = render("--set", "existingSecret=vihat-credentials")
    assert by_kind(docs, "Secret") == []
    [deployment] = by_kind(docs, "Deployment")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["envFrom"] == [{"secretRef": {"name": "vihat-credentials"}}]


def test_rendered_config_is_a_valid_connector_config(tmp_path: Path) -> None:
    [config_map] = [c for c in by_kind(render(), "ConfigMap")]
    path = tmp_path / "connector.yaml"
    path.write_text(config_map["data"]["connector.yaml"])
    settings = load_settings(path)
    assert settings.kafka.bootstrap_servers == "kafka:9092" and settings.smpp.port == 7888


def test_one_deployment_per_role_with_keda_and_no_hpa() -> None:
    docs = render("-f", str(ALL_FEATURES))
    deployments = {d["metadata"]["name"]: d for d in by_kind(docs, "Deployment")}
    assert set(deployments) == {f"r1-vihat-connector-{role.value}" for role in Role}
    roles = {
        name: next(
            e["value"] for e in d["spec"]["template"]["spec"]["containers"][0]["env"] if e["name"] == "VIHAT_ROLES"
        )
        for name, d in deployments.items()
    }
    assert roles == {f"r1-vihat-connector-{role.value}": f'["{role.value}"]' for role in Role}
    assert "replicas" not in deployments["r1-vihat-connector-dispatcher"]["spec"]  # KEDA owns it
    assert deployments["r1-vihat-connector-webhook"]["spec"]["replicas"] == 2
    assert by_kind(docs, "HorizontalPodAutoscaler") == []
    [scaled] = by_kind(docs, "ScaledObject")
    assert scaled["spec"]["scaleTargetRef"]["name"] == "r1-vihat-connector-dispatcher"
    assert scaled["spec"]["triggers"][0]["metadata"]["consumerGroup"] == "vihat-connector"
    [monitor] = by_kind(docs, "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    assert len(by_kind(docs, "PodDisruptionBudget")) == len(Role)


def test_pod_hardening_and_probes() -> None:
    [deployment] = by_kind(render(), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert by_kind(render(), "ServiceMonitor") == [] and by_kind(render(), "ScaledObject") == []


@pytest.mark.parametrize("bad", ["roles={mailer}", "replicaCount=-1", "service.port=0", "unknownKey=1"])
def test_values_schema_rejects_bad_values(bad: str) -> None:
    result = helm("template", "r1", str(CHART), "--kube-version", KUBE_VERSION, "--set", bad)
    assert result.returncode != 0 and "schema" in result.stderr.lower()


def test_dashboard_queries_only_metrics_the_connector_exports() -> None:
    import json
    import re

    dashboard = json.loads((CHART / "dashboards" / "vihat-connector.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"vihat_[a-z_]+", target["expr"])
    }
    source = (ROOT / "connector" / "metrics.py").read_text()
    defined = set(re.findall(r'"(vihat_[a-z_]+)"', source))
    exported = (
        defined | {f"{n}_total" for n in defined} | {f"{n}_bucket" for n in defined} | {f"{n}_info" for n in defined}
    )
    assert queried and queried <= exported, queried - exported


def container_env(deployment: dict[str, Any]) -> dict[str, Any]:
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_plain_helm_template_works_without_kube_version() -> None:
    result = helm("template", "r1", str(CHART))
    assert result.returncode == 0, result.stderr


def test_the_chart_runs_every_role_the_connector_has_by_default() -> None:
    """Fails as soon as the connector gains a role the chart cannot run."""
    import json

    schema = json.loads((CHART / "values.schema.json").read_text())
    assert set(schema["properties"]["roles"]["items"]["enum"]) == {role.value for role in Role}
    [deployment] = by_kind(render(), "Deployment")
    assert json.loads(container_env(deployment)["VIHAT_ROLES"]) == [role.value for role in Role]
    assert {role.value for role in Role} == set(yaml.safe_load((CHART / "values.yaml").read_text())["roles"])


@pytest.mark.parametrize("timeout", [None, "50"])
def test_grace_period_exceeds_the_shutdown_timeout(tmp_path: Path, timeout: str | None) -> None:
    args = [] if timeout is None else ["--set", f"config.dispatcher.shutdown_timeout={timeout}"]
    args += ["--set", "terminationGracePeriodSeconds=60"] if timeout else []
    docs = render(*args)
    [config_map] = [c for c in by_kind(docs, "ConfigMap")]
    path = tmp_path / "connector.yaml"
    path.write_text(config_map["data"]["connector.yaml"])
    shutdown_timeout = load_settings(path).dispatcher.shutdown_timeout
    [deployment] = by_kind(docs, "Deployment")
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace >= shutdown_timeout + 10, (grace, shutdown_timeout)


def test_static_membership_takes_the_pod_name() -> None:
    [deployment] = by_kind(render(), "Deployment")
    assert container_env(deployment)["VIHAT_KAFKA__GROUP_INSTANCE_ID"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    [deployment] = by_kind(render("--set", "staticMembership.enabled=false"), "Deployment")
    assert "VIHAT_KAFKA__GROUP_INSTANCE_ID" not in container_env(deployment)


def test_topics_job_runs_before_install_and_upgrade_with_its_own_config() -> None:
    docs = render("--set", "topicsJob.enabled=true")
    [job] = by_kind(docs, "Job")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["args"][:2] == ["topics", "create"] and container["args"][-len(Role) :] == [r.value for r in Role]
    hook_configs = [c for c in by_kind(docs, "ConfigMap") if c["metadata"].get("annotations")]
    [volume] = job["spec"]["template"]["spec"]["volumes"]
    assert [c["metadata"]["name"] for c in hook_configs] == [volume["configMap"]["name"]]
    assert by_kind(render(), "Job") == []
