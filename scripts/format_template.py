#!/usr/bin/env python3
"""Keep the template's Python ruff-clean: render every agent type, run `ruff check --fix` and
`ruff format` on the result, and copy fixed files back to their plain (non-.jinja) sources.
Files rendered from .jinja sources are only reported, for a hand fix. Run it only when every
module a type imports exists, or ruff will sort the missing ones as third-party imports.

    python scripts/format_template.py          # fix
    python scripts/format_template.py --check  # report only; exit 1 if anything would change
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TEMPLATE_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TEMPLATE_ROOT))

from hooks import answers as template_answers  # noqa: E402

SOURCE = TEMPLATE_ROOT / "template"


def rendered_name(source: Path, answers: dict) -> str:
    parts = [template_answers.render(part, answers) for part in source.relative_to(SOURCE).parts]
    return "" if any(not p for p in parts) else str(Path(*parts))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    import copier

    changed: set[str] = set()
    for agent_type in template_answers.choice_values("agent_type"):
        answers = template_answers.resolve({"agent_name": "fmt", "agent_type": agent_type})
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "svc"
            shutil.copytree(SOURCE, Path(tmp) / "src" / "template")
            shutil.copy2(TEMPLATE_ROOT / "copier.yml", Path(tmp) / "src" / "copier.yml")
            copier.run_copy(str(Path(tmp) / "src"), out, data=answers, defaults=True, quiet=True)
            before = out.parent / "before"
            shutil.copytree(out, before)
            ruff = [sys.executable, "-m", "ruff"]
            subprocess.run([*ruff, "check", "--fix", "--quiet", "."], cwd=out)
            subprocess.run([*ruff, "format", "--quiet", "."], cwd=out)
            for source in sorted(SOURCE.rglob("*.py*")):
                if not source.is_file():
                    continue
                is_jinja = source.suffix == ".jinja"
                name = rendered_name(source.with_suffix("") if is_jinja else source, answers)
                if not name.endswith(".py") or not (out / name).exists():
                    continue
                if filecmp.cmp(out / name, before / name, shallow=False):
                    continue
                label = str(source.relative_to(TEMPLATE_ROOT))
                if is_jinja or args.check:
                    changed.add(f"{label} ({'fix by hand' if is_jinja else 'would reformat'})")
                else:
                    shutil.copy2(out / name, source)
                    changed.add(f"{label} (fixed)")
    for line in sorted(changed):
        print(line)
    return 1 if any("fixed" not in line for line in changed) else 0


if __name__ == "__main__":
    raise SystemExit(main())
