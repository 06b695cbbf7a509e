"""The official Python SDK's `Receiver` on a real delivery from `scout qstash-dev`.

Run by the integration test `qstash_standalone::…`, which passes what the endpoint it ran received
(SIGNATURE, BODY, URL) and the keys the server signs with (CURRENT_KEY, NEXT_KEY). Exits non-zero
unless the delivery verifies and a tampered body does not.
"""

import os

from qstash import Receiver

env = os.environ
receiver = Receiver(current_signing_key=env["CURRENT_KEY"], next_signing_key=env["NEXT_KEY"])
receiver.verify(signature=env["SIGNATURE"], body=env["BODY"], url=env["URL"])
try:
    receiver.verify(signature=env["SIGNATURE"], body=env["BODY"] + " ", url=env["URL"])
except Exception:
    pass
else:
    raise SystemExit("a tampered body verified")
print("python receiver ok")
