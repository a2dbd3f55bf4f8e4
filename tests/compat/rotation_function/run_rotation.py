"""Run a Lambda-style rotation handler as a Tresor command rotator: the step's event arrives
as JSON on stdin; a raised exception makes the exit status nonzero (a failed step).

    tresor rotator create my-rotator --role-arn <role> \
        --command 'python3 run_rotation.py' --working-directory <this directory>
"""

import json
import logging
import os
import sys
import time

import lambda_function

logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(message)s")

if __name__ == "__main__":
    event = json.load(sys.stdin)
    # For the tests: keep the events received (the RotationToken must appear nowhere else).
    if os.environ.get("EVENT_LOG"):
        logged = dict(event)
        if os.environ.get("NODE_TAG"):
            logged["Node"] = os.environ.get("AWS_ENDPOINT_URL", "")
        with open(os.environ["EVENT_LOG"], "a") as f:
            f.write(json.dumps(logged) + "\n")
    # For the tests of a node killed mid-rotation: the first time HANG_STEP runs, record
    # which server ran it (and this process) in HANG_MARKER, then hang.
    marker = os.environ.get("HANG_MARKER")
    if event["Step"] == os.environ.get("HANG_STEP") and marker and not os.path.exists(marker):
        with open(marker, "w") as f:
            f.write("%s %d\n" % (os.environ.get("AWS_ENDPOINT_URL", ""), os.getpid()))
        time.sleep(600)
    lambda_function.lambda_handler(event, None)
