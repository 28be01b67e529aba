#!/usr/bin/env python3
"""Write template/kit/asyncapi_catalog.json: the event schemas a rendered service's
asyncapi.yaml and README are made from, generated from template/kit/events.py.

copier renders without running Python, so the models' JSON Schemas reach the Jinja templates
as this data file (kept out of rendered services by copier.yml's _exclude). Run it after any
change to kit/events.py or kit/asyncapi.py; tests/test_asyncapi.py fails while it is stale.

    .venv/bin/python scripts/asyncapi_catalog.py          # rewrite it
    .venv/bin/python scripts/asyncapi_catalog.py --check  # exit 1 if it is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1] / "template"
CATALOG_FILE = TEMPLATE / "kit" / "asyncapi_catalog.json"
# Jinja reads the file through {% include %}, which would take these for its own syntax.
JINJA_DELIMITERS = ("{{", "{%", "{#")


def catalog_text() -> str:
    sys.path.insert(0, str(TEMPLATE))
    try:
        from kit.asyncapi import catalog
    finally:
        sys.path.remove(str(TEMPLATE))
    text = json.dumps(catalog(), indent=1) + "\n"
    found = [d for d in JINJA_DELIMITERS if d in text]
    if found:
        raise SystemExit(f"the catalog contains {found}, which Jinja would read; reword it")
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args()
    text = catalog_text()
    current = CATALOG_FILE.read_text(encoding="utf-8") if CATALOG_FILE.exists() else ""
    if args.check:
        if current != text:
            print(f"{CATALOG_FILE} is stale: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    if current != text:
        CATALOG_FILE.write_text(text, encoding="utf-8")
        print(f"wrote {CATALOG_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
