"""The built distributions work without the source tree: the sdist and the wheel carry the rule pack,
the report templates and the example config, and a wheel installed into a fresh virtual environment
(not editable) runs ``scan``, ``init``, ``check``, ``demo`` and ``report``.

The fresh environment gets the dependencies of this one through a ``.pth`` line (a line of a
``.pth`` file adds a folder to ``sys.path`` without running that folder's own ``.pth`` files, so
this environment's editable install of leakpatrol is not seen there): no package is downloaded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

from crawler import __version__
from tests.cli.helpers import builtin_token

ROOT = Path(__file__).resolve().parents[1]
DATA = ["crawler/data/leakpatrol.example.toml", "crawler/data/rules/github.toml",
        "crawler/data/templates/report.html.j2", "crawler/data/templates/report.md.j2"]
SKIP = shutil.ignore_patterns(".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache",
                              ".hypothesis", ".grimp_cache", ".corpus", "*.db", "*.key", "leakpatrol-demo")

pytestmark = pytest.mark.e2e


def _run(argv: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False,
                          env={**env, "NO_COLOR": "1"})


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` folder of a fresh venv holding the wheel built (through the sdist) from this tree."""
    tmp = tmp_path_factory.mktemp("packaging")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=SKIP)
    dist = tmp / "dist"
    built = _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(src)], cwd=tmp)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    venv = tmp / "venv"
    assert _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp).returncode == 0
    purelib = Path(_run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                        cwd=tmp).stdout.strip())
    (purelib / "_leakpatrol_test_deps.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    [wheel] = dist.glob("*.whl")
    inst = _run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", "--no-deps",
                 "--no-index", str(wheel)], cwd=tmp)
    assert inst.returncode == 0, inst.stderr
    return venv / "bin"


def test_sdist_and_wheel_carry_the_data_files(installed: Path) -> None:
    dist = installed.parents[1] / "dist"
    [sdist] = dist.glob("*.tar.gz")
    [wheel] = dist.glob("*.whl")
    assert sdist.name == f"leakpatrol-{__version__}.tar.gz" and wheel.name.startswith(f"leakpatrol-{__version__}-")
    with tarfile.open(sdist) as tf:
        in_sdist = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    for name in DATA:
        assert name in in_sdist, name
        assert name in in_wheel, name
    assert len([n for n in in_wheel if n.startswith("crawler/data/rules/")]) == len(list(
        (ROOT / "crawler" / "data" / "rules").glob("*.toml")))


def test_the_installed_wheel_runs_from_anywhere(installed: Path, tmp_path: Path) -> None:
    where = _run([str(installed / "python"), "-c", "import crawler; print(crawler.__file__)"], cwd=tmp_path)
    assert str(installed.parent) in where.stdout, "leakpatrol comes from the wheel, not from the source tree"
    version = _run([str(installed / "leakpatrol"), "--version"], cwd=tmp_path)
    assert version.stdout.strip() == f"leakpatrol {__version__}"

    token = builtin_token("github-pat-classic")
    (tmp_path / "leak.txt").write_text(f"token: {token}\n", encoding="utf-8")
    (tmp_path / "clean.txt").write_text("nothing\n", encoding="utf-8")
    leak = _run([str(installed / "leakpatrol"), "scan", "leak.txt"], cwd=tmp_path)
    assert leak.returncode == 1, leak.stdout + leak.stderr
    assert "github-pat-classic" in leak.stdout and token not in leak.stdout
    assert _run([str(installed / "leakpatrol"), "scan", "clean.txt"], cwd=tmp_path).returncode == 0

    init = _run([str(installed / "leakpatrol"), "init", "site"], cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    check = _run([str(installed / "leakpatrol"), "check", "-c", "site/leakpatrol.toml"], cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr

    demo = _run([str(installed / "leakpatrol"), "demo", "show", "--seconds", "5"], cwd=tmp_path, timeout=240)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    report = _run([str(installed / "leakpatrol"), "report", "-c", "show/leakpatrol.toml", "--since", "7d",
                   "--format", "md", "-o", "week.md"], cwd=tmp_path)
    assert report.returncode == 0, report.stdout + report.stderr
    assert (tmp_path / "week.md").read_text(encoding="utf-8").startswith("#")
