"""The fresh-machine set-up: the system-package script's Go check and the pinned tool versions.

The script's decisions are tested by running it with stand-ins for the system tools it asks
(`go`, `chromium`, `promtool`) first on PATH: which Go a machine has is the outside world here.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / ".ci" / "install-system-deps"


def _stand_in(folder: Path, name: str, body: str) -> None:
    tool = folder / name
    tool.write_text(f"#!/bin/sh\n{body}\n")
    tool.chmod(0o755)


def _run_script(
    tmp_path: Path, go_version: str | None, **env: str
) -> subprocess.CompletedProcess[str]:
    tools = tmp_path / "bin"
    tools.mkdir()
    _stand_in(tools, "chromium", "exit 0")
    _stand_in(tools, "promtool", "exit 0")
    if go_version is not None:
        _stand_in(tools, "go", f'[ "$1 $2" = "env GOVERSION" ] && echo go{go_version}')
    # Only the stand-ins and the utilities the script uses: a Go elsewhere on this machine
    # must not answer in place of the stand-in.
    for utility in ("bash", "sed", "sort", "head", "printf", "id", "cat"):
        found = shutil.which(utility)
        assert found, f"{utility} is needed to run the script"
        (tools / utility).symlink_to(found)
    return subprocess.run(
        [str(tools / "bash"), str(SCRIPT)],
        env={"PATH": str(tools), "HOME": str(tmp_path), "PYTHON": sys.executable, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_an_old_go_stops_the_set_up_saying_what_is_needed(tmp_path: Path) -> None:
    result = _run_script(tmp_path, "1.19.8")
    assert result.returncode == 1
    assert "needs Go >= 1.24" in result.stderr
    assert "1.19.8" in result.stderr


def test_a_new_enough_go_passes(tmp_path: Path) -> None:
    for version in ("1.24.0", "1.26.8", "1.30"):
        (tmp_path / version).mkdir()
        result = _run_script(tmp_path / version, version)
        assert result.returncode == 0, result.stderr


def test_an_old_go_is_fine_when_a_mongodb_server_is_given(tmp_path: Path) -> None:
    result = _run_script(tmp_path, "1.19.8", MYKERIO_TEST_MONGO_URI="mongodb://127.0.0.1:27017")
    assert result.returncode == 0
    assert "MYKERIO_TEST_MONGO_URI is set" in result.stderr


def _requirement_names(lines: str) -> list[str]:
    names = []
    for line in lines.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(re.split(r"[<>=!~\[;]", line, maxsplit=1)[0].strip().lower())
    return names


def test_every_dependency_and_tool_is_pinned_to_one_version() -> None:
    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    wanted = _requirement_names(setup["options"]["install_requires"])
    wanted += _requirement_names(setup["options.extras_require"]["test"])
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt line {line!r} is not an exact pin"
            pins[name.lower().replace("_", "-")] = version
    missing = [name for name in wanted if name.replace("_", "-") not in pins]
    assert not missing, f"not pinned in constraints.txt: {missing}"


def test_make_installs_with_the_constraints() -> None:
    dry_run = subprocess.run(
        ["make", "-n", "-B", ".venv/.test-installed"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "PYTHON": "python3"},
    )
    installs = [line for line in dry_run.stdout.splitlines() if "pip install" in line]
    assert installs
    assert all("-c constraints.txt" in line for line in installs)
