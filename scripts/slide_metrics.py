"""How much of each core slide file is the slide and how much is guard: ``python scripts/slide_metrics.py``.

A guard line is a line of a ``raise`` statement, of an ``if`` block whose body raises, or of a check function (a
function whose name starts with ``check``/``_check`` or whose body only checks and raises). Lines are code lines:
no blank lines, comments or docstrings. Also prints the line count of ``dlref/`` (every line of every ``.py``), the
files over 200 lines, and how many times ``def update`` is written in ``dlref/`` and ``scripts/``.
"""

import ast
import io
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLIDES = ("layer", "model", "activations", "loss", "optimizer", "backpropagation", "training", "evaluation", "conv",
          "pooling", "dropout", "lstm", "networks")


def code_lines(source: str) -> set[int]:
    """Line numbers holding code: not blank, not only a comment, not inside a docstring."""
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str):
            docstrings.update(range(body[0].lineno, body[0].end_lineno + 1))
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                              tokenize.ENDMARKER):
            lines.update(range(token.start[0], token.end[0] + 1))
    return lines - docstrings


def _raises(body) -> bool:
    return any(isinstance(n, ast.Raise) for stmt in body for n in ast.walk(stmt))


def _is_check(node) -> bool:
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    return node.name.lstrip("_").startswith("check") or (
        _raises(node.body) and all(isinstance(s, (ast.If, ast.Raise, ast.Expr, ast.Assign)) for s in node.body))


def guard_lines(source: str) -> set[int]:
    lines = set()
    for node in ast.walk(ast.parse(source)):
        if _is_check(node) or isinstance(node, ast.Raise) or (isinstance(node, ast.If) and _raises(node.body)
                                                              and not _is_long_if(node)):
            lines.update(range(node.lineno, node.end_lineno + 1))
    return lines


def _is_long_if(node: ast.If) -> bool:
    """An ``if`` whose body does real work besides raising is not a guard block: count only its raise."""
    return any(not isinstance(s, (ast.Raise, ast.Assign, ast.Expr, ast.If)) for s in node.body)


def main() -> int:
    total_code = total_guard = 0
    print(f"{'core slide file':28s} {'code':>5s} {'guard':>6s} {'share':>6s}")
    for name in SLIDES:
        source = (ROOT / "dlref" / f"{name}.py").read_text()
        code = code_lines(source)
        guard = guard_lines(source) & code
        total_code, total_guard = total_code + len(code), total_guard + len(guard)
        print(f"dlref/{name + '.py':22s} {len(code):5d} {len(guard):6d} {len(guard) / len(code):6.0%}")
    print(f"{'all core slide files':28s} {total_code:5d} {total_guard:6d} {total_guard / total_code:6.0%}")
    files = sorted((ROOT / "dlref").rglob("*.py"))
    counts = {p.relative_to(ROOT): len(p.read_text().splitlines()) for p in files}
    print(f"dlref/: {sum(counts.values()):,} lines in {len(files)} files")
    over = {str(p): n for p, n in counts.items() if n > 200}
    print(f"files over 200 lines: {', '.join(f'{p} ({n})' for p, n in over.items()) or 'none'}")
    updates = [f"{p.relative_to(ROOT)}:{node.lineno}" for folder in ("dlref", "scripts")
               for p in sorted((ROOT / folder).rglob("*.py"))
               for node in ast.walk(ast.parse(p.read_text()))
               if isinstance(node, ast.FunctionDef) and node.name == "update"]
    print(f"def update: {len(updates)} ({', '.join(updates)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
