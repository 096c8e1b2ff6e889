"""Extract messages, update every catalog, and fill translations from locales/incoming/*.json.

Used while scenarios are being written in parallel; safe to run concurrently (a lock
serialises runs). Each JSON file is a list of entries:
  {"id": "<English msgid>", "az": "...", "ru": "...", "fr": "...", "ar": "..."}
  {"id": "<singular>", "plural": "<plural>", "az": [2 forms], "ru": [3], "fr": [2], "ar": [6], "en": [2]}
Whitespace in ids is normalised, so a JSON id may be wrapped freely.
"""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
LANGS = ("az", "en", "ru", "fr", "ar")
BIN = Path(sys.executable).parent


def norm(text: str) -> str:
    return " ".join(text.split())


def main() -> int:
    with open(LOCALES / ".merge.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run = lambda *a: subprocess.run([str(BIN / "pybabel"), *a], cwd=ROOT, check=True, capture_output=True)
        run("extract", "-F", "babel.cfg", "-k", "N_", "--no-location", "--omit-header", "-o", "locales/messages.pot", ".")
        run("update", "-i", "locales/messages.pot", "-d", "locales", "--no-fuzzy-matching", "-w", "100")
        incoming: dict[str, dict] = {}
        for path in sorted((LOCALES / "incoming").glob("*.json")):
            for entry in json.loads(path.read_text()):
                incoming[norm(entry["id"])] = entry
        for lang in LANGS:
            po = LOCALES / lang / "LC_MESSAGES" / "messages.po"
            with po.open("rb") as f:
                catalog = read_po(f, locale=lang)
            missing = []
            for message in catalog:
                if not message.id:
                    continue
                key = norm(message.id[0] if isinstance(message.id, tuple) else message.id)
                entry = incoming.get(key)
                if entry is not None:
                    value = entry.get(lang)
                    if value is None and lang == "en":
                        value = list(message.id) if isinstance(message.id, tuple) else message.id
                    if value is not None:
                        message.string = tuple(value) if isinstance(message.id, tuple) else value
                        message.flags.discard("fuzzy")
                if not message.string or (isinstance(message.string, tuple) and not all(message.string)):
                    missing.append(key[:70])
            with po.open("wb") as f:
                write_po(f, catalog, width=100)
            print(f"{lang}: {len(missing)} untranslated" + "".join(f"\n   - {m}" for m in missing[:50]))
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
