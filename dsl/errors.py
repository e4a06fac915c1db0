"""The DSL's error types: every error can point at the line and column it is about."""

from __future__ import annotations


class DSLError(Exception):
    """Base of every DSL error.

    ``line`` and ``column`` are 1-based (None when the error is not about a place in the
    source); ``snippet`` is the source line with a caret under the column.
    """

    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        source: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.line = line
        self.column = column
        self.hint = hint
        self.snippet = _snippet(source, line, column)
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.message]
        if self.line is not None:
            parts[0] = f"{self.kind} at line {self.line}, column {self.column}: {self.message}"
        if self.snippet:
            parts.append(self.snippet)
        if self.hint:
            parts.append(self.hint)
        return "\n".join(parts)


class DSLSyntaxError(DSLError):
    """The text is not a program: bad token, bad structure, or over a size/depth limit."""

    kind = "syntax error"


class DSLTypeError(DSLError):
    """The program is well formed but ill typed, or names something unknown."""

    kind = "type error"


class DSLFitError(DSLError):
    """Fitting failed, or a fitted transform was used by a program that was not fitted."""

    kind = "fit error"


class DSLRuntimeError(DSLError):
    """Input data does not match the program (missing column, wrong type, naive timestamp)."""

    kind = "runtime error"


class DSLVersionError(DSLError):
    """An artifact was written by a newer language version than this code knows."""

    kind = "version error"


SNIPPET_CHARS = 100  # longest source line quoted in an error; longer lines are cut around the column


def _snippet(source: str | None, line: int | None, column: int | None) -> str:
    if source is None or line is None:
        return ""
    lines = source.splitlines()
    if not 1 <= line <= len(lines):
        return ""
    text = lines[line - 1].replace("\t", " ")
    col = max(1, column or 1)
    if len(text) > SNIPPET_CHARS:  # a window around the column, marked where it is cut
        start = max(0, min(col - 1 - SNIPPET_CHARS // 2, len(text) - SNIPPET_CHARS))
        window = text[start : start + SNIPPET_CHARS]
        left = "…" if start > 0 else ""
        right = "…" if start + SNIPPET_CHARS < len(text) else ""
        text, col = left + window + right, col - start + len(left)
    return f"  {line:>4} | {text}\n       | {' ' * (col - 1)}^"
