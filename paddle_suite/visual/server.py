"""Starting VisualDL's server the way every client can read it.

VisualDL 2.5.3 picks the page language from the client's Accept-Language header unless
`--language` is given; a client that asks for neither English nor Chinese (curl, a
German-only browser) gets HTTP 500 at `/app` because the server sets its `vdl_lng` cookie
to None. Passing the language always avoids that: the suite picks Chinese when the
machine's locale is Chinese and English otherwise.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

DEFAULT_PORT = 8040


def page_language(environ: dict | None = None) -> str:
    """`zh` when the locale variables name Chinese, else `en` (VisualDL's two languages)."""
    environ = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def visualdl_command(logdir: str | Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                     language: str | None = None) -> list[str]:
    """The argv that serves `logdir` on host:port in one fixed language."""
    script = Path(sys.executable).parent / "visualdl"  # this environment's console script
    program = [str(script)] if script.exists() else [sys.executable, "-c",
                                                      "from visualdl.server.app import main; "
                                                      "main()"]
    return program + ["--logdir", str(logdir), "--host", host, "--port", str(port),
                      "--language", language or page_language()]


def page_url(host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> str:
    """The address a browser opens."""
    return f"http://{host}:{port}/app"
