"""The message Twenty answers for a request body that is not JSON: what Node 24's JSON.parse says, through body-parser.

Twenty's REST API reads bodies with Express's body-parser in strict mode (Node 24 on every line recorded), so a bad
body is a 400 ``{"message": <the SyntaxError's message>, "error": "Bad Request", "statusCode": 400}``. The wording is
V8's (src/common/message-template.h, the JsonParse* templates, and json/json-parser.cc ReportUnexpectedToken):
an explicit message where the parser knows what it expected ("Expected ',' or '}' after property value in JSON at
position 31 (line 1 column 32)"), else "Unexpected end of JSON input" or "Unexpected token 'x', "…" is not valid
JSON" with up to 10 characters of context on each side once the body is 21 characters or longer. body-parser's strict
mode refuses a body whose first character is not ``{`` or ``[`` by parsing ``#``s in its place and putting the
body's characters back into the message (body-parser lib/types/json.js, createStrictSyntaxError).
Every message shape here was recorded from the real servers (conformance/recorded/, the probe_body_* cases).
"""

from __future__ import annotations

_WS = " \t\n\r"
_DIGITS = tuple("0123456789")
_CONTEXT = 10  # V8 kMaxContextCharacters
_MIN_FOR_CONTEXT = 2 * _CONTEXT + 1  # V8 kMinOriginalSourceLengthForContext
_SPECIAL = ("NaN", "Infinity", "undefined", "[object Object]")


class _Error(Exception):
    pass


def body_parser_error(text: str) -> str | None:
    """The message body-parser's strict JSON parser gives for ``text``, or None when it parses."""
    stripped = text.lstrip(_WS)
    if not stripped:
        return None  # an empty body is {} to body-parser
    first = stripped[0]
    if first not in "{[":
        index = text.index(first)
        partial = text[:index] + "#" * (len(text) - index)
        message = v8_json_error(partial) or ""
        out, i = [], 0
        while i < len(message):
            if message[i] == "#":
                j = i
                while j < len(message) and message[j] == "#":
                    j += 1
                out.append(text[index : index + (j - i)])
                i = j
            else:
                out.append(message[i])
                i += 1
        return "".join(out)
    return v8_json_error(text)


def v8_json_error(text: str) -> str | None:
    """V8's JSON.parse SyntaxError message for ``text``, or None when it is valid JSON."""
    parser = _Parser(text)
    try:
        parser.value()
        parser.skip()
        if parser.pos < len(text):
            parser.fail_at("Unexpected non-whitespace character after JSON", where="")
    except _Error as e:
        return str(e)
    return None


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def fail_at(self, message: str, pos: int | None = None, where: str = " in JSON") -> None:
        pos = self.pos if pos is None else pos
        line = self.text.count("\n", 0, pos) + 1
        column = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        raise _Error(f"{message}{where} at position {pos} (line {line} column {column})")

    def unexpected(self) -> None:
        text, pos = self.text, self.pos
        if pos >= len(text):
            raise _Error("Unexpected end of JSON input")
        if text in _SPECIAL:
            raise _Error(f'"{text}" is not valid JSON')
        token = text[pos]
        if len(text) < _MIN_FOR_CONTEXT:
            raise _Error(f"Unexpected token '{token}', \"{text}\" is not valid JSON")
        if pos < _CONTEXT:
            raise _Error(f"Unexpected token '{token}', \"{text[: pos + _CONTEXT]}\"... is not valid JSON")
        if pos < len(text) - _CONTEXT:
            context = text[pos - _CONTEXT : pos + _CONTEXT]
            raise _Error(f"Unexpected token '{token}', ...\"{context}\"... is not valid JSON")
        raise _Error(f"Unexpected token '{token}', ...\"{text[pos - _CONTEXT :]}\" is not valid JSON")

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _WS:
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def value(self) -> None:
        self.skip()
        c = self.peek()
        if c == "{":
            self.object()
        elif c == "[":
            self.array()
        elif c == '"':
            self.string()
        elif c == "-" or c in _DIGITS:
            self.number()
        elif c in ("t", "f", "n"):
            self.literal({"t": "true", "f": "false", "n": "null"}[c])
        else:
            self.unexpected()

    def literal(self, word: str) -> None:
        for expected in word:
            if self.peek() != expected:
                self.unexpected()
            self.pos += 1

    def object(self) -> None:
        self.pos += 1
        self.skip()
        if self.peek() == "}":
            self.pos += 1
            return
        first = True
        while True:
            self.skip()
            if self.peek() != '"':
                self.fail_at(
                    "Expected property name or '}'" if first else "Expected double-quoted property name"
                )
            first = False
            self.string()
            self.skip()
            if self.peek() != ":":
                self.fail_at("Expected ':' after property name")
            self.pos += 1
            self.value()
            self.skip()
            c = self.peek()
            if c == ",":
                self.pos += 1
                continue
            if c == "}":
                self.pos += 1
                return
            self.fail_at("Expected ',' or '}' after property value")

    def array(self) -> None:
        self.pos += 1
        self.skip()
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            self.value()
            self.skip()
            c = self.peek()
            if c == ",":
                self.pos += 1
                continue
            if c == "]":
                self.pos += 1
                return
            self.fail_at("Expected ',' or ']' after array element")

    def string(self) -> None:
        start = self.pos
        self.pos += 1
        text = self.text
        while True:
            if self.pos >= len(text):
                self.fail_at("Unterminated string", start)
            c = text[self.pos]
            if c == '"':
                self.pos += 1
                return
            if ord(c) < 0x20:
                self.fail_at("Bad control character in string literal")
            if c == "\\":
                self.pos += 1
                e = self.peek()
                if e == "u":
                    digits = text[self.pos + 1 : self.pos + 5]
                    if len(digits) < 4 or any(d not in "0123456789abcdefABCDEF" for d in digits):
                        self.fail_at("Bad Unicode escape")
                    self.pos += 5
                    continue
                if not e:
                    self.fail_at("Unterminated string", start)
                if e not in '"\\/bfnrt':
                    self.fail_at("Bad escaped character")
            self.pos += 1

    def number(self) -> None:
        if self.peek() == "-":
            self.pos += 1
            if self.peek() not in _DIGITS:
                self.fail_at("No number after minus sign")
        if self.peek() == "0":
            self.pos += 1
        else:
            while self.peek() in _DIGITS:
                self.pos += 1
        if self.peek() == ".":
            self.pos += 1
            if self.peek() not in _DIGITS:
                self.fail_at("Unterminated fractional number")
            while self.peek() in _DIGITS:
                self.pos += 1
        if self.peek() in ("e", "E"):
            self.pos += 1
            if self.peek() in ("+", "-"):
                self.pos += 1
            if self.peek() not in _DIGITS:
                self.fail_at("Exponent part is missing a number")
            while self.peek() in _DIGITS:
                self.pos += 1
