"""`pip install .` builds a wheel that carries its own blkrew-opt and finds it.

Builds the C++ once more through scikit-build-core (about a minute on two
cores), so it is the slowest test here; it is what proves the package works
outside a checkout.
"""

import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_ships_and_finds_blkrew_opt(tmp_path):
    wheel_dir = tmp_path / "wheel"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheel_dir),
            str(ROOT),
        ],
        check=True,
    )
    (wheel,) = wheel_dir.glob("blkrew-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        assert "blkrew/_bin/blkrew-opt" in zf.namelist()
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    # Import the installed copy, not the checkout's editable one.
    script = textwrap.dedent(
        """
        import sys
        sys.meta_path[:] = [f for f in sys.meta_path if "ScikitBuild" not in repr(f)]
        import blkrew
        print(blkrew.__file__)
        print(blkrew.find_blkrew_opt())
        print(blkrew.run_blkrew_opt("func.func @f() { return }"))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout.splitlines()
    assert out[0] == str(target / "blkrew" / "__init__.py")
    assert out[1] == str(target / "blkrew" / "_bin" / "blkrew-opt")
    assert "func.func @f()" in "\n".join(out[2:])
