#!/usr/bin/env python3
"""Copies a subset of a golden directory (format of shared/golden) into another, with a manifest that lists only
the copied cases, so the test suite can run the golden check on fixtures kept in the repo.

usage: scripts/subset-golden.py SRC DST CASE_ID_PREFIX...
A case is kept when its id starts with one of the prefixes ("*" keeps every case). Tokenizer and template case
files are always copied whole, with the tokenizer they name."""
import json
import shutil
import sys
from pathlib import Path


def main():
    src, dst, prefixes = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
    keep = lambda case_id: "*" in prefixes or any(case_id.startswith(p) for p in prefixes)
    manifest = json.loads((src / "manifest.json").read_text())
    files = {"README.md"}
    used_images, used_ckpts = set(), set()
    for key in [k for k in manifest if k.endswith("_cases")]:
        cases = [c for c in manifest[key] if keep(c["id"])]
        manifest[key] = cases
        for c in cases:
            files.add(c["file"])
            if "input" in c:
                files.add(c["input"]["file"])
            if "image" in c:
                used_images.add(c["image"])
            if "checkpoint" in c:
                used_ckpts.add(c["checkpoint"])
    manifest["images"] = {k: v for k, v in manifest["images"].items() if k in used_images}
    manifest["checkpoints"] = {k: v for k, v in manifest["checkpoints"].items() if k in used_ckpts}
    files |= {v["file"] for v in manifest["images"].values()}
    for ck in manifest["checkpoints"].values():
        files |= {ck["dir"] + "/config.json", ck["dir"] + "/model.safetensors"}
    if dst.exists():
        shutil.rmtree(dst)
    for rel in sorted(files):
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / rel, dst / rel)
    for sub in ("tokenizer", "template"):
        shutil.copytree(src / sub, dst / sub)
    (dst / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    for p in dst.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)


if __name__ == "__main__":
    main()
