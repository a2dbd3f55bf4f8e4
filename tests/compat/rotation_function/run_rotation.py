"""Run a Lambda-style rotation handler as a Tresor command rotator: the step's event arrives
as JSON on stdin; a raised exception makes the exit status nonzero (a failed step).

    tresor rotator create my-rotator --role-arn <role> \
        --command 'python3 run_rotation.py' --working-directory <this directory>
"""

import json
import logging
import os
import sys

import lambda_function

logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(message)s")

if __name__ == "__main__":
    event = json.load(sys.stdin)
    # For the tests: keep the events received (the RotationToken must appear nowhere else).
    if os.environ.get("EVENT_LOG"):
        with open(os.environ["EVENT_LOG"], "a") as f:
            f.write(json.dumps(event) + "\n")
    lambda_function.lambda_handler(event, None)
