"""The alarms (5xx rate, errors, throttles, duration) and their SNS topic (AlarmEmail).
The two release alarms (ReleaseErrorsAlarm, ReleaseApi5xxAlarm) notify the same topic;
what they watch is in test_releases.py."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.deploy.stack import STAND_IN_IDS, Stack, load_template

pytestmark = pytest.mark.deploy


ALARM = "AWS::CloudWatch::Alarm"


def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == ALARM}


def test_alarms_watch_5xx_rate_errors_throttles_and_duration_and_notify_the_topic() -> None:
    template = load_template()
    found = alarms(template)
    assert set(found) == {
        "Api5xxRateAlarm",
        "FunctionErrorsAlarm",
        "FunctionThrottlesAlarm",
        # Live orders: records the stream consumer gave up on (test_live_template.py).
        "LiveFailureQueueDepthAlarm",
        "FunctionDurationAlarm",
        "ReleaseErrorsAlarm",
        "ReleaseApi5xxAlarm",
    }
    stack = Stack(template)
    topic = STAND_IN_IDS["AlarmTopic"]
    for logical_id, alarm in found.items():
        assert "Condition" not in alarm, logical_id
        props = stack.properties(logical_id)
        assert props["AlarmActions"] == [topic], logical_id
        assert props["OKActions"] == [topic], logical_id
        assert props["TreatMissingData"] == "notBreaching", logical_id
        assert props["AlarmDescription"], logical_id
        assert props["EvaluationPeriods"] >= 1

    # The function's own metrics, every version and alias together (FunctionName only).
    for logical_id, metric, statistic in (
        ("FunctionErrorsAlarm", "Errors", "Sum"),
        ("FunctionThrottlesAlarm", "Throttles", "Sum"),
    ):
        props = stack.properties(logical_id)
        assert (props["Namespace"], props["MetricName"], props["Statistic"]) == (
            "AWS/Lambda",
            metric,
            statistic,
        )
        assert props["Dimensions"] == [{"Name": "FunctionName", "Value": STAND_IN_IDS["ApiFunction"]}]
        assert (props["ComparisonOperator"], props["Threshold"], props["Period"]) == (
            "GreaterThanThreshold",
            0,
            300,
        )

    # p99 duration close to the timeout.
    duration = stack.properties("FunctionDurationAlarm")
    assert (duration["MetricName"], duration["ExtendedStatistic"]) == ("Duration", "p99")
    assert duration["Dimensions"] == [{"Name": "FunctionName", "Value": STAND_IN_IDS["ApiFunction"]}]
    timeout_ms = template["Resources"]["ApiFunction"]["Properties"]["Timeout"] * 1000
    assert 0.5 * timeout_ms <= duration["Threshold"] < timeout_ms
    assert duration["Unit"] == "Milliseconds"

    # 5xx rate: the stage's 5xx over its request count, in percent, over 5 minutes.
    rate = stack.properties("Api5xxRateAlarm")
    metrics = {m["Id"]: m for m in rate["Metrics"]}
    dimensions = [{"Name": "ApiId", "Value": STAND_IN_IDS["HttpApi"]}, {"Name": "Stage", "Value": "dev"}]
    for metric_id, name in (("errors", "5xx"), ("requests", "Count")):
        stat = metrics[metric_id]["MetricStat"]
        assert stat["Metric"] == {"Namespace": "AWS/ApiGateway", "MetricName": name, "Dimensions": dimensions}
        assert (stat["Stat"], stat["Period"]) == ("Sum", 300)
        assert metrics[metric_id]["ReturnData"] is False
    (expression,) = [m for m in metrics.values() if "Expression" in m]
    assert expression["ReturnData"] is True
    assert re.search(r"100 \* FILL\(errors, 0\) / requests", expression["Expression"])
    assert (rate["ComparisonOperator"], rate["Threshold"]) == ("GreaterThanThreshold", 5)


def test_alarm_topic_always_exists_and_mails_only_when_asked() -> None:
    template = load_template()
    parameter = template["Parameters"]["AlarmEmail"]
    assert parameter["Default"] == ""
    pattern = re.compile(parameter["AllowedPattern"])
    for good in ("", "ops@example.com", "on-call+api@team.example.co.uk"):
        assert pattern.fullmatch(good), good
    for bad in ("ops", "ops@example", "two words@example.com", "@example.com"):
        assert not pattern.fullmatch(bad), bad

    topics = [k for k, v in template["Resources"].items() if v["Type"] == "AWS::SNS::Topic"]
    assert topics == ["AlarmTopic"]
    assert "Condition" not in template["Resources"]["AlarmTopic"]
    subscriptions = [k for k, v in template["Resources"].items() if v["Type"] == "AWS::SNS::Subscription"]
    assert subscriptions == ["AlarmEmailSubscription"]
    assert not Stack(template).exists("AlarmEmailSubscription")
    with_email = Stack(template, {"AlarmEmail": "ops@example.com"})
    assert with_email.properties("AlarmEmailSubscription") == {
        "TopicArn": STAND_IN_IDS["AlarmTopic"],
        "Protocol": "email",
        "Endpoint": "ops@example.com",
    }
    assert Stack(template).outputs()["AlarmTopicArn"] == STAND_IN_IDS["AlarmTopic"]
