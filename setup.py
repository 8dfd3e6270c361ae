"""Installs the three Keras-Prov packages from their folders in this repository, and the startup
hook that gives Keras provenance (startup/keras_prov_hook.py and its .pth file)."""
import os

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

HOOK_FOLDER = "startup"
HOOK_PTH = "keras_prov_hook.pth"

PACKAGE_ROOTS = {
    "keras_prov": "keras_prov",
    "dfa_lib_python": "dfa-lib-python/dfa_lib_python",
    "dfanalyzer": "DfAnalyzer/dfanalyzer",
}


def packages_under(name, folder):
    """The package and its subpackages, mapped to their folders in this repository."""
    subpackages = find_packages(folder)
    packages = [name] + [f"{name}.{sub}" for sub in subpackages]
    dirs = {name: folder}
    dirs.update({f"{name}.{sub}": f"{folder}/{sub.replace('.', '/')}" for sub in subpackages})
    return packages, dirs


class BuildPyWithHook(build_py):
    """Puts keras_prov_hook.pth at the top of the wheel, so pip installs it into site-packages
    (where Python runs it at start) and lists it in RECORD (so uninstalling removes it)."""

    def run(self):
        super().run()
        if not self.editable_mode:
            self.copy_file(os.path.join(HOOK_FOLDER, HOOK_PTH), os.path.join(self.build_lib, HOOK_PTH))

    def get_outputs(self, include_bytecode=True):
        hook = [] if self.editable_mode else [os.path.join(self.build_lib, HOOK_PTH)]
        return super().get_outputs(include_bytecode) + hook


class EditableWheelWithHook(editable_wheel):
    """The same for `pip install -e .`: the editable wheel carries the .pth file too. Its name sorts
    after setuptools' `__editable__.*.pth`, which makes keras_prov_hook importable first."""

    def _select_strategy(self, name, tag, build_lib):
        strategy = super()._select_strategy(name, tag, build_lib)
        return _WithHookFile(strategy)


class _WithHookFile:
    def __init__(self, strategy):
        self.strategy = strategy

    def __call__(self, wheel, files, mapping):
        self.strategy(wheel, files, mapping)
        with open(os.path.join(HOOK_FOLDER, HOOK_PTH), "rb") as hook:
            wheel.writestr(HOOK_PTH, hook.read())

    def __enter__(self):
        self.strategy.__enter__()
        return self

    def __exit__(self, *exc):
        return self.strategy.__exit__(*exc)


packages, package_dir = [], {"": HOOK_FOLDER}
for package_name, package_folder in PACKAGE_ROOTS.items():
    names, dirs = packages_under(package_name, package_folder)
    packages += names
    package_dir.update(dirs)

setup(
    name="keras-prov",
    version="0.1.0",
    description="Keras 3 that records the W3C PROV provenance of every training run in MonetDB",
    python_requires=">=3.10",
    packages=packages,
    py_modules=["keras_prov_hook"],
    package_dir=package_dir,
    package_data={"dfanalyzer": ["samples/*.json", "store/*.sql", "web/static/*", "web/static/vendor/*", "web/static/vendor/codemirror/*",
                                "web/templates/*.html"]},
    install_requires=[
        "keras>=3.0",
        "numpy",
        "h5py",
        "fastapi",
        "jinja2",
        "uvicorn",
        "httpx",
        "requests",
        "pydantic>=2",
        "orjson>=3.9",
        "prov>=2",
        "pygraphviz",
        "pymonetdb",
    ],
    extras_require={
        "embedded": ["monetdbe==0.11"],
        "tuning": ["keras-tuner>=1.4", "tensorboard", "optuna>=4", "optuna-integration"],
        "notebook": ["pandas", "ipython", "matplotlib"],
        "system": ["psutil", "nvidia-ml-py"],
    },
    entry_points={"console_scripts": ["dfanalyzer=dfanalyzer.cli.main:main"]},
    cmdclass={"build_py": BuildPyWithHook, "editable_wheel": EditableWheelWithHook},
)
