"""A wheel of this repository, installed into a fresh virtual environment, brings the startup hook:
the original Keras-Prov style script (plain `keras` imports) records its provenance, and
uninstalling takes the hook away.

Offline and quick: the wheel is built without build isolation, installed with `--no-deps`, and the
fresh environment finds Keras, TensorFlow and the rest through a .pth line naming this
environment's site-packages (a path in a .pth line is added to sys.path, but the .pth files inside
it, such as this checkout's editable install, are not run)."""
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
SOURCES = ["setup.py", "startup", "keras_prov", "dfa-lib-python/dfa_lib_python", "DfAnalyzer/dfanalyzer"]


def run(command, **options):
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, **options)
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """A wheel built from a copy of the sources (the checkout gets no build/ folder)."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        origin = REPOSITORY / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(origin, source / name)
    out = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", str(out), str(source)])
    return next(out.glob("keras_prov-*.whl"))


@pytest.fixture
def fresh_venv(tmp_path, wheel):
    venv = tmp_path / "fresh"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    site_packages = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
                         .stdout.strip())
    (site_packages / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q",
         str(wheel)])
    return python, site_packages


def test_wheel_carries_the_hook_and_the_original_style_script_records(fresh_venv, dfa_service, tmp_path):
    python, site_packages = fresh_venv
    assert (site_packages / "keras_prov_hook.pth").is_file()
    where = run([str(python), "-c", "import sys, keras_prov_hook; print(keras_prov_hook.__file__); "
                                    "print(type(sys.meta_path[0]).__name__); print('keras' in sys.modules)"],
                cwd=tmp_path).stdout.split()
    assert where == [str(site_packages / "keras_prov_hook.py"), "KerasImportWatcher", "False"]

    script = tmp_path / "original.py"
    shutil.copy(REPOSITORY / "examples" / "keras_prov_original_api.py", script)
    env = {key: value for key, value in os.environ.items() if not key.startswith("KERAS_PROV")}
    env.update(DFA_URL=dfa_service.url, DFA_SPOOL_DIR=str(tmp_path / "spool"), TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH="")
    result = run([str(python), str(script)], cwd=tmp_path, env=env)
    assert "Provenance execution: alexnet1-" in result.stdout
    installed = run([str(python), "-c", "import keras_prov; print(keras_prov.__file__)"], cwd=tmp_path).stdout
    assert installed.strip().startswith(str(site_packages))

    hyperparameters = dfa_service.query("SELECT optimizer_name, learning_rate, decay, momentum, epochs, batch_size, "
                                        "num_layers FROM alexnet1.itrainingmodel")
    assert hyperparameters == [["SGD", pytest.approx(0.01), None, pytest.approx(0.9), 2.0, 64.0, 13.0]]
    assert [row[0] for row in dfa_service.query("SELECT epoch FROM alexnet1.otrainingmodel ORDER BY epoch")] == [1, 2]
    assert dfa_service.query("SELECT cause FROM alexnet1.oadaptation") == [["LearningRateScheduler"]] * 2
    assert len(dfa_service.query("SELECT accuracy FROM alexnet1.otestingmodel")) == 1
    assert [row[0] for row in dfa_service.query("SELECT format FROM model_file")] == ["keras"]

    run([sys.executable, "-m", "pip", "--python", str(python), "uninstall", "-y", "-q", "keras-prov"])
    assert not (site_packages / "keras_prov_hook.pth").exists()
    after = run([str(python), "-c", "import sys; print([type(f).__name__ for f in sys.meta_path])"], cwd=tmp_path)
    assert "KerasImportWatcher" not in after.stdout
