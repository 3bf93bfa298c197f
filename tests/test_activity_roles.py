"""Every squall activity declares its role (inject, heal, probe, verify); the verdict and validate read it, never guess it."""

import importlib
import pkgutil

import pytest
from chaoslib.exceptions import ActivityFailed

from squall.activity import ROLE_ATTR, ROLES, activity, role_of
from squall.errors import ExperimentInvalid

PACKAGES = {"squall.actions": ("inject", "heal"), "squall.probes": ("probe",), "squall.verify": ("verify",)}


def _activity_modules() -> list[str]:
    out = []
    for package in PACKAGES:
        pkg = importlib.import_module(package)
        out.append(package)
        out.extend(m.name for m in pkgutil.iter_modules(pkg.__path__, package + "."))
    return out


def test_every_exported_activity_declares_a_role_that_fits_its_package() -> None:
    checked = 0
    for name in _activity_modules():
        module = importlib.import_module(name)
        expected = next(roles for package, roles in PACKAGES.items() if name.startswith(package))
        for func in getattr(module, "__all__", []):
            role = role_of(name, func)
            assert role in expected, f"{name}.{func} declares role {role!r} (expected one of {expected})"
            checked += 1
    assert checked >= 30  # every action, probe and verifier of squall


@pytest.mark.parametrize(("func", "role"), [
    ("reset_peer", "inject"), ("partition", "inject"), ("add_http_error", "inject"),
    ("heal", "heal"), ("remove_toxic", "heal"),
])
def test_toxiproxy_roles_are_what_the_functions_do_not_what_their_names_suggest(func: str, role: str) -> None:
    assert role_of("squall.actions.toxiproxy", func) == role


def test_role_of_never_imports_a_module_outside_squall_and_tolerates_bad_names() -> None:
    assert role_of("json", "dumps") is None  # already imported, but declares no role
    assert role_of("this_module_does_not_exist_anywhere", "f") is None
    assert role_of("squall.actions.no_such_module", "f") is None
    assert role_of("squall.actions.toxiproxy", "no_such_function") is None
    assert role_of("../etc/passwd", "x") is None
    assert role_of("squall.__main__", "main") is None  # importing it would run the CLI
    assert role_of("squall.actions.toxiproxy", "_client") is None  # not an activity


def test_plain_and_role_forms_both_turn_squall_errors_into_activity_failed() -> None:
    @activity
    def plain(x: int) -> int:
        """A plain activity."""
        raise ExperimentInvalid(f"x={x} (expected none)")

    @activity(role="probe")
    def probing(x: int) -> int:
        """A probe."""
        return x + 1

    assert getattr(plain, ROLE_ATTR) is None and getattr(probing, ROLE_ATTR) == "probe"
    assert probing(1) == 2 and probing.__doc__ == "A probe."
    with pytest.raises(ActivityFailed, match=r"plain: x=3 \(expected none\)"):
        plain(3)


def test_an_unknown_role_is_refused_with_the_roles_it_could_be() -> None:
    with pytest.raises(ValueError, match="unknown activity role 'injcet'") as info:
        activity(role="injcet")  # type: ignore[call-overload]
    assert all(r in str(info.value) for r in ROLES)


def test_chaos_discover_lists_each_activity_with_its_role() -> None:
    import squall

    activities = squall.discover(discover_system=False)["activities"]
    roles = {(a["mod"], a["name"]): a["role"] for a in activities}
    assert roles[("squall.actions.toxiproxy", "reset_peer")] == "inject"
    assert roles[("squall.verify", "retries")] == "verify"
    assert all(role in ROLES for role in roles.values()), roles
