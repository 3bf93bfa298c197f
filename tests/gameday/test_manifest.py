"""`squall gameday manifest` prints Kubernetes objects that parse and carry the suite, schedule and RBAC."""

from collections.abc import Callable
from pathlib import Path

import yaml

from .conftest import squall


def test_manifest_parses_into_valid_looking_kubernetes_objects(
    tmp_path: Path, passing: Path, failing: Path, write_suite: Callable[..., Path]
) -> None:
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "passing.yaml").write_text(passing.read_text())
    suite = write_suite({
        "name": "Payments Weekly",
        "schedule": {"cron": "0 10 * * TUE", "timezone": "Europe/Berlin"},
        "experiments": [{"path": "failing.yaml", "weight": 2, "required": True, "vars": {"checkout_url": "http://x"}},
                        {"path": "nested/passing.yaml"}],
        "gate": {"min_score": 80},
    })
    proc = squall("gameday", "manifest", str(suite), "--image", "registry.example/squall:1.2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    kinds = {d["kind"]: d for d in docs}
    assert set(kinds) == {"ServiceAccount", "Role", "RoleBinding", "ConfigMap", "CronJob"}
    for doc in docs:
        assert doc["apiVersion"] and doc["metadata"]["name"] == "squall-payments-weekly"

    cron = kinds["CronJob"]
    assert cron["apiVersion"] == "batch/v1"
    spec = cron["spec"]
    assert spec["schedule"] == "0 10 * * TUE" and spec["timeZone"] == "Europe/Berlin"
    assert spec["concurrencyPolicy"] == "Forbid"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["serviceAccountName"] == "squall-payments-weekly"
    (container,) = pod["containers"]
    assert container["image"] == "registry.example/squall:1.2"
    assert container["args"] == ["gameday", "run", "/suite/suite.yaml"]
    volume = next(v for v in pod["volumes"] if "configMap" in v)
    assert volume["configMap"]["name"] == "squall-payments-weekly"

    # the ConfigMap holds the suite and every experiment, and the suite points at the mounted copies
    data = kinds["ConfigMap"]["data"]
    in_cluster = yaml.safe_load(data["suite.yaml"])
    assert in_cluster["schedule"] == {"cron": "0 10 * * TUE", "timezone": "Europe/Berlin"}
    assert in_cluster["gate"] == {"min_score": 80}
    mounted = {i["path"]: i["key"] for i in volume["configMap"]["items"]}
    for exp, original in zip(in_cluster["experiments"], [failing, passing], strict=True):
        assert data[mounted[exp["path"]]] == original.read_text()
    assert in_cluster["experiments"][0]["vars"] == {"checkout_url": "http://x"}
    assert in_cluster["experiments"][0]["weight"] == 2 and in_cluster["experiments"][0]["required"] is True

    # RBAC: the binding ties the role to the service account
    binding = kinds["RoleBinding"]
    assert binding["roleRef"]["name"] == kinds["Role"]["metadata"]["name"]
    assert binding["subjects"][0] == {"kind": "ServiceAccount", "name": "squall-payments-weekly"}
    assert any("pods" in rule["resources"] for rule in kinds["Role"]["rules"])


def test_default_image_is_the_documented_placeholder(tmp_path: Path, passing: Path, write_suite: Callable[..., Path]) -> None:
    suite = write_suite({"name": "s", "schedule": {"cron": "*/5 * * * *"}, "experiments": ["passing.yaml"]})
    proc = squall("gameday", "manifest", str(suite), cwd=tmp_path)
    cron = next(d for d in yaml.safe_load_all(proc.stdout) if d and d["kind"] == "CronJob")
    image = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.startswith("ghcr.io/OWNER/squall:")
    assert cron["spec"]["timeZone"] == "UTC"


def test_manifest_with_load_workers_adds_the_workers_and_a_service_for_the_master(
    tmp_path: Path, passing: Path, write_suite: Callable[..., Path]
) -> None:
    suite = write_suite({"name": "Load Weekly", "schedule": {"cron": "0 10 * * TUE", "timezone": "UTC"},
                         "experiments": [{"path": passing.name}]})
    proc = squall("gameday", "manifest", str(suite), "--load-workers", "3", "--namespace", "chaos", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    kinds = {d["kind"]: d for d in docs}
    assert set(kinds) == {"ServiceAccount", "Role", "RoleBinding", "ConfigMap", "CronJob", "Service", "Deployment"}
    service, workers = kinds["Service"], kinds["Deployment"]
    assert service["metadata"]["name"] == "squall-load-weekly-load"
    assert {p["port"] for p in service["spec"]["ports"]} == {5557, 5558}
    # the Service selects the game day's pod (where squall runs the Locust master), never the workers
    job_pod = kinds["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]
    selector = service["spec"]["selector"]
    assert selector.items() <= job_pod["metadata"]["labels"].items()
    assert not selector.items() <= workers["spec"]["template"]["metadata"]["labels"].items()
    env = {e["name"]: e["value"] for e in job_pod["spec"]["containers"][0]["env"]}
    assert env["SQUALL_LOAD_EXTERNAL_WORKERS"] == "3" and env["SQUALL_LOAD_MASTER_PORT"] == "5557"
    assert workers["apiVersion"] == "apps/v1" and workers["spec"]["replicas"] == 3
    assert workers["spec"]["selector"]["matchLabels"] == workers["spec"]["template"]["metadata"]["labels"]
    (worker,) = workers["spec"]["template"]["spec"]["containers"]
    assert worker["command"] == ["python", "-m", "squall.load.worker"]
    assert worker["args"] == ["--worker", "--master-host", "squall-load-weekly-load.chaos.svc", "--master-port", "5557"]
    assert {"name": "SQUALL_LOAD_COLLECTOR", "value": "squall-load-weekly-load.chaos.svc:5558"} in worker["env"]
    # without the option, nothing of the load is deployed
    plain = squall("gameday", "manifest", str(suite), cwd=tmp_path)
    assert {d["kind"] for d in yaml.safe_load_all(plain.stdout) if d} == {
        "ServiceAccount", "Role", "RoleBinding", "ConfigMap", "CronJob"}
    bad = squall("gameday", "manifest", str(suite), "--load-workers", "-1", cwd=tmp_path)
    assert bad.returncode != 0 and "--load-workers" in bad.stderr
