"""Every ```python block of README.md and docs/**/*.md runs as written.

How the snippet runner works:

* **Pages.** README.md and every Markdown page under docs/ (the reference and results
  pages are generated at build time and are not in the tree). A block is a fenced
  ```` ```python ```` block, also indented inside a tab (``=== "English"``).
* **One namespace per page.** The blocks of a page run in order in one namespace, so
  a block may use what an earlier block of the same page defined, as a reader who
  follows the page would. Nothing is predefined: a name no block of the page defines
  is a failure (the snippets must not use undefined names).
* **Working directory.** The blocks run in a fresh temporary folder that looks like the
  project root for what the pages read: ``data`` is a link to the checkout's data/
  (``"data/samples/en-scnm.train.jsonl"`` works), and the OpenPrompt/KPT folders a page
  names (``amazon/``) link to the copies in ``../shared/kpt/openprompt``. What a
  snippet writes (``kv.json``, ``runs/kv-model``) lands in that folder.
* **Hub models.** Pretrained weights cannot be downloaded here, so the runner
  substitutes: in each block's source, a quoted model reference the text names
  (``"bert-base-uncased"``, ``"gemma-3-270m-q4_k_m.gguf"``, see :data:`STANDINS`)
  is replaced by the folder of a tiny random model of the same kind, built once per
  session on the same real vocabulary (``../shared/models/tokenizers``) where there is
  one. The page keeps what a user types; only the string the code receives changes.
  A model reference in a block that is not in :data:`STANDINS` fails the page (add it).
* **Skips.** ``<!-- snippet: skip REASON -->`` on the line before a block skips it; the
  reason is required, and :data:`MAX_SKIPS` keeps skips rare.

The CLI lines of the ```bash blocks are checked more cheaply: each ``mrekv ...``
command must parse with the real argument parser (options and choices exist).

Run time: about 30-60 s on a busy 2-core CPU; the models are tiny and the data are the
sample files.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
TOKENIZERS = SHARED / "models" / "tokenizers"
KPT = SHARED / "kpt" / "openprompt"

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
#: The most blocks the pages may skip, all pages together.
MAX_SKIPS = 3

#: Model references the pages name -> the stand-in built for them (see ``_build``).
STANDINS = {
    "bert-base-uncased": "mlm-en",
    "/models/bert-base-uncased": "mlm-en",
    "/models/roberta-base": "mlm-en",
    "roberta-base": "mlm-en",
    "cl-tohoku/bert-base-japanese-v3": "mlm-ja",
    "bert-base-chinese": "mlm-zh",
    "gemma-3-270m-q4_k_m.gguf": "causal-gemma3",
}
_VOCABS = {"en": "en-bert-base-uncased", "ja": "ja-bert-base-japanese",
           "zh": "zh-bert-base-chinese"}

_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)\s*$")
_DIRECTIVE = re.compile(r"^\s*<!--\s*snippet:\s*(?P<what>\w+)\s*(?P<reason>.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    source: str
    skip: str | None = None  # the reason, when marked ``<!-- snippet: skip ... -->``

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of ``page`` in order, dedented, with their skip marks."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening or not opening["lang"]:
            i += 1
            continue
        indent = opening["indent"]
        end = i + 1
        while end < len(lines) and lines[end].rstrip() != f"{indent}```":
            end += 1
        if end == len(lines):
            raise AssertionError(f"{page.relative_to(ROOT)}:{i + 1}: unclosed code block")
        source = textwrap.dedent("\n".join(lines[i + 1 : end])) + "\n"
        found.append(Block(page, i + 1, opening["lang"], source, _skip_mark(page, lines, i)))
        i = end + 1
    return found


def _skip_mark(page: Path, lines: list[str], fence: int) -> str | None:
    before = fence - 1
    while before >= 0 and not lines[before].strip():
        before -= 1
    mark = _DIRECTIVE.match(lines[before]) if before >= 0 else None
    if mark is None:
        return None
    where = f"{page.relative_to(ROOT)}:{before + 1}"
    if mark["what"] != "skip":
        raise AssertionError(f"{where}: unknown snippet directive {mark['what']!r}; only "
                             "'skip REASON' exists")
    if not mark["reason"]:
        raise AssertionError(f"{where}: '<!-- snippet: skip -->' needs a reason")
    return mark["reason"]


def python_blocks(page: Path) -> list[Block]:
    return [b for b in blocks(page) if b.lang == "python"]


PYTHON_PAGES = [p for p in PAGES if python_blocks(p)]


# --- the stand-in models ----------------------------------------------------------------


@pytest.fixture(scope="session")
def standin(tmp_path_factory):
    """``standin("mlm-en")`` -> the folder of that tiny random model, built on first use."""
    made: dict[str, Path] = {}

    def get(kind: str) -> Path:
        if kind not in made:
            made[kind] = _build(kind, tmp_path_factory.mktemp(f"standin-{kind}"))
        return made[kind]

    return get


def _build(kind: str, folder: Path) -> Path:
    import mrekv

    if kind.startswith("mlm-"):
        lang = kind.removeprefix("mlm-")
        vocab = TOKENIZERS / _VOCABS[lang]
        if vocab.is_dir():
            return mrekv.make_tiny_mlm(folder, tokenizer_from=vocab)
        return mrekv.make_tiny_mlm(folder, _sample_texts(lang))
    assert kind == "causal-gemma3", kind
    # Gemma is multilingual: its stand-in's vocabulary is trained on every sample text
    return mrekv.make_tiny_causal_lm(folder, kind="gemma3", texts=_sample_texts(None))


def _sample_texts(lang: str | None) -> list[str]:
    import mrekv

    files = sorted((ROOT / "data" / "samples").glob(f"{lang or '*'}-*.jsonl"))
    return [e.text for f in files for e in mrekv.read_mmm(f).read()]


def substitute(source: str, standin) -> str:
    """``source`` with each quoted model reference of :data:`STANDINS` made a local folder."""
    for name, kind in STANDINS.items():
        for quote in ('"', "'"):
            quoted = f"{quote}{name}{quote}"
            if quoted in source:
                source = source.replace(quoted, repr(str(standin(kind))))
    return source


# --- the tests ---------------------------------------------------------------------------


@pytest.fixture
def project_like_cwd(tmp_path, monkeypatch):
    """A temporary working directory that reads like the project root (see the docstring)."""
    (tmp_path / "data").symlink_to(ROOT / "data", target_is_directory=True)
    if KPT.is_dir():
        for folder in KPT.iterdir():
            (tmp_path / folder.name).symlink_to(folder, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path


@pytest.mark.parametrize("page", PYTHON_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_python_snippets_of_a_page_run_in_order(page, project_like_cwd, standin):
    if not TOKENIZERS.is_dir():
        pytest.skip("../shared/models/tokenizers is missing")
    runnable = [b for b in python_blocks(page) if not b.skip]
    if not runnable:
        pytest.skip("; ".join(f"{b.where}: {b.skip}" for b in python_blocks(page)))
    namespace: dict[str, object] = {"__name__": f"snippets:{page.name}"}
    for block in runnable:
        code = compile(substitute(block.source, standin), block.where, "exec")
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                exec(code, namespace)  # noqa: S102 - running the documentation is the test
        except Exception as error:
            pytest.fail(f"the snippet at {block.where} failed: {type(error).__name__}: "
                        f"{error}\n--- snippet ---\n{block.source}", pytrace=False)


def test_skips_are_rare_and_give_a_reason():
    skipped = [b for p in PAGES for b in python_blocks(p) if b.skip]
    assert len(skipped) <= MAX_SKIPS, [f"{b.where}: {b.skip}" for b in skipped]
    assert all(len(b.skip or "") >= 10 for b in skipped), [b.where for b in skipped]


def test_the_runner_finds_the_snippets_of_readme_and_docs():
    assert python_blocks(ROOT / "README.md")
    assert sum(len(python_blocks(p)) for p in PAGES) >= 30
    tabbed = [b for b in python_blocks(ROOT / "docs" / "getting-started.md")
              if "cl-tohoku/bert-base-japanese-v3" in b.source]  # indented inside a tab
    assert tabbed and tabbed[0].source.startswith("import mrekv\n")


def test_model_references_in_snippets_have_standins():
    """A quoted model reference the runner does not substitute would be downloaded."""
    loads = re.compile(r"(?:PromptClassifier|FineTuneClassifier|load_lm|load_masked_lm|"
                       r"load_tokenizer|from_pretrained)\(\s*[\"']([^\"']+)[\"']")
    missing = sorted(
        f"{block.where}: {name}"
        for page in PAGES for block in python_blocks(page)
        for name in loads.findall(block.source)
        if name not in STANDINS and not name.startswith("runs/")  # runs/: saved by a snippet
    )
    assert not missing


# --- the CLI lines of the bash blocks ------------------------------------------------------


def cli_commands(block: Block) -> list[list[str]]:
    """The ``mrekv ...`` commands of a bash block, continuation lines joined, comments cut."""
    commands = []
    for line in block.source.replace("\\\n", " ").splitlines():
        if not line.lstrip().startswith("mrekv "):
            continue
        command: list[str] = []
        for word in [*shlex.split(line, comments=True), "&&"]:
            if word in ("&&", "||", ";", "&", "|"):
                if command and command[0] == "mrekv":
                    commands.append(command[1:])
                command = []
            else:
                command.append(word)
    return commands


BASH_COMMANDS = [
    pytest.param(argv, id=f"{block.where}:{' '.join(argv[:2])}")
    for page in PAGES
    for block in blocks(page)
    if block.lang in ("bash", "sh", "console")
    for argv in cli_commands(block)
]


@pytest.mark.parametrize("argv", BASH_COMMANDS)
def test_the_cli_commands_in_the_pages_parse(argv, capsys):
    from mrekv.cli import build_parser

    try:
        build_parser().parse_args(argv)
    except SystemExit as exit_:
        if exit_.code:
            pytest.fail(f"`mrekv {shlex.join(argv)}` does not parse: "
                        f"{capsys.readouterr().err.strip().splitlines()[-1]}", pytrace=False)
