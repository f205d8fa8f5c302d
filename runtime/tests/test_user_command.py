"""``tenantkit user``: the operator's commands on the local user pool, audited as
'operator', never granting the operator role."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENANTKIT_")}
    env["TENANTKIT_LOCAL_USERS"] = str(tmp_path / "users.sqlite3")
    env["TENANTKIT_CONTROL_PLANE"] = json.dumps(
        {"provider": "sqlite", "path": str(tmp_path / "cp.sqlite3")}
    )
    return subprocess.run(
        [sys.executable, "-m", "tenantkit", "user", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_the_operator_manages_a_tenants_users(tmp_path: Path) -> None:
    invited = run(tmp_path, "invite", "acme", "ops@example.com", "--role", "admin")
    assert invited.returncode == 0, invited.stderr
    uid = json.loads(invited.stdout)["user_id"]
    assert json.loads(invited.stdout)["roles"] == ["admin"]
    changed = run(tmp_path, "set-roles", "acme", uid, "--role", "member")
    assert json.loads(changed.stdout)["roles"] == ["member"]
    assert json.loads(run(tmp_path, "disable", "acme", uid).stdout)["status"] == "disabled"
    assert json.loads(run(tmp_path, "enable", "acme", uid).stdout)["status"] == "invited"
    listed = run(tmp_path, "list", "acme")
    assert [json.loads(line)["user_id"] for line in listed.stdout.splitlines()] == [uid]
    assert run(tmp_path, "list", "globex").stdout == ""
    other = run(tmp_path, "disable", "globex", uid)
    assert other.returncode != 0
    assert "not in your tenant" in other.stderr
    operator = run(tmp_path, "set-roles", "acme", uid, "--role", "operator")
    assert operator.returncode != 0
    assert "operator role" in operator.stderr
    bad = run(tmp_path, "invite", "acme", "x" * 400 + "@example.com")
    assert bad.returncode != 0
    assert "email" in bad.stderr
    assert run(tmp_path, "remove", "acme", uid).returncode == 0
    assert run(tmp_path, "list", "acme").stdout == ""
