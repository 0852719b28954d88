#!/usr/bin/env python3
"""`make demo`: rotor end to end on this machine, on embedded defaults.

Starts cargo-lambda's Lambda emulator and rotor's local Secrets Manager endpoint (on a manual clock), runs the
`rotate-custom` function against them, creates a demo API-key secret, rotates it now through RotateSecret, then
moves the clock a day forward so the schedule rotates it again, printing `rotatectl status` along the way.
Secret values are never printed: a short fingerprint shows that they change. Stops everything it started.
"""

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import json
import urllib.request
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "target" / "debug"
STATE = ROOT / ".rotor" / "demo"
SECRET = "rotor-demo/api-key"
FUNCTION = "rotate-custom"
CLOCK_START = "2026-01-01T00:00:00Z"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, what, log):
    deadline = time.time() + 60
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    sys.exit(f"{what} did not start; see {log}")


def step(text):
    bold, plain = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("", "")
    print(f"\n{bold}==> {text}{plain}", flush=True)


def last_rotation(endpoint, secret):
    """The endpoint's record of the secret's last rotation, once it has finished."""
    deadline = time.time() + 60
    while time.time() < deadline:
        with urllib.request.urlopen(f"{endpoint}/_rotor/rotations/{secret}") as answer:
            record = json.load(answer)["LastRotation"]
        if record and record["state"] != "running":
            return record
        time.sleep(0.05)
    sys.exit("the rotation did not finish")


def fingerprint(value):
    return hashlib.sha256(value.encode()).hexdigest()[:12]


def main():
    shutil.rmtree(STATE, ignore_errors=True)
    STATE.mkdir(parents=True)
    invoke_port, endpoint_port = free_port(), free_port()
    endpoint = f"http://127.0.0.1:{endpoint_port}"
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1",
               AWS_ACCESS_KEY_ID="AKIDROTORDEMO", AWS_SECRET_ACCESS_KEY="rotor-demo-not-a-secret")
    processes = []

    def start(args, log, extra_env=None):
        with open(STATE / log, "w") as out:
            processes.append(subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=dict(env, **(extra_env or {})),
                                              cwd=ROOT))

    try:
        step(f"starting cargo-lambda's Lambda emulator on 127.0.0.1:{invoke_port}")
        start([str(ROOT / ".venv/bin/cargo-lambda"), "lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1",
               "-P", str(invoke_port)], "cargo-lambda.log")
        wait_for(invoke_port, "cargo lambda watch", STATE / "cargo-lambda.log")

        step(f"starting rotor's local Secrets Manager endpoint on {endpoint} (manual clock at {CLOCK_START})")
        start([str(BIN / "rotatectl"), "serve", "--port", str(endpoint_port), "--state-dir", str(STATE / "state"),
               "--invoke-endpoint", f"http://127.0.0.1:{invoke_port}", "--manual-clock", CLOCK_START],
              "endpoint.log")
        wait_for(endpoint_port, "rotatectl serve", STATE / "endpoint.log")

        step(f"starting the {FUNCTION} function (polls the emulator's Runtime API)")
        start([str(BIN / FUNCTION)], f"{FUNCTION}.log", {
            "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{invoke_port}/.rt/{FUNCTION}",
            "AWS_LAMBDA_FUNCTION_NAME": FUNCTION, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "GENERATED_KEY": "api_key", "PASSWORD_LENGTH": "40",
            "EXCLUDE_PUNCTUATION": "true",
        })

        sm = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="AKIDROTORDEMO", aws_secret_access_key="rotor-demo-not-a-secret")
        step(f"creating the secret {SECRET}")
        sm.create_secret(Name=SECRET, SecretString=json.dumps({"api_key": "initial-key-from-the-vendor",
                                                               "service": "payments-api"}))
        ctl = [str(BIN / "rotatectl")]
        subprocess.run(ctl + ["status", SECRET], env=env, check=True)

        def current():
            return json.loads(sm.get_secret_value(SecretId=SECRET)["SecretString"])

        before = current()["api_key"]
        step("configuring rotation (daily, 2h window) with RotateImmediately=false: testSecret checks the setup")
        sm.rotate_secret(SecretId=SECRET, RotationLambdaARN=f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}",
                         RotationRules={"ScheduleExpression": "rate(1 day)", "Duration": "2h"},
                         RotateImmediately=False)
        record = last_rotation(endpoint, SECRET)
        print(f"configuration test {record['state']}: {record.get('error_type') or ''} {record.get('error_message') or ''}")
        print("(the vendor's initial key does not meet the 40-character policy; a rotation replaces it)")

        step("rotating now: rotatectl rotate --wait")
        subprocess.run(ctl + ["rotate", SECRET, "--wait", "--timeout", "60"], env=env, check=True)
        after = current()
        print(f"api_key fingerprint {fingerprint(before)} -> {fingerprint(after['api_key'])}, "
              f"{len(after['api_key'])} characters; other fields kept: service={after['service']}")
        subprocess.run(ctl + ["status", SECRET], env=env, check=True)

        step("moving the endpoint's clock forward one day: the schedule rotates the secret")
        request = urllib.request.Request(f"{endpoint}/_rotor/clock", data=json.dumps({"seconds": 86400, "wait": True}).encode(),
                                         headers={"content-type": "application/json"})
        answer = json.load(urllib.request.urlopen(request))
        print(f"scheduled rotations run: {answer['rotations_started']}")
        scheduled = current()["api_key"]
        print(f"api_key fingerprint {fingerprint(after['api_key'])} -> {fingerprint(scheduled)}")
        subprocess.run(ctl + ["status", SECRET], env=env, check=True)
        step(f"done; logs and the audit log are in {STATE.relative_to(ROOT)}/")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
