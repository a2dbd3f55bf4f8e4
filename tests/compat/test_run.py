"""`tresor run`: secrets into one process's environment. The command gets them (whole, or one
member of a JSON secret), keeps the caller's environment, receives signals itself, and its exit
status is returned; a missing or unreadable secret stops the run before the command starts,
naming the secret but never a value; nothing is written to disk."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from conftest import REGION, tresor_bin, uniq

PRINT_ENV = "import json, os; print(json.dumps({k: os.environ.get(k) for k in %r}))"


def env_for(server, key_id=None, secret=None):
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": server.endpoint,
        "AWS_ACCESS_KEY_ID": key_id or server.key_id,
        "AWS_SECRET_ACCESS_KEY": secret or server.secret,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }
    env.pop("AWS_SESSION_TOKEN", None)
    return env


def run(server, *args, cwd=None, **kw):
    return subprocess.run([tresor_bin(), "run", *args], env=env_for(server, **kw), cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def test_secrets_whole_and_by_json_key_reach_the_command_only(server, sm):
    api = uniq("run/openai")
    db = uniq("run/db")
    api_value = "sk-run-" + uniq("v").replace("/", "")
    db_arn = sm.create_secret(Name=db, SecretString=json.dumps(
        {"username": "app", "password": "pw-" + api_value, "port": 5432}))["ARN"]
    sm.create_secret(Name=api, SecretString=api_value)
    workdir = tempfile.mkdtemp(prefix="tresor-run-")
    proc = run(server, "--env", f"OPENAI_API_KEY={api}", "--env", f"DB_PASS={db_arn}#password",
               "--env", f"DB_PORT={db}#port", "--",
               sys.executable, "-c", PRINT_ENV % ["OPENAI_API_KEY", "DB_PASS", "DB_PORT", "HOME"],
               cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["OPENAI_API_KEY"] == api_value
    assert got["DB_PASS"] == "pw-" + api_value
    assert got["DB_PORT"] == "5432"
    assert got["HOME"] == os.environ.get("HOME")
    assert api_value not in proc.stderr
    # Nothing written where it ran.
    assert os.listdir(workdir) == []


def test_an_env_file_and_the_exit_status(server, sm):
    name = uniq("run/file")
    sm.create_secret(Name=name, SecretString="from-file")
    with tempfile.NamedTemporaryFile("w", suffix=".env", delete=False) as f:
        f.write(f"# secrets for the job\n\nTOKEN={name}\n")
    proc = run(server, "--env-file", f.name, "--", sys.executable, "-c",
               "import os, sys; print(os.environ['TOKEN']); sys.exit(7)")
    assert proc.returncode == 7, proc.stderr
    assert proc.stdout.strip() == "from-file"


def test_a_missing_secret_stops_the_run_and_names_it(server):
    missing = uniq("run/missing")
    proc = run(server, "--env", f"X={missing}", "--", sys.executable, "-c", "print('ran')")
    assert proc.returncode == 1
    assert "ran" not in proc.stdout
    assert missing in proc.stderr and "ResourceNotFoundException" in proc.stderr, proc.stderr


def test_a_denied_read_stops_the_run_and_never_shows_a_value(server, sm):
    name = uniq("run/denied")
    value = "sk-denied-" + uniq("v").replace("/", "")
    sm.create_secret(Name=name, SecretString=json.dumps({"k": value}))
    iam = server.client("iam")
    user = uniq("runner").replace("/", "-")
    iam.create_user(UserName=user)
    access = iam.create_access_key(UserName=user)["AccessKey"]
    proc = run(server, "--env", f"X={name}#k", "--", sys.executable, "-c", "print('ran')",
               key_id=access["AccessKeyId"], secret=access["SecretAccessKey"])
    assert proc.returncode == 1
    assert "ran" not in proc.stdout
    assert name in proc.stderr and "AccessDeniedException" in proc.stderr, proc.stderr
    assert value not in proc.stderr
    # A key that is not there names the key, not the value.
    proc = run(server, "--env", f"X={name}#nope", "--", sys.executable, "-c", "print('ran')")
    assert proc.returncode == 1 and "nope" in proc.stderr and value not in proc.stderr


def test_bad_entries_and_a_missing_command(server, sm):
    for bad in ("NOEQUALS", "1X=s", "X=s#"):
        proc = run(server, "--env", bad, "--", "true")
        assert proc.returncode == 2, (bad, proc.stderr)
    name = uniq("run/cmd")
    sm.create_secret(Name=name, SecretString="v")
    proc = run(server, "--env", f"X={name}", "--", "/nonexistent/command")
    assert proc.returncode == 127
    assert "cannot start /nonexistent/command" in proc.stderr


def test_signals_reach_the_command(server, sm):
    name = uniq("run/signal")
    sm.create_secret(Name=name, SecretString="v")
    script = ("import signal, sys, time\n"
              "def stop(n, f):\n    print('got TERM', flush=True); sys.exit(3)\n"
              "signal.signal(signal.SIGTERM, stop)\n"
              "print('ready', flush=True)\n"
              "time.sleep(30)\n")
    proc = subprocess.Popen([tresor_bin(), "run", "--env", f"X={name}", "--",
                             sys.executable, "-c", script],
                            env=env_for(server), stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    assert "got TERM" in out
    assert proc.returncode == 3
