"""Source text -> statements with exact offsets, and the noqa directives written in it."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

# A noqa directive lives in a `--` or `/* */` comment: `-- noqa`, `-- noqa: SP301, SP104`.
_NOQA = re.compile(r"(?:--|/\*)\s*noqa(?::\s*(?P<codes>[\w\-]+(?:[\s,]+[\w\-]+)*))?", re.IGNORECASE)
_FILE_NOQA = re.compile(r"--\s*sqlperf:\s*noqa\b", re.IGNORECASE)


class SourceError(Exception):
    """A file that cannot be read as SQL text (binary, not UTF-8, unreadable)."""


@dataclass
class Statement:
    index: int
    start: int  # character offset of the first token in the file's text
    end: int  # one past the last character
    tokens: list[Token]
    source: SourceFile = field(repr=False)

    @property
    def text(self) -> str:
        return self.source.text[self.start : self.end]

    @property
    def line(self) -> int:
        return self.source.position(self.start)[0]


class SourceFile:
    def __init__(self, text: str, display_path: str = "<string>", path: Path | None = None) -> None:
        self.text = text
        self.display_path = display_path
        self.path = path

    @classmethod
    def read(cls, path: Path, display_path: str | None = None) -> SourceFile:
        display = display_path or str(path)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise SourceError(f"{display}: cannot read file: {error.strerror or error}") from None
        return cls.from_bytes(data, display, path)

    @classmethod
    def from_bytes(cls, data: bytes, display: str, path: Path | None = None) -> SourceFile:
        """The text of a file already read (the result cache hashes exactly these bytes)."""
        if b"\x00" in data[:8192]:
            raise SourceError(f"{display}: binary file, not SQL text (skipped)")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            raise SourceError(f"{display}: not valid UTF-8 (byte 0x{data[error.start]:02x} at line {line}); save it as UTF-8") from None
        return cls(text, display, path)

    @cached_property
    def _line_starts(self) -> list[int]:
        starts = [0]
        find = self.text.find
        i = find("\n")
        while i != -1:
            starts.append(i + 1)
            i = find("\n", i + 1)
        return starts

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        line = bisect_right(self._line_starts, offset) - 1
        return line + 1, offset - self._line_starts[line] + 1

    def line_text(self, line: int) -> str:
        starts = self._line_starts
        start = starts[line - 1]
        end = starts[line] - 1 if line < len(starts) else len(self.text)
        return self.text[start:end].rstrip("\r")

    # -- noqa ------------------------------------------------------------------------------------
    def noqa(self, tokens: list[Token] | None = None) -> tuple[bool, dict[int, set[str] | None]]:
        """(whole file suppressed, {line: codes or None for all}) from comments in the text.

        A match inside a string literal is not a comment; ``tokens`` (the file's tokens) let
        us tell. Without tokens every textual match counts.
        """
        if "noqa" not in self.text and "NOQA" not in self.text.upper():
            return False, {}
        inside = _string_spans(tokens) if tokens else []
        file_wide = any(not _in_spans(m.start(), inside) for m in _FILE_NOQA.finditer(self.text))
        lines: dict[int, set[str] | None] = {}
        for match in _NOQA.finditer(self.text):
            if _in_spans(match.start(), inside):
                continue
            line = self.position(match.start())[0]
            codes = match.group("codes")
            if codes is None:
                lines[line] = None
            elif lines.get(line, set()) is not None:
                lines.setdefault(line, set()).update(c.upper() for c in re.split(r"[\s,]+", codes) if c)
        return file_wide, lines


def _string_spans(tokens: list[Token]) -> list[tuple[int, int]]:
    string_types = (TokenType.STRING, TokenType.NATIONAL_STRING, TokenType.HEREDOC_STRING, TokenType.RAW_STRING)
    return [(t.start, t.end) for t in tokens if t.token_type in string_types]


def _in_spans(offset: int, spans: list[tuple[int, int]]) -> bool:
    for start, end in spans:
        if start <= offset <= end:
            return True
    return False


def tokenize(text: str, dialect) -> tuple[list[Token], list[tuple[int, int, str]]]:
    """Tokens of the whole text, and the regions that could not be tokenized.

    A tokenizer error (an unterminated string, say) must not lose the file: the text is cut
    at semicolons and each piece tokenized alone, so only the broken piece is reported.
    """
    try:
        return dialect.tokenize(text), []
    except TokenError:
        pass
    tokens: list[Token] = []
    broken: list[tuple[int, int, str]] = []
    start = 0
    for piece in re.finditer(r"[^;]*(?:;|$)", text):
        chunk = piece.group(0)
        if not chunk.strip():
            continue
        offset = piece.start()
        try:
            chunk_tokens = dialect.tokenize(chunk)
        except TokenError as error:
            broken.append((offset, piece.end(), str(error).splitlines()[0]))
            continue
        for tok in chunk_tokens:
            tok.start += offset
            tok.end += offset
        tokens.extend(chunk_tokens)
        start = piece.end()
    return tokens, broken


def split_statements(source: SourceFile, tokens: list[Token]) -> list[Statement]:
    """Statements are the token runs between semicolons; offsets stay file-relative."""
    semicolon = TokenType.SEMICOLON
    cuts = [i for i, tok in enumerate(tokens) if tok.token_type is semicolon]
    cuts.append(len(tokens))
    statements: list[Statement] = []
    begin = 0
    for cut in cuts:
        if cut > begin:
            run = tokens[begin:cut]
            statements.append(Statement(len(statements), run[0].start, run[-1].end + 1, run, source))
        begin = cut + 1
    return statements
