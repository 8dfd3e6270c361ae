"""What the startup hook costs: interpreter start (`python -c pass`) and `import keras`, with and
without it.

Two throw-away virtual environments, identical but for the hook: both reach this environment's
packages and this checkout through a .pth line; only one has keras_prov_hook.py and its .pth file
(as a wheel of this repository installs them). Each command runs `--runs` times in each
environment, interleaved (A, B, B, A, A, B, ...) so that a machine busy with other work weighs on both
alike. Prints the median and mean wall time per environment and the difference of the medians.
Targets: +2 ms for interpreter start, +5 ms for `import keras`. On a busy machine the wall-time
difference is noisy, so it also prints what `python -X importtime` attributes to the hook's own
modules (keras_prov_hook at start; keras_prov's modules loaded when Keras is patched).

    .venv/bin/python bench/import_hook.py [--runs 20]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOOK_FOLDER = os.path.join(REPOSITORY, "startup")
TARGETS_MS = {"python -c pass": 2.0, "import keras": 5.0}
COMMANDS = {"python -c pass": "pass", "import keras": "import keras"}


def make_venv(root, name, with_hook):
    """A venv whose .pth lines give it this environment's packages and this checkout's."""
    directory = os.path.join(root, name)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", directory], check=True)
    python = os.path.join(directory, "bin", "python")
    site_packages = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                   check=True, capture_output=True, text=True).stdout.strip()
    paths = [sysconfig.get_paths()["purelib"], REPOSITORY, os.path.join(REPOSITORY, "dfa-lib-python")]
    with open(os.path.join(site_packages, "zz_keras_prov_checkout.pth"), "w") as pth:
        pth.write("\n".join(paths) + "\n")
    if with_hook:
        for name in ("keras_prov_hook.py", "keras_prov_hook.pth"):
            shutil.copy(os.path.join(HOOK_FOLDER, name), site_packages)
    return python


def wall_time(python, code, environment):
    started = time.perf_counter()
    subprocess.run([python, "-c", code], check=True, env=environment, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per command and environment (default 20)")
    args = parser.parse_args()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("KERAS_PROV")}
    environment.update(TF_CPP_MIN_LOG_LEVEL="3")
    environment.pop("PYTHONDONTWRITEBYTECODE", None)  # measured as installed: with cached bytecode
    with tempfile.TemporaryDirectory(prefix="bench-hook-") as root:
        without = make_venv(root, "without", with_hook=False)
        with_hook = make_venv(root, "with", with_hook=True)
        check = subprocess.run([with_hook, "-c", "import keras; print(hasattr(keras.Model, 'provenance'))"],
                               capture_output=True, text=True, env=environment)
        if check.stdout.strip() != "True":
            sys.exit(f"the hook did not patch Keras in the benchmark environment:\n{check.stderr[-2000:]}")
        print(f"{args.runs} interleaved runs per environment; wall time per run, milliseconds")
        print(f"{'command':<16} {'without: median':>16} {'mean':>8} {'with hook: median':>18} {'mean':>8} "
              f"{'difference':>11} {'target':>8}")
        for label, code in COMMANDS.items():
            for python in (without, with_hook):  # warm the file cache before measuring
                wall_time(python, code, environment)
            times = {without: [], with_hook: []}
            for run in range(args.runs):
                order = (without, with_hook) if run % 2 == 0 else (with_hook, without)  # neither always first
                for python in order:
                    times[python].append(wall_time(python, code, environment) * 1000)
            base, hooked = times[without], times[with_hook]
            difference = statistics.median(hooked) - statistics.median(base)
            print(f"{label:<16} {statistics.median(base):>16.1f} {statistics.mean(base):>8.1f} "
                  f"{statistics.median(hooked):>18.1f} {statistics.mean(hooked):>8.1f} {difference:>+11.1f} "
                  f"{'+' + str(TARGETS_MS[label]):>8}")
        start_ms = statistics.median(own_import_ms(with_hook, "pass", environment, "keras_prov_hook")
                                     for _ in range(args.runs))
        patch_ms = statistics.median(own_import_ms(with_hook, "import keras", environment, "keras_prov")
                                     for _ in range(min(args.runs, 5)))
        print(f"-X importtime, self time of the hook's modules (median): at start {start_ms:.2f} ms "
              f"(keras_prov_hook); on import keras {patch_ms:.1f} ms (keras_prov_hook and keras_prov.*)")


def own_import_ms(python, code, environment, prefix):
    """Milliseconds `-X importtime` attributes to modules named `prefix*` (their self time)."""
    result = subprocess.run([python, "-X", "importtime", "-c", code], capture_output=True, text=True,
                            env=environment, check=True)
    total_us = 0
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        self_us, _, name = (part.strip() for part in line[len("import time:"):].split("|"))
        if name.startswith(prefix) and self_us.isdigit():
            total_us += int(self_us)
    return total_us / 1000


if __name__ == "__main__":
    main()
