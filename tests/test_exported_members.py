"""The public face of the `squall` package is deliberate: fail when something is exported by accident."""

import squall


def test_squall_exports_exactly_its_public_names() -> None:
    exported = set(squall.__all__)
    assert exported == {
        "__version__",
        "discover",
        "ExperimentInvalid",
        "GuardrailRefused",
        "KubernetesError",
        "LedgerError",
        "ReportError",
        "SquallError",
        "ToxiproxyAPIError",
        "ToxiproxyError",
        "ToxiproxyUnreachable",
    }
    for name in exported:
        assert hasattr(squall, name), name


def test_every_error_is_a_squall_error() -> None:
    for name in squall.__all__:
        obj = getattr(squall, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, squall.SquallError), name
