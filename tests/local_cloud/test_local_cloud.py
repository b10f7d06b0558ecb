"""LocalCloud itself: invoking handlers like Lambda, the process environment, reading back mail and events."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from datetime import timedelta
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import pytest
from local_cloud_support import FIXTURE_TEMPLATE, START, delivered_batches

from local import LocalCloud, TemplateError, aws_calls
from local.template import PROJECT_ROOT
from ops.__main__ import main


def test_invoke_runs_the_handler_warm_with_its_environment_and_context(cloud):
    # GIVEN a function never called
    assert "STAGE" not in os.environ
    # WHEN it is invoked twice
    first = cloud.invoke("EchoFunction", {"resource": "/direct"})
    second = cloud.invoke("EchoFunction", {"resource": "/direct"})
    report = json.loads(second["body"])
    # THEN its module was imported once and reused, like a warm Lambda
    assert json.loads(first["body"])["calls"] == 1
    assert report["calls"] == 2
    # AND it ran with its resolved environment, which is gone again afterwards
    assert report["stage"] == "test"
    assert "STAGE" not in os.environ
    # AND with a Lambda context
    spec = cloud.stack.function("EchoFunction")
    assert report["context"]["function_name"] == spec.name
    assert report["context"]["function_version"] == "$LATEST"
    assert report["context"]["invoked_function_arn"] == spec.arn
    assert report["context"]["memory_limit_in_mb"] == 256
    assert report["context"]["log_group_name"] == f"/aws/lambda/{spec.name}"
    assert 0 < report["context"]["remaining_ms"] <= 5000
    assert report["context"]["aws_request_id"] != json.loads(first["body"])["context"]["aws_request_id"]


def test_functions_sharing_code_keep_their_own_module_state_and_environment(cloud):
    # GIVEN two functions with the same CodeUri and Handler
    cloud.invoke("EchoFunction", {})
    cloud.invoke("EchoFunction", {})
    # WHEN the twin is invoked
    twin = json.loads(cloud.invoke("EchoTwinFunction", {})["body"])
    # THEN it is a container of its own, with its own environment
    assert twin["calls"] == 1
    assert twin["twin"] == "yes"
    assert json.loads(cloud.invoke("EchoFunction", {})["body"])["twin"] is None


def test_handlers_read_the_virtual_clock(cloud):
    # GIVEN the clock moved on WHEN a handler asks the time THEN it gets the virtual time
    cloud.advance_to(START + timedelta(days=40))
    assert cloud.invoke("TickFunction", {})["now"] == (START + timedelta(days=40)).isoformat()


def test_handler_errors_propagate_and_are_recorded(cloud):
    with pytest.raises(RuntimeError, match="scheduled failure"):
        cloud.invoke("TickFunction", {"fail": True})
    (failed,) = cloud.invocations_of("TickFunction")
    assert failed.error == "RuntimeError: scheduled failure"


def test_unknown_functions_and_bad_parameters_are_errors(make_cloud):
    cloud = make_cloud()
    with pytest.raises(TemplateError, match="BatchSize"):
        cloud.deploy({"BatchSize": 0})
    with pytest.raises(TemplateError, match="Colour"):
        cloud.deploy({"Colour": "blue"})
    cloud.deploy()
    with pytest.raises(TemplateError, match="NoSuchFunction"):
        cloud.invoke("NoSuchFunction", {})


def test_another_process_over_http_and_this_one_in_process_see_one_cloud(cloud):
    # GIVEN an item written by this process's client (answered in-process)
    table = "local-items-test"
    cloud.client("dynamodb").put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": "from-here"}})
    # WHEN another process reads it and writes one over HTTP, at the cloud's endpoint
    script = (
        "import boto3, json, sys; d = boto3.client('dynamodb', region_name='us-east-1', endpoint_url=sys.argv[1]);"
        f"items = d.scan(TableName='{table}')['Items'];"
        f"d.put_item(TableName='{table}', Item={{'pk': {{'S': 'p'}}, 'sk': {{'S': 'from-there'}}}});"
        "print(json.dumps(sorted(i['sk']['S'] for i in items)))"
    )
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    done = subprocess.run([sys.executable, "-c", script, cloud.endpoint_url], capture_output=True, text=True,
                          timeout=60, env=env, check=True)
    # THEN it saw this process's write, and this process sees its write
    assert json.loads(done.stdout) == ["from-here"]
    found = cloud.client("dynamodb").scan(TableName=table)["Items"]
    assert sorted(item["sk"]["S"] for item in found) == ["from-here", "from-there"]


def test_the_process_environment_is_given_back_on_stop(monkeypatch):
    # GIVEN a process configured for real AWS
    monkeypatch.setenv("AWS_PROFILE", "prod")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    # WHEN a local cloud runs, every client goes to it
    with LocalCloud(START, template=FIXTURE_TEMPLATE) as cloud:
        assert os.environ["AWS_ENDPOINT_URL"] == cloud.endpoint_url
        assert os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] == "disabled"
        assert "AWS_PROFILE" not in os.environ
    # THEN afterwards the process is as it was
    assert os.environ["AWS_PROFILE"] == "prod"
    assert "AWS_ENDPOINT_URL" not in os.environ


def test_a_cloud_after_another_starts_from_an_empty_account_seen_alike_over_http():
    # GIVEN a cloud that wrote an item and sent a message, then stopped
    with LocalCloud(START, template=FIXTURE_TEMPLATE) as first:
        first.deploy({"Stage": "test"})
        first.client("dynamodb").put_item(TableName="local-items-test", Item={"pk": {"S": "p"}, "sk": {"S": "s"}})
        queue = first.client("sqs").create_queue(QueueName="left-behind")["QueueUrl"]
        first.client("sqs").send_message(QueueUrl=queue, MessageBody="old")
    # WHEN the next cloud of the process starts (moto's server and clients kept, on a port of its choosing)
    with LocalCloud(START, template=FIXTURE_TEMPLATE) as second:
        second.deploy({"Stage": "test"})
        # THEN it has none of it, in-process and over HTTP alike
        assert second.client("dynamodb").scan(TableName="local-items-test")["Items"] == []
        assert "left-behind" not in json.dumps(second.client("sqs").list_queues())
        with urllib.request.urlopen(f"{second.endpoint_url}/moto-api/data.json", timeout=30) as answer:
            assert "left-behind" not in answer.read().decode()


def test_only_one_cloud_runs_at_a_time(make_cloud):
    make_cloud()
    with pytest.raises(RuntimeError, match="another LocalCloud"):
        LocalCloud(START, template=FIXTURE_TEMPLATE).start()


def _raw_email(subject: str, to: str, text: str, html: str | None = None, source: str = "sender@example.com") -> dict:
    mime = MIMEMultipart("alternative")
    mime["Subject"], mime["From"], mime["To"] = subject, source, to
    mime.attach(MIMEText(text, "plain"))
    if html is not None:
        mime.attach(MIMEText(html, "html"))
    return {"Source": source, "RawMessage": {"Data": mime.as_string()}}


def test_sent_emails_are_read_back_with_their_parts_and_links(cloud):
    # GIVEN raw MIME messages sent through SES, as the stack sends them: one with both parts, one text only
    ses = cloud.client("ses")
    ses.send_raw_email(**_raw_email("Your membership", "ann@example.com", "Keep: https://x.test/n/abc",
                                    '<p><a href="https://x.test/n/abc?a=1&amp;b=2">Keep</a></p>'))
    ses.send_raw_email(**_raw_email("Reminder", "bob@example.com", "Still there? https://x.test/n/def"))
    # WHEN the local cloud reads what SES sent
    sent = {m.subject: m for m in cloud.sent_emails()}
    # THEN each is there with its parts; links come from the HTML part, else from the text
    assert sent["Your membership"].to == ("ann@example.com",)
    assert sent["Your membership"].source == "sender@example.com"
    assert sent["Your membership"].text.strip() == "Keep: https://x.test/n/abc"
    assert sent["Your membership"].links == ("https://x.test/n/abc?a=1&b=2",)
    assert sent["Reminder"].html is None
    assert sent["Reminder"].links == ("https://x.test/n/def",)
    assert sent["Reminder"].headers["Subject"] == "Reminder"


def test_a_sender_not_verified_is_refused(cloud):
    # GIVEN the template's SenderAddress is the only verified identity
    with pytest.raises(cloud.client("ses").exceptions.MessageRejected):
        cloud.client("ses").send_raw_email(**_raw_email("x", "a@example.com", "x", source="someone-else@example.com"))


def test_events_published_on_the_bus_are_read_back(cloud):
    # GIVEN events published on the template's bus
    bus = cloud.resource("Bus")
    cloud.client("events").put_events(
        Entries=[
            {
                "EventBusName": bus,
                "Source": "membership",
                "DetailType": "MembershipCancelled",
                "Detail": json.dumps({"member_id": "m-1"}),
            },
            {
                "EventBusName": bus,
                "Source": "membership",
                "DetailType": "MembershipRejoined",
                "Detail": json.dumps({"member_id": "m-2"}),
            },
        ]
    )
    # WHEN read back (twice: reading keeps them)
    cloud.bus_events()
    events = cloud.bus_events("Bus")
    # THEN both are there in order, with their detail parsed
    assert [(e.detail_type, e.detail) for e in events] == [
        ("MembershipCancelled", {"member_id": "m-1"}),
        ("MembershipRejoined", {"member_id": "m-2"}),
    ]
    assert all(e.bus == bus and e.source == "membership" for e in events)


def test_reading_one_bus_reads_every_tap_and_keeps_their_events(cloud):
    from moto.sqs.models import sqs_backends

    from local.cloud import ACCOUNT_ID, REGION
    from local.outbox import tap_queue_name

    # GIVEN an event published on the template's bus
    bus = cloud.resource("Bus")
    cloud.client("events").put_events(Entries=[{"EventBusName": bus, "Source": "membership",
                                                "DetailType": "MembershipCancelled", "Detail": "{}"}])
    # WHEN the events of another bus are read
    assert cloud.bus_events("AnotherBus") == []
    # THEN the bus's tap queue was read too (it does not grow), and its event is still there, once
    assert sqs_backends[ACCOUNT_ID][REGION].get_queue(tap_queue_name(bus))._messages == []
    assert [e.detail_type for e in cloud.bus_events("Bus")] == ["MembershipCancelled"]


def test_reset_empties_the_stack_and_keeps_the_clock(cloud):
    # GIVEN data and a moved clock
    cloud.client("dynamodb").put_item(TableName="local-items-test", Item={"pk": {"S": "p"}, "sk": {"S": "item"}})
    cloud.advance_to(START + timedelta(hours=1))
    # WHEN reset
    cloud.reset()
    # THEN the tables are empty again, nothing remembered, and the time stays
    assert cloud.client("dynamodb").scan(TableName="local-items-test")["Items"] == []
    assert list(cloud.invocations) == []
    assert cloud.now == START + timedelta(hours=1)


def test_emails_command_lists_the_latest_emails(cloud, capsys):
    # GIVEN an email sent
    cloud.client("ses").send_raw_email(**_raw_email("Hello", "ann@example.com", "Open https://x.test/n/1"))
    # WHEN `python -m ops emails` is run against the cloud's moto
    assert main(["emails", "--endpoint", cloud.endpoint_url]) == 0
    # THEN it prints the email and its link
    out = capsys.readouterr().out
    assert "'Hello'" in out and "ann@example.com" in out and "https://x.test/n/1" in out


def test_serve_runs_the_stack_and_its_api_until_interrupted():
    # GIVEN `python -m ops serve` on the fixture template
    command = [
        sys.executable,
        "-m",
        "ops",
        "serve",
        "--template",
        str(FIXTURE_TEMPLATE),
        "--port",
        "0",
        "--param",
        "Stage=demo",
    ]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(PROJECT_ROOT), str(PROJECT_ROOT / "layers" / "common")]))
    process = subprocess.Popen(
        command, cwd=Path(PROJECT_ROOT), env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        # WHEN it has printed where things are
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                break
        printed = "".join(lines)
        api_url = next(line.split()[1] for line in lines if line.startswith("API"))
        # THEN the API answers on the printed URL with the stage given
        with urllib.request.urlopen(f"{api_url}/items/9") as response:
            event = json.load(response)["event"]
        assert event["requestContext"]["stage"] == "demo"
        assert "python -m ops emails --endpoint http://127.0.0.1:" in printed
        assert "/moto-api/data.json" in printed
    finally:
        # AND Ctrl-C stops it cleanly
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0


# ------------------------------------------------------------------ hooks


def _put_item(cloud, sk: str, behaviour: str = "ok") -> None:
    cloud.client("dynamodb").put_item(
        TableName=cloud.table_name("ItemsTable"),
        Item={"pk": {"S": "p"}, "sk": {"S": sk}, "behaviour": {"S": behaviour}},
    )


def test_every_invocation_goes_through_the_invoke_hooks_whatever_its_trigger(cloud):
    # GIVEN a hook that notes each invocation and wraps its result
    seen = []

    def hook(invocation, logical_id):
        seen.append(logical_id)
        return {"wrapped": invocation()}

    cloud.invoke_hooks.append(hook)
    # WHEN a function is invoked directly, and another by its stream
    direct = cloud.invoke("TickFunction", {"job": "direct"})
    _put_item(cloud, "item-1")
    cloud.pump_streams()
    # THEN both went through the hook, which gave the caller its own answer
    assert seen == ["TickFunction", "RecorderFunction"]
    assert direct["wrapped"]["event"] == {"job": "direct"}


def test_stream_record_hooks_decide_what_the_mappings_are_offered(cloud):
    # GIVEN a hook that loses the records of one item
    def lose_one(records):
        return [r for r in records if r.event["dynamodb"]["Keys"]["sk"]["S"] != "item-lost"]

    cloud.stream_record_hooks.append(lose_one)
    # WHEN three items are written and the streams pumped
    for sk in ("item-1", "item-lost", "item-2"):
        _put_item(cloud, sk)
    cloud.pump_streams()
    # THEN the function got the two others only
    assert delivered_batches(cloud, "RecorderFunction") == [["item-1", "item-2"]]


def test_call_hooks_see_the_aws_calls_of_handlers_and_never_the_clouds_own(cloud):
    # GIVEN a call hook noting each operation
    operations = []

    def note(call, what):
        operations.append(what.operation)
        return call()

    aws_calls.add_call_hook(note)
    try:
        # WHEN the test writes an item whose handler writes a child item
        _put_item(cloud, "item-parent", "spawn")
        cloud.pump_streams()
    finally:
        aws_calls.remove_call_hook(note)
    # THEN only the handler's write went through the hook (not the test's, nor the stream reads)
    assert operations == ["PutItem"]
    assert delivered_batches(cloud, "RecorderFunction") == [["item-parent"], ["item-parent#child"]]
