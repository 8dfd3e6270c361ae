"""Installs the three Keras-Prov packages from their folders in this repository."""
from setuptools import find_packages, setup

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


packages, package_dir = [], {}
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
        "prov>=2",
        "pygraphviz",
        "pymonetdb",
    ],
    extras_require={"embedded": ["monetdbe==0.11"]},
    entry_points={"console_scripts": ["dfanalyzer=dfanalyzer.cli.main:main"]},
)
