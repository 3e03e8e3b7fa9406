"""Regenerate the README's Results section from the files in experiments/results/.

It copies, between the ``<!-- results:begin -->`` / ``<!-- results:end -->`` markers,
first the real-model tables (``real-lm-report/report.md``, from
``mrekv experiment report experiments/results/real-lm.jsonl``: models, headline scores,
the win tables of mre-frequency / mre-best against manual and KPT per language, what
mre-best chose, exact vs first-token scoring, first-token collisions), then the probe
table (``probe-table.md``, from ``scripts/probe_table.py``) and the win tables
of the proxy report (``mre-suite-proxy-report/report.md``, from
``mrekv experiment report experiments/results/mre-suite-proxy.jsonl``). Nothing is typed
by hand: rerun the two commands and this script to refresh the README.

    python scripts/update_readme_results.py
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"

REAL_INTRO = """\
### Real pretrained LMs (small causal LMs, frozen)

Measured with real pretrained **causal** LMs that install from PyPI (no pretrained masked LM
can be loaded here): Gemma-3-270m (base) in en/ja/zh and SmolLM2-135M-Instruct in English.
They are much smaller than, and a different kind from, the masked LMs of the MRE paper.
One LM pass per text is cached and serves every verbalizer; few-shot cells train only the
knowledgeable verbalizer's word weights. Test sets capped at 500 texts per dataset.
Exact multi-token scoring (each word's whole log-probability, `lm-exact`) ran on sst2
(both models), chabsa and the three zh datasets; its per-sub-token form (`lm-exact-mean`,
read from the same cached pass) on sst2, chabsa, chnsenticorp and eprstmt. Exact scoring
did not run on agnews, semeval14-restaurants, livedoor and ner-wikipedia: its cost grows
with the distinct prefixes of the multi-token label words (ner-wikipedia: 776 words, 2040
prefix rows, about 45 s per text on one core, 9 hours for its 700 texts). The SetFit peer
(`real-lm-setfit.toml`, English) and full prompt-tuning / fine-tuning (`real-lm-full.toml`,
sst2 and chnsenticorp, seed 0, 200 test texts) write their own results files, merged
into the same report. The fine-tuning baseline there stays near chance: k <= 16 gives its
new classification head 5-20 optimizer steps on this schedule (5 epochs), so read it as
"fine-tuning needs more data or steps", not as a tuned baseline.
Reproduce: `make real-lm` (hours on 2 cores, resumable), then
`mrekv experiment run experiments/real-lm-setfit.toml` and
`mrekv experiment run experiments/real-lm-full.toml`, then
`mrekv experiment report experiments/results/real-lm*.jsonl --out
experiments/results/real-lm-report` and `python scripts/update_readme_results.py`.
Full report:
[`experiments/results/real-lm-report/report.md`](experiments/results/real-lm-report/report.md).
"""

INTRO = """\
### Proxies (no LM)

**Every number below is a proxy, not a masked-LM result.** No pretrained masked-LM
weights can be loaded on the machines this project is built on, so the comparison of
verbalizers is shown with two model-free proxies over the `mre-suite` corpora (label
words always mined from each corpus's knowledge split, scored on its test split):
the lexical **probe** (`probe_label_words`) and an **embedding verbalizer**
(label-word prototypes in all-MiniLM-L6-v2, English only, 0-32 shots, 5 seeds).
Full tables and plots:
[`experiments/results/mre-suite-proxy-report/report.md`](experiments/results/mre-suite-proxy-report/report.md).

To run the real comparison (all verbalizers with and without calibration, soft,
full fine-tuning; 0-32 shots; 5 seeds) with real pretrained masked LMs on a GPU machine:

```bash
# per-language defaults: bert-base-uncased, cl-tohoku/bert-base-japanese-v3, bert-base-chinese
mrekv experiment run experiments/mre-suite.toml
mrekv experiment run experiments/mre-suite.toml --model xlm-roberta-base --out runs/xlmr.jsonl
mrekv experiment report runs/mre-suite.jsonl
```
"""


def _section(markdown: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same or higher level."""
    level = heading.split(" ")[0]
    pattern = rf"^{re.escape(heading)}\n(.*?)(?=^#{{1,{len(level)}}} |\Z)"
    match = re.search(pattern, markdown, flags=re.M | re.S)
    if match is None:
        raise SystemExit(f"section {heading!r} not found")
    return match.group(1).strip()


def _lm_rows(win_section: str) -> str:
    """Keep the win-table rows of the mined sets (frozen lm*: and full prompt-tuning mre-*)."""
    keep = [line for line in win_section.splitlines()
            if not line.startswith("| `") or "mre-" in line.split("|")[1]]
    return "\n".join(keep)


def _progress() -> str:
    """How much of the real-model suite the committed results file holds."""
    from mrekv.experiment.config import EXACT_FAMILIES, load_config
    from mrekv.experiment.results import read_results

    config = load_config(ROOT / "experiments" / "real-lm.toml")
    records = read_results(RESULTS / "real-lm.jsonl")
    done = sorted({r["dataset"] for r in records}, key=[d.name for d in config.datasets].index)
    exact = sum(r.get("family") in EXACT_FAMILIES for r in records)
    return (f"**Progress:** {len(records)} cells finished, on {', '.join(done)} "
            f"(of {len(config.datasets)} datasets); {exact} exact-scoring cells. The suite is "
            "resumable: `make real-lm` continues it, and the tables below cover only the "
            "finished cells.")


def build_real() -> list[str]:
    path = RESULTS / "real-lm-report" / "report.md"
    if not path.is_file():
        return []
    report = path.read_text(encoding="utf-8")
    parts = [REAL_INTRO.strip(), _progress(),
             _section(report, "## Real pretrained LMs (frozen): label words compared")
             .replace("### ", "#### ")]
    wins = _section(report, "## Win tables (macro-F1)").replace("### ", "#### ")
    parts += ["#### Win tables: mined label words against manual words and KPT (paired cells)",
              _lm_rows(wins)]
    return parts


def build() -> str:
    probe = (RESULTS / "probe-table.md").read_text(encoding="utf-8")
    report = (RESULTS / "mre-suite-proxy-report" / "report.md").read_text(encoding="utf-8")
    probe_body = probe.split("\n", 2)[2].strip()
    wins = _section(report, "## Win tables (macro-F1)").replace("### ", "#### ")
    return "\n\n".join([
        *build_real(),
        INTRO.strip(),
        "### Probe macro-F1: class names vs WLI-KV (frequency top-100) vs the best mined KV",
        probe_body,
        "### Win tables of the proxy suite (paired cells, macro-F1)",
        wins,
    ])


def main() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{readme}: markers {BEGIN} / {END} not found")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{BEGIN}\n{build()}\n{END}{tail}", encoding="utf-8")
    print(f"updated {readme}")


if __name__ == "__main__":
    main()
