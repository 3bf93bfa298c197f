"""The control's `source: prometheus` SLI targets: bad input names the key and what was expected."""

import pytest

from squall.control.settings import parse
from squall.errors import ExperimentInvalid

URL = "http://127.0.0.1:9090"
RATIO = "sum(rate(ok_total[{window}])) / sum(rate(all_total[{window}]))"


def _sli(**target: object) -> dict:
    return {"sli": [{"name": "p", "source": "prometheus", "url": URL, "success_ratio": RATIO, **target}]}


def test_a_prometheus_target_is_read_with_its_window_in_the_promql() -> None:
    [target] = parse(_sli(window_s=5, latency_ms="histogram_quantile(0.95, x[{window}]) * 1000",
                          objective=0.95)).sli
    assert target.source == "prometheus" and target.objective == 0.95
    assert target.promql(RATIO) == "sum(rate(ok_total[5s])) / sum(rate(all_total[5s]))"
    assert target.promql(RATIO, 1.5) == "sum(rate(ok_total[1500ms])) / sum(rate(all_total[1500ms]))"
    assert target.promql(target.latency_ms or "") == "histogram_quantile(0.95, x[5s]) * 1000"


@pytest.mark.parametrize(("target", "message"), [
    ({"success_ratio": None}, "a prometheus SLI needs success_ratio"),
    ({"success_ratio": "  "}, "success_ratio '  ' is not valid (expected a PromQL expression)"),
    ({"url": "127.0.0.1:9090"}, 'url "127.0.0.1:9090" is not an http(s) URL (expected the Prometheus server'),
    ({"headers": {"a": "b"}}, 'unknown key "headers"'),
    ({"objective": 2}, "objective 2 is not valid (expected a number from 0 to 1)"),
    ({"window_s": 0}, "window_s 0 is not valid"),
    ({"source": "graphite"}, 'source "graphite" is not valid (expected http or prometheus)'),
])
def test_bad_prometheus_targets_are_refused_naming_the_key(target: dict, message: str) -> None:
    with pytest.raises(ExperimentInvalid) as err:
        parse(_sli(**target))
    assert message in str(err.value)
    assert "squall control sli[0]" in str(err.value)


def test_a_success_floor_on_a_prometheus_target_averages_the_measured_ratios() -> None:
    from squall.control.stopconditions import evaluate

    settings = parse({**_sli(), "stop_conditions": [
        {"name": "floor", "kind": "success_rate_below", "threshold": 0.9, "for_s": 2, "target": "p"}]})
    [condition] = settings.stop_conditions
    # three samples each below the 0.99 objective (ok 0), but their mean ratio is 0.95: above the floor
    rows = [[100.0 + i, "p", 0, None, None, None, 0.95] for i in range(3)]
    assert evaluate(condition, lambda since, target: rows, now=103.0, armed_at=100.0) is None
    low = [[100.0 + i, "p", 0, None, None, None, r] for i, r in enumerate((0.9, 0.8, 0.7))]
    reason = evaluate(condition, lambda since, target: low, now=103.0, armed_at=100.0)
    assert reason is not None and "success rate on p 80% < 90%" in reason and "Prometheus samples" in reason
