"""What the masker hides, and what it leaves alone, exactly as it lands in a report."""

import pytest

import squall.reporting
from squall.reporting.masking import MASK, from_experiment, invalid_patterns


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abcDEF123456.xyz", "Authorization: Bearer [masked]"),
        ("curl -H 'authorization: basic dXNlcjpwYXNzd29yZA=='", "curl -H 'authorization: basic [masked]'"),
        ("db password=s3cretValue&user=x", "db password=[masked]&user=x"),
        ('{"api_key": "k-123456789"}', '{"api_key": "[masked]"}'),
        ("postgres://app:pa55word@db.internal:5432/shop", "postgres://app:[masked]@db.internal:5432/shop"),
        ("page the on-call at jane.doe+ops@example.org now", "page the on-call at [masked] now"),
        ("AWS key AKIAABCDEFGHIJKLMNOP in env", "AWS key [masked] in env"),
        ("github ghp_abcdefghijklmnopqrstuvwxyz0123456789", "github [masked]"),
        ("jwt eyJhbGciOiJI.eyJzdWIiOiIx.SflKxwRJSMeKKF2QT4", "jwt [masked]"),
        # Left alone: ordinary text that only looks a bit like the patterns.
        ("bearer tokens are masked", "bearer tokens are masked"),
        ("http://127.0.0.1:8080/checkout?x=1", "http://127.0.0.1:8080/checkout?x=1"),
        ("max_tokens: 5, token count 3", "max_tokens: 5, token count 3"),
        ("p95_ms=12.5 success_rate=0.99", "p95_ms=12.5 success_rate=0.99"),
    ],
)
def test_default_patterns(text: str, expected: str) -> None:
    assert from_experiment({}).text(text) == expected


def test_declared_secrets_are_masked_by_value_and_by_key_name() -> None:
    masker = from_experiment({
        "secrets": {"payments": {"api_token": "tok_live_777", "vaulted": {"type": "vault", "path": "kv/x"},
                                 "from_env": {"type": "env", "key": "SQUALL_TEST_UNSET_VAR"}}},
        "configuration": {"db_password": "hunter22", "region": "eu-west-1"},
    })
    assert masker.text("sent tok_live_777 and hunter22") == f"sent {MASK} and {MASK}"
    # An env secret cannot be resolved after the run: its key name still hides whatever holds it.
    out = masker.value({"from_env": "resolved-at-run-time", "nested": {"vaulted": [1, 2]}, "region": "eu-west-1"})
    assert out == {"from_env": MASK, "nested": {"vaulted": MASK}, "region": "eu-west-1"}


def test_configured_patterns_and_their_validation() -> None:
    masker = from_experiment({"configuration": {"squall_mask_patterns": [r"CUST-\d{6}"]}}, extra_patterns=[r"ACME\w+"])
    assert masker.text("CUST-123456 at ACMEcorp") == f"{MASK} at {MASK}"
    assert invalid_patterns(["ok", "(unclosed"]) == ['"(unclosed" (missing ), unterminated subpattern at position 0)']


def test_the_reporting_package_exports_a_small_deliberate_surface() -> None:
    assert set(squall.reporting.__all__) == {"FILES", "Report", "build", "render", "write"}
    assert squall.reporting.FILES == {"html": "report.html", "junit": "junit.xml", "markdown": "summary.md"}
