"""`squall validate` warns, from the roles activities declare, about experiments that could not tell the truth."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from squall.exitcodes import ExitCode
from squall.validation.roles import role_warnings

TOX = "squall.actions.toxiproxy"


def _act(name: str, module: str, func: str, kind: str = "action", **arguments: Any) -> dict[str, Any]:
    return {"type": kind, "name": name, "provider": {"type": "python", "module": module, "func": func,
                                                     "arguments": arguments}}


INJECT = _act("reset payments", TOX, "reset_peer", proxy="payments")
HEAL = _act("heal payments", TOX, "heal", proxy="payments")
VERIFY = _act("breaker opens", "squall.verify", "circuit_breaker", kind="probe",
              url="http://127.0.0.1:8080/checkout", proxy="payments", max_dependency_calls=3)


def _doc(method: list[dict[str, Any]], rollbacks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"title": "t", "description": "d", "method": method, "rollbacks": rollbacks or []}


def test_a_method_that_injects_with_nothing_to_check_the_service_is_warned_about() -> None:
    (warning,) = role_warnings(_doc([INJECT, HEAL]))
    assert 'injects faults ("reset payments")' in warning and "nothing checks the service" in warning


def test_a_checked_experiment_has_no_warning() -> None:
    assert role_warnings(_doc([INJECT, VERIFY, HEAL], rollbacks=[HEAL])) == []
    with_hypothesis = {**_doc([INJECT, HEAL]), "steady-state-hypothesis": {"title": "h", "probes": [VERIFY]}}
    assert role_warnings(with_hypothesis) == []


def test_a_verifier_before_any_fault_and_a_rollback_that_injects_are_named() -> None:
    warnings = role_warnings(_doc([VERIFY, INJECT, VERIFY], rollbacks=[INJECT]))
    assert len(warnings) == 2
    assert 'verifier "breaker opens" runs before any fault is injected' in warnings[0]
    assert 'rollback "reset payments" injects a fault (squall.actions.toxiproxy.reset_peer)' in warnings[1]


def test_an_action_of_unknown_role_may_inject_so_a_verifier_after_it_is_not_warned_about() -> None:
    own = _act("my own fault", "my_team.faults", "break_it")
    assert role_warnings(_doc([own, VERIFY])) == []


def test_warnings_print_but_keep_the_exit_code_of_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "unchecked.yaml"
    path.write_text(yaml.safe_dump(_doc([INJECT, HEAL])))
    done = subprocess.run([sys.executable, "-m", "squall", "validate", "--offline", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == ExitCode.PASSED, done.stderr
    assert f"{path}: valid" in done.stdout
    assert f"{path}: warning: the method injects faults" in done.stderr
