"""Which code ran a fit, and in which Python environment: the script or notebook cell, git, the
command line and the installed packages.

One `iCodeEnvironment` row per fit (see `COLUMNS`) says it by digests; the texts behind the
digests (the script, the notebook cell, the git diff, the package list) go to `iSourceText`, at
most once per digest and dataflow (the recording thread asks DfAnalyzer which digests it already
holds). Digests are the SHA-256 of the UTF-8 text as stored; the git diff digest is that of the
whole diff even when the stored text is cut at `DIFF_LIMIT` bytes (`git_diff_truncated`).

On the training thread `capture()` only copies `sys.argv` and the current notebook cell's source
(a reference to a string); reading files, running git and listing packages happen on the
recording thread (`describe`).
"""
import hashlib
import importlib.metadata
import os
import platform
import shlex
import subprocess
import sys

from dfa_lib_python.paths import project_root, shown_path

SCRIPT_LIMIT = 1 << 20
DIFF_LIMIT = 256 * 1024
GIT_TIMEOUT = 10

COLUMNS = [("script_path", "TEXT"), ("script_sha256", "TEXT"), ("script_bytes", "NUMERIC"), ("notebook", "TEXT"),
           ("cell_sha256", "TEXT"), ("git_commit", "TEXT"), ("git_branch", "TEXT"), ("git_dirty", "TEXT"),
           ("git_diff_sha256", "TEXT"), ("git_diff_bytes", "NUMERIC"), ("git_diff_truncated", "TEXT"),
           ("command_line", "TEXT"), ("python_version", "TEXT"), ("packages_sha256", "TEXT"),
           ("packages_count", "NUMERIC")]
TEXT_COLUMNS = [("sha256", "TEXT"), ("kind", "TEXT"), ("size_bytes", "NUMERIC"), ("truncated", "TEXT"),
                ("text", "TEXT")]

_packages = None


def capture():
    """What must be read while the fit starts (training thread): cheap references only."""
    main = sys.modules.get("__main__")
    return {"argv": list(sys.argv), "main_file": getattr(main, "__file__", None), "cell": _notebook_cell(),
            "cwd": os.getcwd()}


def _notebook_cell():
    """(source of the cell running now, notebook name) inside IPython/Jupyter, else None."""
    shell_module = sys.modules.get("IPython")
    if shell_module is None:
        return None
    try:
        shell = shell_module.get_ipython()
    except AttributeError:
        return None
    if shell is None:
        return None
    history = shell.user_ns.get("In") or shell.user_ns.get("_ih") or []
    source = history[-1] if history else None
    name = shell.user_ns.get("__session__") or os.environ.get("JPY_SESSION_NAME")
    return (source, name) if source else None


def describe(captured):
    """(row, texts): the iCodeEnvironment row and [{sha256, kind, size_bytes, truncated, text}]."""
    row, texts = {"python_version": platform.python_version()}, []
    cell = captured.get("cell")
    script = captured.get("main_file")
    if cell is None and script and os.path.isfile(script):
        directory = os.path.dirname(os.path.abspath(script))
        root = project_root(directory)
        row["script_path"] = shown_path(script, root)
        with open(script, "rb") as handle:
            content = handle.read()
        row["script_sha256"] = hashlib.sha256(content).hexdigest()
        row["script_bytes"] = len(content)
        texts.append(_text("script", content, row["script_sha256"], SCRIPT_LIMIT))
    else:
        directory = captured.get("cwd") or os.getcwd()
        root = project_root(directory)
        if cell is not None:
            source, name = cell
            content = source.encode("utf-8", "replace")
            row["notebook"] = shown_path(name, root) if name else "(notebook)"
            row["cell_sha256"] = hashlib.sha256(content).hexdigest()
            texts.append(_text("cell", content, row["cell_sha256"], SCRIPT_LIMIT))
    row.update(_git(directory))
    diff = row.pop("_diff", None)
    if diff is not None:
        texts.append(_text("git_diff", diff, row["git_diff_sha256"], DIFF_LIMIT))
        row["git_diff_truncated"] = "true" if len(diff) > DIFF_LIMIT else "false"
    row["command_line"] = _command_line(captured.get("argv") or [], root)
    packages = installed_packages()
    row["packages_sha256"] = hashlib.sha256(packages.encode()).hexdigest()
    row["packages_count"] = packages.count("\n")
    texts.append(_text("packages", packages.encode(), row["packages_sha256"], None))
    return row, texts


def _text(kind, content, digest, limit):
    stored = content if limit is None else content[:limit]
    return {"sha256": digest, "kind": kind, "size_bytes": len(content),
            "truncated": "true" if limit is not None and len(content) > limit else "false",
            "text": stored.decode("utf-8", "replace")}


def _git(directory):
    """git_commit, git_branch, git_dirty (tracked changes or untracked files), git_diff_sha256 and
    git_diff_bytes of `git diff HEAD` (+ the diff as `_diff`)."""
    commit = _run_git(directory, "rev-parse", "HEAD")
    if commit is None:
        return {}
    fields = {"git_commit": commit.strip(), "git_branch": (_run_git(directory, "rev-parse", "--abbrev-ref", "HEAD")
                                                           or "").strip() or None}
    status = _run_git(directory, "status", "--porcelain", "--untracked-files=normal") or ""
    fields["git_dirty"] = "true" if status.strip() else "false"
    # The diff holds the changes of tracked files only: untracked files (outputs, spools, saved
    # models) come and go with every run and would make two runs of the same code differ.
    diff = (_run_git(directory, "diff", "HEAD", "--no-color", "--no-ext-diff") or "").encode("utf-8", "replace")
    if diff:
        fields.update(git_diff_sha256=hashlib.sha256(diff).hexdigest(), git_diff_bytes=len(diff), _diff=diff)
    return fields


def _run_git(directory, *arguments):
    try:
        answer = subprocess.run(["git", "-C", directory, *arguments], capture_output=True, timeout=GIT_TIMEOUT)
    except (OSError, subprocess.SubprocessError):
        return None
    if answer.returncode != 0:
        return None
    return answer.stdout.decode("utf-8", "replace")


def _command_line(argv, root):
    """The command line as a shell would take it, file arguments shown as `shown_path` does."""
    words = [os.path.basename(sys.executable) or "python"]
    for index, word in enumerate(argv):
        if (index == 0 or os.path.isabs(word)) and word and os.path.exists(word):
            word = shown_path(word, root)
        words.append(word)
    return shlex.join(words)


def installed_packages():
    """"name==version" lines of every installed distribution, sorted by name (read once per process)."""
    global _packages
    if _packages is None:
        lines = set()
        for distribution in importlib.metadata.distributions():
            name = (distribution.metadata["Name"] or "").strip()
            if name:
                lines.add(f"{name.lower()}=={distribution.version}")
        _packages = "".join(line + "\n" for line in sorted(lines))
    return _packages
