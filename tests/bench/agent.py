"""Runs one bench function inside a service's Django settings:

    cd <service>_service && python tests/bench/agent.py <module.function> <result.json> < kwargs

`module` is a module of tests/bench; its function gets the JSON object on stdin as keyword
arguments and returns what goes into <result.json>. Stdout is the agent's log, except lines
`@@progress <done> <total> <note>`, which drive the bench's progress bar.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def progress(done: float, total: float, note: str = "") -> None:
    print(f"@@progress {done} {total} {note}".rstrip(), flush=True)


def main() -> int:
    function, result_path = sys.argv[1], Path(sys.argv[2])
    kwargs = json.loads(sys.stdin.read() or "{}")
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if p != here]  # bench modules only as tests.bench.*
    # The service's folder (config, its apps), then the repository for tests.bench: before the
    # shared_events path entry, whose own `tests` package would shadow ours. (The repository's
    # shared_events folder is only a namespace portion; the real package still wins.)
    sys.path[:0] = [os.getcwd(), str(ROOT)]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    module_name, func_name = function.rsplit(".", 1)
    func = getattr(importlib.import_module(f"tests.bench.{module_name}"), func_name)
    result = func(**kwargs)
    tmp = result_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result))
    tmp.rename(result_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
