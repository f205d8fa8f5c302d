"""The attack suite's fixtures: the attacked server (see ``_attack.py``) and the check of
its log lines after every test that used it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from testharness.tenantkit_serve import start_serve
from tests.security._attack import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, Target


@pytest.fixture(scope="session")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    directory = tmp_path_factory.mktemp("attacked")
    env = {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_SESSION_TOKEN": "",
        "AWS_SECURITY_TOKEN": "",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(directory / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(directory / "no-aws-credentials"),
    }
    served = start_serve(directory, "--demo", env=env)
    try:
        state = served.state_dir
        defaults = json.loads((state / "config" / "defaults.json").read_text())
        planted = [
            SECRET_ACCESS_KEY,
            (state / "signing-key").read_text().strip(),
            defaults["storage"]["signing_key"],
            str(directory),  # every server path lives below it
            directory.name,
        ]
        yield Target(served, planted)
    finally:
        served.stop()


@pytest.fixture(autouse=True)
def clean_logs(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test that used the server: its new log lines leak nothing and report
    no server error."""
    if "target" not in request.fixturenames:
        yield
        return
    target: Target = request.getfixturevalue("target")
    start = target.log_offset()
    yield
    time.sleep(0.2)  # let the server finish writing the lines of the last requests
    new = target.serve.logs[start:]
    for value in target.planted[:3]:
        assert value not in new, "a planted secret reached the server's log"
    assert "Traceback" not in new, new[-3000:]
    errors = [line for line in new.splitlines() if '"level": "ERROR"' in line]
    assert not errors, errors[:3]
