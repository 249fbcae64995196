"""Every ```python block in README.md and docs/*.md runs, so the docs cannot rot.

A file's blocks run in order in one namespace, from the repository root; a block fails
the test if it raises. Blocks fenced as ```text (output, shell commands) are not run.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks(page: Path) -> list[str]:
    return BLOCK.findall(page.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_page_examples_run(page, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    namespace = {"__name__": f"docs_{page.stem}"}
    for number, block in enumerate(python_blocks(page), start=1):
        code = compile(block, f"{page.name} block {number}", "exec")
        exec(code, namespace)  # noqa: S102 - running our own documentation is the point


def test_the_api_pages_have_examples():
    for name in ["index.md", "chapter.md"]:
        assert python_blocks(ROOT / "docs" / name), f"docs/{name} has no runnable example"
