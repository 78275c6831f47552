"""Describe the running Python interpreter and its installed distributions, as JSON.

gitrun imports this module to describe its own interpreter, and runs the file by path with another
interpreter (``python pyinfo.py``) to describe that one, so it must stand alone: no gitrun imports,
only the standard library, and syntax that Python 3.8 still accepts.
"""

from __future__ import annotations

import os
import sys
from typing import Any

SITE_DIR_NAMES = ("site-packages", "dist-packages")


def _site_dirs() -> list[str]:
    """Directories whose contents change when a package is installed (the cache key's inputs).

    The user site directory is listed even when it does not exist yet: creating it by a
    ``pip install --user`` must invalidate a cached package list.
    """
    import site

    dirs = [p for p in sys.path if os.path.basename(p.rstrip(os.sep)) in SITE_DIR_NAMES]
    dirs += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    seen: dict[str, None] = {}
    for path in dirs:
        seen.setdefault(os.path.abspath(path), None)
    return list(seen)


def _name_version(dist: Any) -> tuple[str, str]:
    """Name and version from the metadata headers, which is much faster than ``dist.metadata``."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    name = version = ""
    for line in text.splitlines():
        if not line:
            break  # the headers end at the first blank line; the long description follows
        if line.startswith("Name:") and not name:
            name = line[5:].strip()
        elif line.startswith("Version:") and not version:
            version = line[8:].strip()
    return name, version


def _file_url_to_path(url: str) -> str:
    if url.startswith("file://"):
        from urllib.parse import unquote, urlsplit

        return unquote(urlsplit(url).path)
    return url


def _origin(dist: Any) -> dict[str, str]:
    """How the distribution was installed, from PEP 610's direct_url.json and the INSTALLER file."""
    import json

    try:
        direct = json.loads(dist.read_text("direct_url.json") or "null")
    except ValueError:
        direct = None
    if isinstance(direct, dict) and isinstance(direct.get("url"), str):
        return _direct_origin(direct)
    installer = (dist.read_text("INSTALLER") or "").strip().lower()
    if installer == "conda":
        return {"installer": "conda"}
    path = str(getattr(dist, "_path", ""))
    parent = os.path.dirname(path)
    # A legacy ``setup.py develop`` leaves its .egg-info in the source tree, outside site-packages.
    if path.endswith(".egg-info") and os.path.basename(parent) not in SITE_DIR_NAMES:
        return {"installer": "editable", "location": parent}
    return {"installer": "pip"}


def _direct_origin(direct: dict[str, Any]) -> dict[str, str]:
    url = direct["url"]
    vcs_info = direct.get("vcs_info")
    if isinstance(vcs_info, dict):
        origin = {"installer": "vcs", "url": url}
        for source, target in (("vcs", "vcs"), ("commit_id", "commit"), ("requested_revision", "revision")):
            if isinstance(vcs_info.get(source), str):
                origin[target] = vcs_info[source]
        return origin
    dir_info = direct.get("dir_info")
    if isinstance(dir_info, dict) and dir_info.get("editable"):
        return {"installer": "editable", "location": _file_url_to_path(url)}
    if url.startswith("file://"):
        return {"installer": "local", "location": _file_url_to_path(url)}
    return {"installer": "url", "url": url}  # an archive downloaded from a URL, not an index


def packages() -> list[dict[str, str]]:
    """Every installed distribution visible on ``sys.path``, first occurrence wins (as for imports)."""
    try:
        from importlib import metadata
    except ImportError:  # Python < 3.8
        return []
    found: dict[str, dict[str, str]] = {}
    for dist in metadata.distributions():
        try:
            name, version = _name_version(dist)
            key = name.lower().replace("_", "-").replace(".", "-")
            if name and key not in found:
                entry = {"name": name, "version": version}
                entry.update(_origin(dist))
                found[key] = entry
        except Exception:  # one broken distribution must not hide the others
            continue
    return [found[key] for key in sorted(found)]


def interpreter() -> dict[str, Any]:
    """Version, implementation and prefixes of the running interpreter."""
    import platform

    return {
        "executable": sys.executable,
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "real_prefix", getattr(sys, "base_prefix", sys.prefix)),
        "site_dirs": _site_dirs(),
    }


def collect() -> dict[str, Any]:
    """Everything above, as one JSON-able dict."""
    report = interpreter()
    report["packages"] = packages()
    return report


def main() -> None:
    # Run by path, sys.path[0] is this file's directory: drop it so that no sibling module can
    # shadow a standard one and the interpreter's own path is what gets described.
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or os.curdir) == here:
        del sys.path[0]
    import json

    # The last line is the report: a sitecustomize that prints must not corrupt it.
    sys.stdout.write("\n" + json.dumps(collect()) + "\n")


if __name__ == "__main__":
    main()
