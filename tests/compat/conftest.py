"""Fixtures for the real-client suites: a Tresor dev server started from the built binary,
boto3 clients pointed at it, and a helper that runs the aws CLI against it."""

import json
import os
import subprocess
import sys
import tempfile
import time

import boto3
import pytest
from botocore.config import Config

ROOT_KEY_ID = "AKIATRESORCOMPAT0001"
ROOT_SECRET = "compat-root-secret-key-for-tests-only-0001"
REGION = "us-east-1"


def tresor_bin():
    path = os.environ.get("TRESOR_BIN")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "..", "..", "target", "debug", "tresor")
    if not os.path.exists(path):
        raise RuntimeError(f"Tresor binary not found at {path}; build it or set TRESOR_BIN")
    return path


class DevServer:
    """A `tresor server --dev` process on a free loopback port."""

    def __init__(self, extra_args=(), env=None):
        self.data_dir = tempfile.mkdtemp(prefix="tresor-compat-")
        self.log = open(os.path.join(self.data_dir, "server.log"), "w+")
        args = [
            tresor_bin(), "server", "--dev", "--listen", "127.0.0.1:0",
            "--data-dir", os.path.join(self.data_dir, "data"),
            "--root-access-key-id", ROOT_KEY_ID,
            "--root-secret-access-key", ROOT_SECRET,
            *extra_args,
        ]
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=self.log, text=True,
            env={**os.environ, **(env or {})},
        )
        self.endpoint = None
        self.banner = []
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.banner.append(line)
            if line.startswith("Tresor listening on "):
                self.endpoint = line.split()[-1]
            if line.startswith("export AWS_ENDPOINT_URL="):
                break
        if not self.endpoint:
            self.stop()
            raise RuntimeError("Tresor did not start: " + "".join(self.banner) + self.server_log())

    def client(self, service="secretsmanager", region=REGION, key_id=ROOT_KEY_ID, secret=ROOT_SECRET, **kw):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            config=Config(retries={"max_attempts": 1}, **kw),
        )

    def aws(self, *args, check=True, region=REGION):
        """Run the aws CLI against this server; returns parsed JSON output (or None)."""
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ROOT_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": ROOT_SECRET,
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_MAX_ATTEMPTS": "1",
        }
        aws_bin = os.path.join(os.path.dirname(sys.executable), "aws")
        proc = subprocess.run([aws_bin, *args, "--output", "json"], env=env, capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
        if not check:
            return proc
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    def server_log(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="session")
def server():
    s = DevServer()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def sm(server):
    return server.client()
