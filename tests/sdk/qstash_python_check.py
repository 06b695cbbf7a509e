"""The official Python QStash SDK (`qstash` on PyPI) against Scout's embedded QStash server.

Run by the integration test `qstash_sdks::the_official_python_sdk_works_against_the_embedded_server`,
which starts the app and passes where it is (QSTASH_URL, QSTASH_TOKEN, APP_URL), a message it made fail
(FAILED_URL), and a signature Scout made (SIGNATURE, SIGNED_BODY, SIGNED_URL, CURRENT_KEY, NEXT_KEY).
Any SDK exception or failed check exits non-zero.
"""

import os
import time

from qstash import QStash, Receiver
from qstash.log import LogState

env = os.environ
app = env["APP_URL"]
client = QStash(env["QSTASH_TOKEN"], base_url=env["QSTASH_URL"], retry=False)
target = f"{app}/healthz"

# Publish with options, then read the message back as the SDK parses it.
published = client.message.publish_json(
    url=target,
    body={"hello": "world"},
    delay="1h",
    retries=2,
    retry_delay="1000 * retried",
    headers={"X-Py-Test": "1"},
    label="py",
    timeout="10s",
)
message = client.message.get(published.message_id)
assert message.url == target, message
assert message.max_retries == 2 and message.method == "POST", message
assert message.body == '{"hello": "world"}', message.body
assert message.retry_delay_expression == "1000 * retried", message
assert message.headers["X-Py-Test"] == ["1"], message.headers
assert message.not_before > message.created_at, message

# Not-before (unix seconds) and callbacks, as the SDK sends them.
not_before = int(time.time()) + 7200
pinned = client.message.publish_json(
    url=target, body={}, not_before=not_before, callback=f"{app}/healthz?cb=1", failure_callback=f"{app}/healthz?fcb=1"
)
pinned_message = client.message.get(pinned.message_id)
assert pinned_message.not_before == not_before * 1000, pinned_message
assert pinned_message.callback == f"{app}/healthz?cb=1" and pinned_message.failure_callback == f"{app}/healthz?fcb=1", pinned_message

# Deduplication, by id and by content.
first = client.message.publish_json(url=target, body={"n": 1}, deduplication_id="py-dedup", delay="1h")
again = client.message.publish_json(url=target, body={"n": 1}, deduplication_id="py-dedup", delay="1h")
assert again.deduplicated and again.message_id == first.message_id, again
by_content = client.message.publish_json(url=target, body={"n": 2}, content_based_deduplication=True, delay="1h")
same = client.message.publish_json(url=target, body={"n": 2}, content_based_deduplication=True, delay="1h")
assert same.deduplicated and same.message_id == by_content.message_id, same

# Flow control: the SDK's key and value are read, and the message carries the key.
controlled = client.message.publish_json(
    url=target, body={"f": 1}, delay="1h", flow_control={"key": "py-flow", "parallelism": 2, "rate": 5, "period": "1m"}
)
flow = client.message.get(controlled.message_id).flow_control
assert (flow.key, flow.parallelism, flow.rate, flow.period) == ("py-flow", 2, 5, 60), flow

# Queues: upsert, read, pause and resume, enqueue into one, delete.
client.queue.upsert("py-queue", parallelism=2, paused=True)
queue = client.queue.get("py-queue")
assert (queue.name, queue.parallelism, queue.paused, queue.lag) == ("py-queue", 2, True, 0), queue
enqueued = client.message.enqueue_json(queue="py-queue", url=target, body={"q": 1})
assert client.queue.get("py-queue").lag == 1
assert client.message.get(enqueued.message_id).url == target
client.queue.resume("py-queue")
assert not client.queue.get("py-queue").paused
client.queue.pause("py-queue")
assert client.queue.get("py-queue").paused
assert "py-queue" in [q.name for q in client.queue.list()]
client.queue.delete("py-queue")
assert "py-queue" not in [q.name for q in client.queue.list()]

# URL groups: endpoints added, read, published to (one message each), removed.
client.url_group.upsert_endpoints("py-group", [{"url": f"{app}/healthz?e=1", "name": "one"}, {"url": f"{app}/healthz?e=2"}])
group = client.url_group.get("py-group")
assert group.name == "py-group" and [(e.url, e.name) for e in group.endpoints] == [
    (f"{app}/healthz?e=1", "one"),
    (f"{app}/healthz?e=2", None),
], group
fanned = client.message.publish_json(url_group="py-group", body={"g": 1}, delay="1h")
assert sorted(r.url for r in fanned) == [f"{app}/healthz?e=1", f"{app}/healthz?e=2"], fanned
assert "py-group" in [g.name for g in client.url_group.list()]
client.url_group.remove_endpoints("py-group", [{"name": "one"}])
assert [e.url for e in client.url_group.get("py-group").endpoints] == [f"{app}/healthz?e=2"]
client.url_group.delete("py-group")
assert "py-group" not in [g.name for g in client.url_group.list()]

# A batch: to a URL, into a queue, and to a group (a list of answers for the group).
client.url_group.upsert_endpoints("py-batch", [{"url": f"{app}/healthz?b=1"}, {"url": f"{app}/healthz?b=2"}])
batch = client.message.batch_json(
    [
        {"url": target, "body": {"b": 1}, "delay": "1h"},
        {"url": target, "body": {"b": 2}, "queue": "py-batch-queue", "delay": "1h"},
        {"url_group": "py-batch", "body": {"b": 3}, "delay": "1h"},
    ]
)
assert batch[0].message_id and batch[1].message_id and len(batch[2]) == 2, batch
assert client.queue.get("py-batch-queue").lag == 1

# Schedules: create (with options), read, pause, resume, list, delete.
schedule_id = client.schedule.create(
    destination=target, cron="0 0 1 1 *", body="yearly", retries=1, schedule_id="py-schedule", headers={"X-S": "1"}, queue="py-sched-q"
)
assert schedule_id == "py-schedule", schedule_id
schedule = client.schedule.get(schedule_id)
assert (schedule.cron, schedule.destination, schedule.retries, schedule.paused) == ("0 0 1 1 *", target, 1, False), schedule
assert schedule.body == "yearly" and schedule.headers["X-S"] == ["1"] and schedule.queue == "py-sched-q", schedule
assert schedule.next_schedule_time and schedule.method == "POST", schedule
client.schedule.pause(schedule_id)
assert client.schedule.get(schedule_id).paused
client.schedule.resume(schedule_id)
assert not client.schedule.get(schedule_id).paused
assert schedule_id in [s.schedule_id for s in client.schedule.list()]
client.schedule.delete(schedule_id)
assert schedule_id not in [s.schedule_id for s in client.schedule.list()]

# Cancel one, several, then all that are left.
client.message.cancel(published.message_id)
assert client.message.cancel_many([first.message_id]) == 1
assert client.message.cancel_all() >= 1

# The message that failed is in the DLQ, with the destination's answer.
dlq = client.dlq.list()
entries = [m for m in dlq.messages if m.url == env["FAILED_URL"]]
assert len(entries) == 1, dlq
entry = entries[0]
assert entry.response_status == 400 and entry.dlq_id, entry
assert client.dlq.get(entry.dlq_id).message_id == entry.message_id
client.dlq.delete(entry.dlq_id)
assert all(m.dlq_id != entry.dlq_id for m in client.dlq.list().messages)

# The log: every state parses, and a message's history is there.
logs = client.log.list()
assert {LogState.CREATED, LogState.CANCELED, LogState.FAILED} <= {log.state for log in logs.logs}, logs
history = client.log.list(filter={"message_id": published.message_id}).logs
assert [log.state for log in history] == [LogState.CANCELED, LogState.CANCEL_REQUESTED, LogState.CREATED], history

# Keys, and a signature Scout's embedded server makes, verified by the SDK's receiver.
keys = client.signing_key.get()
assert keys.current == env["CURRENT_KEY"] and keys.next == env["NEXT_KEY"], keys
Receiver(current_signing_key=keys.current, next_signing_key=keys.next).verify(
    signature=env["SIGNATURE"], body=env["SIGNED_BODY"], url=env["SIGNED_URL"]
)

# Rotation: the next key becomes current.
rotated = client.signing_key.rotate()
assert rotated.current == keys.next and rotated.next not in (keys.current, keys.next), rotated
assert client.signing_key.get() == rotated

print("python sdk ok")
