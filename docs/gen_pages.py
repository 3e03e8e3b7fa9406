"""Generate the reference and results pages at build time (run by mkdocs-gen-files).

* ``reference/api/*.md``: one ``::: mrekv.<name>`` block per name in ``mrekv.__all__``,
  grouped by the module that defines it, and the public ``mrekv.openprompt`` modules.
  A public name (or a public method of a public class) without a docstring is logged
  as a warning, which fails ``mkdocs build --strict``.
* ``reference/cli.md``: every sub-command and option of ``mrekv.cli.build_parser()``
  with its help text, default and choices, read from the parser itself.
* ``results/*.md``: the committed reports under ``experiments/results/`` (and their
  plots), included as they are, so the tables are never typed by hand.
* ``examples.md``: every ``examples/*.py`` with its docstring, so a new example is listed.
"""

from __future__ import annotations

import argparse
import ast
import logging
import re
from pathlib import Path

import griffe
import mkdocs_gen_files

import mrekv

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results"
log = logging.getLogger("mkdocs.plugins.mrekv_docs")

# (page, title, module prefixes): a name goes to the first group whose prefix matches
# the module that defines it; names matching none go to "Other" (never dropped).
API_GROUPS: list[tuple[str, str, tuple[str, ...]]] = [
    ("data", "Data", ("mrekv.data",)),
    ("tokenizers", "Word tokenizers", ("mrekv.tokenizers",)),
    (
        "label-words",
        "Label words",
        (
            "mrekv.verbalizer.label_words",
            "mrekv.verbalizer.mining",
            "mrekv.verbalizer.io",
            "mrekv.verbalizer.vocab",
            "mrekv.verbalizer.probe",
            "mrekv.verbalizer.selection",
        ),
    ),
    ("prompt", "Templates and verbalizers", ("mrekv.prompt.template", "mrekv.verbalizer")),
    (
        "models",
        "Classifiers and models",
        (
            "mrekv.prompt",
            "mrekv.finetune",
            "mrekv.classifiers",
            "mrekv.models",
            "mrekv.tiny_causal",
            "mrekv.gguf",
            "mrekv.metrics",
            "mrekv.embedding",
        ),
    ),
    ("experiments", "Experiments", ("mrekv.experiment",)),
    ("errors", "Errors", ("mrekv.errors",)),
]

# The OpenPrompt-compatible layer is a public package of its own (other projects
# import it by OpenPrompt's module paths).
OPENPROMPT_MODULES = [
    "mrekv.openprompt",
    "mrekv.openprompt.pipeline_base",
    "mrekv.openprompt.prompts",
    "mrekv.openprompt.plms",
    "mrekv.openprompt.data_utils",
    "mrekv.openprompt.utils",
    "mrekv.openprompt.kpt",
]


def defining_module(package: griffe.Module, name: str) -> str:
    """The module that defines public name ``name`` (its alias target's parent)."""
    member = package[name]
    if isinstance(member, griffe.Alias):
        return member.target_path.rsplit(".", 1)[0]
    return "mrekv"


def missing_docstrings(package: griffe.Module, name: str) -> list[str]:
    """Public ``name`` and its public methods/properties that have no docstring."""
    obj = package[name]
    obj = obj.final_target if isinstance(obj, griffe.Alias) else obj
    missing = [] if obj.docstring else [f"mrekv.{name}"]
    if obj.kind is griffe.Kind.CLASS:
        # own and inherited members (the site shows both), from mrekv's own classes
        for member_name, member in obj.all_members.items():
            if member_name.startswith("_"):
                continue
            if isinstance(member, griffe.Alias):
                if not member.target_path.startswith("mrekv."):
                    continue
                member = member.final_target
            if member.kind is griffe.Kind.FUNCTION and not member.docstring:
                missing.append(f"mrekv.{name}.{member_name}")
    return missing


def write_api() -> None:
    package = griffe.load("mrekv", search_paths=[str(ROOT / "src")], resolve_aliases=True)
    groups: dict[str, list[str]] = {page: [] for page, _, _ in API_GROUPS}
    groups["other"] = []
    for name in sorted(n for n in mrekv.__all__ if n != "__version__"):
        for item in missing_docstrings(package, name):
            log.warning("public name %s has no docstring", item)
        module = defining_module(package, name)
        page = next(
            (p for p, _, prefixes in API_GROUPS if module.startswith(prefixes)), "other"
        )
        groups[page].append(name)
    titles = {page: title for page, title, _ in API_GROUPS} | {"other": "Other"}
    index = [
        "# API reference",
        "",
        f"Generated from the docstrings of mrekv {mrekv.__version__}. Everything below is",
        "importable from the top-level package (`import mrekv; mrekv.PromptClassifier`);",
        "the public name is `mrekv.<name>`, the heading shows where it is defined.",
        "",
    ]
    for page, names in groups.items():
        if not names:
            continue
        index.append(f"## [{titles[page]}]({page}.md)")
        index.append("")
        index += [f"- [`mrekv.{n}`]({page}.md#mrekv.{n})" for n in names]
        index.append("")
        lines = [f"# {titles[page]}", ""]
        for n in names:
            lines += [f"::: mrekv.{n}", ""]
        with mkdocs_gen_files.open(f"reference/api/{page}.md", "w") as f:
            f.write("\n".join(lines))
    index += ["## [OpenPrompt-compatible API](openprompt.md)", ""]
    index += [f"- `{m}`" for m in OPENPROMPT_MODULES]
    with mkdocs_gen_files.open("reference/api/index.md", "w") as f:
        f.write("\n".join(index) + "\n")
    lines = [
        "# OpenPrompt-compatible API",
        "",
        "`s/from openprompt/from mrekv.openprompt/` ports an OpenPrompt or KPT script;",
        "see [Coming from OpenPrompt](../../coming-from-openprompt.md).",
        "",
    ]
    for module in OPENPROMPT_MODULES:
        lines += [f"::: {module}", "    options:", "      show_submodules: false", ""]
    with mkdocs_gen_files.open("reference/api/openprompt.md", "w") as f:
        f.write("\n".join(lines))


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _default(action: argparse.Action) -> str:
    default = action.default
    if default is None or default is argparse.SUPPRESS:
        return ""
    if isinstance(default, (list, tuple)):
        return "`" + " ".join(str(d) for d in default) + "`" if default else "`[]`"
    return f"`{default}`"


def _help(action: argparse.Action, parser: argparse.ArgumentParser) -> str:
    text = action.help or ""
    if "%(" in text:
        params = dict(vars(action), prog=parser.prog)
        if action.choices is not None:
            params["choices"] = ", ".join(map(str, action.choices))
        text = text % params
    return text


def _commands(
    parser: argparse.ArgumentParser, path: list[str]
) -> list[tuple[list[str], argparse.ArgumentParser, str]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                found.append((path + [name], sub, helps.get(name, "")))
                found += _commands(sub, path + [name])
    return found


def write_cli() -> None:
    from mrekv.cli import build_parser

    parser = build_parser()
    lines = [
        "# CLI reference",
        "",
        "Generated from the `argparse` parser of the `mrekv` command"
        " (`mrekv.cli.build_parser`); `mrekv <command> --help` prints the same.",
        "",
        "```text",
        parser.format_usage().strip(),
        "```",
        "",
    ]
    for path, sub, summary in _commands(parser, ["mrekv"]):
        depth = "#" * min(len(path), 4)
        lines += [f"{depth} `{' '.join(path)}`", ""]
        description = sub.description or summary
        if description:
            lines += [_cell(description), ""]
        lines += ["```text", sub.format_usage().strip(), "```", ""]
        rows = []
        for action in sub._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            name = ", ".join(f"`{o}`" for o in action.option_strings) or f"`{action.dest}`"
            choices = ", ".join(f"`{c}`" for c in action.choices) if action.choices else ""
            required = "yes" if action.required or not action.option_strings else ""
            rows.append(
                f"| {name} | {_cell(_help(action, sub))} | {_default(action)} "
                f"| {_cell(choices)} | {required} |"
            )
        if rows:
            lines += ["| option | help | default | choices | required |", "|---|---|---|---|---|"]
            lines += rows + [""]
    with mkdocs_gen_files.open("reference/cli.md", "w") as f:
        f.write("\n".join(lines))


def _include_report(report: Path, page: str, title: str, intro: str) -> str:
    """The report's Markdown, headings one level down, its plots copied beside the page."""
    stem = Path(page).stem
    out = []
    in_code = False
    for line in report.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if not in_code and line.startswith("#"):
            line = "#" + line
        out.append(line)
    text = "\n".join(out)

    def copy_image(match: re.Match[str]) -> str:
        target = report.parent / match.group(2)
        if not target.is_file():
            log.warning("%s links to %s, which does not exist", report, match.group(2))
            return match.group(0)
        name = f"{stem}-{target.parent.name}/{target.name}"
        with mkdocs_gen_files.open(f"{Path(page).parent}/{name}", "wb") as f:
            f.write(target.read_bytes())
        return f"![{match.group(1)}]({name})"

    text = re.sub(r"!\[([^\]]*)\]\((?!https?:)([^)]+)\)", copy_image, text)
    source = report.relative_to(ROOT)
    return f"# {title}\n\n{intro}\n\nGenerated from `{source}` at build time.\n\n{text}\n"


def write_results() -> None:
    pages = (
        ("budget-sweep-report", "results/budget.md", "Results: equal labelled budgets",
         "Every method on the same N labelled sentences (budget curves with intervals),"
         " real pretrained causal LMs, from `experiments/results/budget-sweep.jsonl`"
         " (`python scripts/run_budget.py --report`)."),
        ("budget-heldout-report", "results/budget-heldout.md",
         "Results: equal budgets on held-out corpora",
         "The same protocol on corpora outside the nine (never looked at while the frozen"
         " head's rules were chosen), from `experiments/results/budget-heldout.jsonl`"
         " (`python scripts/run_budget.py --config experiments/budget-heldout.toml --report`)."),
        ("real-lm-report", "results/real-lm.md", "Results: real pretrained models",
         "Frozen-LM cells (`lm:*`, `lm-exact:*`) with real pretrained causal LMs"
         " (Gemma-3-270m, SmolLM2-135M), from `experiments/results/real-lm.jsonl`"
         " (`mrekv experiment report`)."),
    )
    for folder, page, title, intro in pages:
        if not (RESULTS / folder / "report.md").is_file():
            continue
        with mkdocs_gen_files.open(page, "w") as f:
            f.write(_include_report(RESULTS / folder / "report.md", page, title, intro))
    proxy = RESULTS / "mre-suite-proxy-report" / "report.md"
    probe = RESULTS / "probe-table.md"
    text = _include_report(
        proxy,
        "results/proxy.md",
        "Results: proxies (no LM)",
        "**Every number on this page is a proxy, not a language-model result**: the"
        " model-free lexical probe and an embedding verbalizer, from"
        " `experiments/results/mre-suite-proxy.jsonl`.",
    )
    if probe.is_file():
        table = probe.read_text(encoding="utf-8").replace("\n# ", "\n## ")
        table = re.sub(r"^# ", "## ", table)
        text += f"\n## Probe table\n\nGenerated from `{probe.relative_to(ROOT)}`.\n\n{table}\n"
    with mkdocs_gen_files.open("results/proxy.md", "w") as f:
        f.write(text)


def write_examples() -> None:
    lines = [
        "# Examples",
        "",
        "Short scripts in the repository's `examples/` folder, one per main use."
        " Each runs offline in under a minute on a tiny *random* model built on a real"
        " tokenizer vocabulary (its numbers only show the code runs) and most take `--model`"
        " for a real one; `tests/test_examples.py` runs every one of them in the default"
        " test run.",
        "",
    ]
    folders = [("", "examples"), ("OpenPrompt-shaped scripts (`mrekv.openprompt` imports only; "
                                  "`tests/openprompt/test_examples_openprompt_*.py` runs them)",
                                  "examples/openprompt")]
    for heading, folder in folders:
        if heading:
            lines += [f"## {heading}", ""]
        for path in sorted((ROOT / folder).glob("*.py")):
            if path.name.startswith("_"):
                continue
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
            if not doc:
                log.warning("%s/%s has no docstring", folder, path.name)
            summary, _, body = doc.partition("\n")
            name = path.relative_to(ROOT / "examples").as_posix()
            lines += [f"{'###' if heading else '##'} `{name}`", "", summary, ""]
            if body.strip():
                lines += ["```text", body.strip("\n"), "```", ""]
    with mkdocs_gen_files.open("examples.md", "w") as f:
        f.write("\n".join(lines))


write_api()
write_cli()
write_results()
write_examples()
