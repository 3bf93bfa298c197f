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
