"""squall.tracecontext: the headers on every request squall sends, and the tolerant parsers the proxy uses."""

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from squall import config
from squall.tracecontext import new_trace_id, parse_baggage, parse_traceparent, trace_headers

EXAMPLES = int(os.environ.get("SQUALL_HYPOTHESIS_EXAMPLES", "100"))


def test_every_request_gets_a_fresh_trace_and_the_run_id() -> None:
    first, second = trace_headers("run1-retries-ab12-1"), trace_headers("run1-retries-ab12-2")
    ids = [parse_traceparent(h["traceparent"]) for h in (first, second)]
    assert ids[0] is not None and ids[1] is not None
    assert ids[0][0] != ids[1][0]  # a fresh trace id per request
    assert first["X-Chaos-Run-Id"] == "run1-retries-ab12-1"
    assert parse_baggage(first["baggage"]) == {"squall.run_id": config.run_id()}


def test_baggage_members_added_by_the_caller_survive_the_round_trip() -> None:
    headers = trace_headers("t", {"experiment.group": "canary, eu;1", "tenant": "ä"})
    assert parse_baggage(headers["baggage"]) == {
        "squall.run_id": config.run_id(), "experiment.group": "canary, eu;1", "tenant": "ä",
    }


def test_invalid_traceparents_are_none() -> None:
    good = f"00-{'a' * 32}-{'b' * 16}-01"
    assert parse_traceparent(good) == ("a" * 32, "b" * 16)
    for bad in (
        f"01-{'a' * 32}-{'b' * 16}-01",  # unknown version
        f"00-{'0' * 32}-{'b' * 16}-01",  # all-zero trace id
        f"00-{'a' * 32}-{'0' * 16}-01",  # all-zero parent id
        f"00-{'A' * 32}-{'b' * 16}-01",  # uppercase
        f"00-{'a' * 31}-{'b' * 16}-01",  # short
        "", "garbage",
    ):
        assert parse_traceparent(bad) is None, bad


def test_malformed_baggage_members_are_skipped_and_limits_kept() -> None:
    assert parse_baggage("a=1,bad,=x,b=%20y;prop=1, c = 3 ,d=\"q\"") == {"a": "1", "b": " y", "c": "3"}
    many = ",".join(f"k{i}=v" for i in range(100))
    assert len(parse_baggage(many)) == 32
    big = ",".join(f"k{i}={'v' * 200}" for i in range(20))
    kept = parse_baggage(big)
    assert 0 < len(kept) < 20 and sum(len(k) + len(v) + 2 for k, v in kept.items()) <= 2048


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(st.text(max_size=300))
def test_parsers_never_raise(value: str) -> None:
    assert isinstance(parse_baggage(value), dict)
    parsed = parse_traceparent(value)
    assert parsed is None or (len(parsed[0]) == 32 and len(parsed[1]) == 16)


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_.]{0,10}", fullmatch=True), st.text(max_size=20), max_size=5))
def test_any_member_value_round_trips(members: dict[str, str]) -> None:
    members.pop("squall.run_id", None)
    assert parse_baggage(trace_headers("t", members)["baggage"]) == {"squall.run_id": config.run_id(), **members}


def test_new_trace_id_is_32_lowercase_hex() -> None:
    value = new_trace_id()
    assert len(value) == 32 and int(value, 16) and value == value.lower()
