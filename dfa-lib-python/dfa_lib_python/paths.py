"""How a path of this machine is written into provenance: relative, never revealing the machine's
layout unless asked.

Every path dfa_lib_python and keras_prov record on their own (the script, the interpreter, a
command-line argument that names a file, in the agents and in keras_prov's code lineage) goes
through `shown_path`:

- inside the project (the git work tree of the script, else the working directory): relative to
  it, e.g. `train.py`, `src/train.py`, `.venv/bin/python`;
- inside the home directory: `~/...`;
- elsewhere: `.../<parent>/<name>` (the last two parts only), e.g. `.../bin/python3.11`.

`DFA_ABSOLUTE_PATHS=1` records absolute paths instead (an explicit choice: they then show
in every answer of DfAnalyzer and in PROV documents).
"""
import os
import subprocess

ABSOLUTE_PATHS_VARIABLE = "DFA_ABSOLUTE_PATHS"

_project_roots = {}


def absolute_paths_wanted():
    return os.environ.get(ABSOLUTE_PATHS_VARIABLE, "").strip().lower() in ("1", "true", "yes")


def project_root(start=None):
    """The git work tree holding `start` (a directory; the working directory by default), else the
    working directory. Asked once per directory and process."""
    directory = os.path.abspath(start or os.getcwd())
    if directory not in _project_roots:
        _project_roots[directory] = git_top_level(directory) or os.path.abspath(os.getcwd())
    return _project_roots[directory]


def git_top_level(directory):
    try:
        answer = subprocess.run(["git", "-C", directory, "rev-parse", "--show-toplevel"], capture_output=True,
                                text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return answer.stdout.strip() or None if answer.returncode == 0 else None


def shown_path(path, root=None):
    """`path` as keras_prov records it (see the module's docstring); None stays None."""
    if not path:
        return path
    absolute = os.path.abspath(os.path.expanduser(str(path)))
    if absolute_paths_wanted():
        return absolute
    for base, prefix in ((root or project_root(), ""), (os.path.expanduser("~"), "~/")):
        if base and base != os.sep and _inside(absolute, base):
            relative = os.path.relpath(absolute, base)
            return prefix + relative if relative != "." else (prefix.rstrip("/") or ".")
    parts = [part for part in absolute.split(os.sep) if part]
    return ".../" + "/".join(parts[-2:])


def _inside(path, base):
    base = os.path.abspath(base)
    return path == base or path.startswith(base.rstrip(os.sep) + os.sep)
