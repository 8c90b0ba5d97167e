"""Safe variables and expressions inside YAML spec strings: `$name`, `${expr}`, `$$`.

Specs are untrusted, so this is a small tokenizer + recursive-descent parser + evaluator;
nothing here ever calls Python's eval/compile or touches attributes. Grammar (Python precedence):

    expr       := or_expr ['if' or_expr 'else' expr]
    or_expr    := and_expr ('or' and_expr)*
    and_expr   := not_expr ('and' not_expr)*
    not_expr   := 'not' not_expr | comparison
    comparison := arith (('<' | '<=' | '>' | '>=' | '==' | '!=') arith)*     (chained like Python)
    arith      := term (('+' | '-') term)*
    term       := unary (('*' | '/' | '//' | '%') unary)*
    unary      := ('-' | '+') unary | power
    power      := postfix ['**' unary]                                     (so -2**2 == -4)
    postfix    := primary ('[' expr ']' | '.' NAME)*                       (an item of a list; a field of a record)
    primary    := NUMBER | STRING | 'true' | 'false' | 'True' | 'False' | NAME
                | FUNC '(' [expr (',' expr)* [',']] ')' | '(' expr ')' | '[' [expr (',' expr)* [',']] ']'
    FUNC       := min | max | floor | ceil | round | int | float | abs | len | log | exp | sqrt

NUMBER is Python's int/float syntax (`1_000`, `0.5`, `1e-3`); STRING is '...' or "..." without escapes.
Semantics follow Python (`/` true division, `//` floor, `and`/`or` short-circuit and return an operand,
`xs[-1]` the last item, `log(x, base)`). The only records are the ones the expander defines (`in`, the input's
shape: `in.channels`, `in.size`, `in.shape`); a record's value may be computed on first use (`Lazy`).
Bounds: 1000 characters per expression, nesting depth 50 (each `[…]` or `.field` counts one), |int| <= 2**62,
finite floats, `**` with |exponent| <= 64 and |result| <= 1e18, strings/lists built by + or * up to 1000 items.
"""
from __future__ import annotations

import difflib
import math
import operator
import re
from typing import Mapping, Optional

__all__ = ["ExprError", "Lazy", "Record", "evaluate", "substitute", "has_reference"]

_MAX_SOURCE = 1000
_MAX_DEPTH = 50
_MAX_INT = 2**62
_MAX_POW = 1e18
_MAX_LEN = 1000
_MAX_TEXT = 10_000  # characters of one string built by `$name` substitution

_DIGITS = r"\d(?:_?\d)*"
_TOKEN_RE = re.compile(
    rf"""(?P<ws>\s+)
    |(?P<num>(?:{_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE][+-]?{_DIGITS})?)
    |(?P<name>[A-Za-z_]\w*)
    |(?P<str>'[^']*'|"[^"]*")
    |(?P<op>\*\*|//|<=|>=|==|!=|[-+*/%<>()\[\],.}}])""",
    re.VERBOSE | re.ASCII,
)
_IDENT_RE = re.compile(r"[A-Za-z_]\w*", re.ASCII)
_REF_RE = re.compile(r"\$[${A-Za-z_]")
_KEYWORDS = {"and", "or", "not", "if", "else"}
_BOOLS = {"true": True, "True": True, "false": False, "False": False}
_CHAR_HINTS = {"=": "use '==' to compare", "!": "use 'not' or '!='", "&": "use 'and'", "|": "use 'or'"}
_CMP = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
        "==": operator.eq, "!=": operator.ne}
_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
          "//": operator.floordiv, "%": operator.mod, "**": operator.pow}
_FUNCS = {"min": min, "max": max, "floor": math.floor, "ceil": math.ceil, "round": round,
          "int": int, "float": float, "abs": abs, "len": len, "log": math.log, "exp": math.exp, "sqrt": math.sqrt}
_ARITY = {"min": (2, None), "max": (2, None), "round": (1, 2), "log": (1, 2)}  # every other function takes exactly 1
_DOMAIN = {"log": "a positive number (and a positive base other than 1)", "sqrt": "a number of at least 0"}
_LEVELS = (("or",), ("and",), ("not",), tuple(_CMP), ("+", "-"), ("*", "/", "//", "%"))  # lowest first


class ExprError(Exception):
    """A bad expression: `message`, 0-based `offset` into the string passed in, optional `hint`."""

    def __init__(self, message: str, offset: int = 0, hint: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.hint = hint


class Record:
    """A named, read-only set of fields an expression reads as `name.field` (the expander's `in`); never a value
    of its own, so it cannot reach a layer argument."""

    __slots__ = ("label", "fields")

    def __init__(self, label: str, fields: Mapping[str, object]):
        self.label, self.fields = label, dict(fields)

    def field(self, name: str, pos: int):
        """One field's value (a fresh copy of a list), or an ExprError naming the fields there are."""
        if name not in self.fields:
            raise ExprError(f"'{self.label}' has no field '{name}'", pos, _suggest(name, self.fields, f"fields of {self.label}"))
        value = self.fields[name]
        return list(value) if isinstance(value, list) else value

    def __repr__(self) -> str:
        return f"Record({self.label!r}, {sorted(self.fields)})"


class Lazy:
    """A variable whose value is computed when an expression first reads it (the input's shape needs the layers
    before it worked out, which only a spec that reads `in` should pay for). `compute()` may raise ExprError; its
    offset is replaced by the reading name's."""

    __slots__ = ("compute", "value")

    def __init__(self, compute):
        self.compute, self.value = compute, None

    def get(self):
        if self.value is None:
            self.value = self.compute()
        return self.value


def _too_large(pos: int, hint: str) -> ExprError:
    """The error for a value outside the safety bounds."""
    return ExprError("value too large", pos, hint)


def _suggest(name: str, known, label: str) -> str:
    """A did-you-mean hint, else the list of known names (assumed non-empty)."""
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f"did you mean '{close[0]}'?" if close else f"{label}: {', '.join(sorted(known))}"


def _tokenize(text: str, start: int, closing: bool) -> list:
    """Split text[start:] into (kind, value, offset) tokens, ending with an 'end' token (at '}' if closing)."""
    tokens, i = [], start
    while True:
        if i >= len(text):
            if closing:
                raise ExprError("unterminated ${", start - 2, "close the expression with '}'")
            tokens.append(("end", None, i))
            return tokens
        m = _TOKEN_RE.match(text, i)
        if not m:
            ch = text[i]
            if ch in "'\"":
                raise ExprError("unterminated string", i)
            raise ExprError(f"unexpected character '{ch}'", i, _CHAR_HINTS.get(ch))
        if m.end() - start > _MAX_SOURCE:
            raise ExprError(f"expression longer than {_MAX_SOURCE} characters", start)
        kind, word = m.lastgroup, m.group()
        if kind == "num":
            if re.match(r"[\w.]", text[m.end():m.end() + 1], re.ASCII):
                raise ExprError("invalid number", i)
            number = float(word) if any(c in word for c in ".eE") else int(word)
            tokens.append(("const", _checked(number, i), i))
        elif kind == "name":
            if word in _KEYWORDS:
                tokens.append(("op", word, i))
            else:
                tokens.append(("const", _BOOLS[word], i) if word in _BOOLS else ("name", word, i))
        elif kind == "str":
            tokens.append(("const", word[1:-1], i))
        elif word == "}":
            if not closing:
                raise ExprError("unexpected character '}'", i)
            tokens.append(("end", None, i))
            return tokens
        elif kind == "op":
            tokens.append(("op", word, i))
        i = m.end()


class _Parser:
    """Recursive descent over tokens, producing nested tuples (kind, offset, ...)."""

    def __init__(self, tokens: list, end_message: str):
        self.tokens, self.i, self.depth, self.end_message = tokens, 0, 0, end_message

    def peek(self):
        """The current token."""
        return self.tokens[self.i]

    def take(self):
        """Consume and return the current token (the 'end' token is never passed)."""
        tok = self.tokens[self.i]
        if tok[0] != "end":
            self.i += 1
        return tok

    def accept(self, op: str):
        """Consume the operator/keyword `op` if it comes next."""
        tok = self.peek()
        return self.take() if tok[0] == "op" and tok[1] == op else None

    def expect(self, op: str):
        """Consume `op` or fail with "expected 'op'" at the current token."""
        tok = self.accept(op)
        if tok is None:
            raise ExprError(f"expected '{op}'", self.peek()[2])
        return tok

    def deeper(self):
        """Enter one nesting level (the caller leaves it), enforcing the depth bound."""
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            opener = self.tokens[self.i - 1][2]  # the '(', '[', ',', '-', 'not', '**' or 'else' just read
            raise ExprError("expression nested too deeply", opener, f"at most {_MAX_DEPTH} levels")

    def parse(self):
        """The whole token list as one expression."""
        node = self.expr(top=True)
        if self.peek()[0] != "end":
            raise ExprError(self.end_message, self.peek()[2])
        return node

    def expr(self, top: bool = False):
        """expr := or_expr ['if' or_expr 'else' expr]; every nested expr is one level deeper."""
        if not top:
            self.deeper()
        node = self.binary(0)
        if self.accept("if"):
            cond = self.binary(0)
            self.expect("else")
            node = ("if", node[1], node, cond, self.expr())
        if not top:
            self.depth -= 1
        return node

    def binary(self, level: int):
        """One left-associative operator level of _LEVELS (level 2 is the prefix 'not')."""
        if level == len(_LEVELS):
            return self.unary()
        ops = _LEVELS[level]
        if ops == ("not",):
            tok = self.accept("not")
            if tok is None:
                return self.binary(level + 1)
            self.deeper()
            node = ("unary", tok[2], "not", self.binary(level))
            self.depth -= 1
            return node
        first, rest = self.binary(level + 1), []
        while self.peek()[0] == "op" and self.peek()[1] in ops:
            tok = self.take()
            rest.append((tok[1], tok[2], self.binary(level + 1)))
        if not rest:
            return first
        return ("logic" if level < 2 else "cmp" if level == 3 else "arith", first[1], first, rest)

    def unary(self):
        """unary := ('-' | '+') unary | primary ['**' unary]."""
        tok = self.peek()
        if tok[0] == "op" and tok[1] in ("-", "+"):
            self.take()
            self.deeper()
            node = ("unary", tok[2], tok[1], self.unary())
        else:
            node = self.postfix()
            op = self.accept("**")
            if op is None:
                return node
            self.deeper()
            node = ("arith", node[1], node, [("**", op[2], self.unary())])
        self.depth -= 1
        return node

    def postfix(self):
        """postfix := primary ('[' expr ']' | '.' NAME)*; each item or field read is one level deeper."""
        node, levels = self.primary(), 0
        while self.peek()[1] in ("[", ".") and self.peek()[0] == "op":  # one look per primary: parsing is hot
            tok = self.take()
            self.deeper()
            levels += 1
            if tok[1] == "[":
                node = ("index", tok[2], node, self.expr())
                self.expect("]")
            else:
                kind, name, pos = self.take()
                if kind != "name":
                    raise ExprError("expected a field name after '.'", pos)
                node = ("field", pos, node, name)
        self.depth -= levels
        return node

    def primary(self):
        """A literal, variable, call, parenthesised expression or list."""
        kind, value, pos = tok = self.take()
        if kind == "const":
            return ("const", pos, value)
        if kind == "name":
            return self.call(value, pos) if self.accept("(") else ("var", pos, value)
        if tok[:2] == ("op", "("):
            node = self.expr()
            self.expect(")")
            return node
        if tok[:2] == ("op", "["):
            return ("list", pos, self.items("]"))
        raise ExprError("expected an expression", pos)

    def items(self, close: str) -> list:
        """Comma-separated expressions up to `close` (trailing comma allowed)."""
        items = []
        while not self.accept(close):
            items.append(self.expr())
            if not self.accept(","):
                self.expect(close)
                break
        return items

    def call(self, name: str, pos: int):
        """A built-in call after NAME '(' was read; name and argument count are checked statically."""
        if name not in _FUNCS:
            raise ExprError(f"unknown function '{name}'", pos, _suggest(name, _FUNCS, "available functions"))
        args = self.items(")")
        lo, hi = _ARITY.get(name, (1, 1))
        if len(args) < lo or (hi is not None and len(args) > hi):
            want = f"at least {lo}" if hi is None else f"{lo} or {hi}" if lo != hi else "exactly 1"
            raise ExprError(f"{name}() takes {want} argument{'s' * (want != 'exactly 1')} "
                            f"({len(args)} given)", pos)
        return ("call", pos, name, args)


def _is_num(v) -> bool:
    """Numbers for arithmetic (bools included, like Python)."""
    return isinstance(v, (int, float))


def _tname(v) -> str:
    """The type name used in error messages."""
    return type(v).__name__


def _checked(v, pos: int):
    """Enforce the int and float bounds on a computed value."""
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > _MAX_INT:
        raise _too_large(pos, "integers are limited to 2**62 in magnitude")
    if isinstance(v, float) and not math.isfinite(v):
        raise _too_large(pos, "floats must stay finite")
    return v


def _check_len(size: int, pos: int) -> None:
    """Refuse to build a str/list larger than the bound (checked before building it)."""
    if size > _MAX_LEN:
        raise _too_large(pos, f"strings and lists built by expressions are limited to {_MAX_LEN} items")


def _size(value) -> int:
    """Characters of a string; items of a list counted all the way down (a list repeated inside another counts
    each time: `[[0]*1000]*1000` is a million, whatever Python shares)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        return len(value) + sum(_size(v) for v in value if isinstance(v, (list, str)))
    return 1


def _binary(op: str, a, b, pos: int):
    """Apply one arithmetic operator with Python semantics, within the safety bounds."""
    if _is_num(a) and _is_num(b):
        if op in ("/", "//", "%") and b == 0:
            raise ExprError("division by zero", pos)
        if op == "**" and abs(b) > 64:
            raise _too_large(pos, "'**' needs an exponent of at most 64 in magnitude")
        try:
            result = _ARITH[op](a, b)
        except ZeroDivisionError:
            raise ExprError("division by zero", pos) from None
        except OverflowError:
            raise _too_large(pos, "floats must stay finite") from None
        if isinstance(result, complex):
            raise ExprError("negative number raised to a fractional power", pos)
        if op == "**" and abs(result) > _MAX_POW:
            raise _too_large(pos, "'**' results are limited to 1e18 in magnitude")
        return _checked(result, pos)
    if op == "+" and type(a) is type(b) and isinstance(a, (str, list)):
        _check_len(_size(a) + _size(b), pos)
        return a + b
    if op == "*":
        seq, n = (a, b) if isinstance(a, (str, list)) else (b, a)
        if isinstance(seq, (str, list)) and isinstance(n, int) and not isinstance(n, bool):
            _check_len(_size(seq) * max(n, 0), pos)
            return seq * n
    raise ExprError(f"unsupported operand types for '{op}': {_tname(a)} and {_tname(b)}", pos)


def _compare(op: str, a, b, pos: int) -> bool:
    """One comparison; ordering only between numbers, strings, or lists."""
    if op in ("==", "!=") or (_is_num(a) and _is_num(b)) or (type(a) is type(b) and isinstance(a, (str, list))):
        try:
            return bool(_CMP[op](a, b))
        except TypeError:
            pass
    raise ExprError(f"cannot compare {_tname(a)} and {_tname(b)} with '{op}'", pos)


def _call(name: str, args: list, pos: int):
    """Call a built-in on evaluated (value, offset) arguments, checking their types."""
    if name == "len":
        value, at = args[0]
        if not isinstance(value, (list, str)):
            raise ExprError(f"len() expects a list, got {_tname(value)}", at)
        return len(value)
    for value, at in args:
        if not _is_num(value):
            raise ExprError(f"{name}() expects a number, got {_tname(value)}", at)
        if isinstance(value, float) and not math.isfinite(value):  # nan or inf from a variable
            raise ExprError(f"{name}() expects a finite number, got {value}", at)
    if name == "round" and len(args) == 2 and (not isinstance(args[1][0], int) or abs(args[1][0]) > 64):
        raise ExprError("round() digits must be an integer between -64 and 64", args[1][1])
    try:
        return _checked(_FUNCS[name](*(value for value, _ in args)), pos)
    except (ValueError, ZeroDivisionError):  # log(0), log(x, 1), sqrt(-1): math's domain errors
        shown = ", ".join(repr(value) for value, _ in args)
        raise ExprError(f"{name}({shown}) is undefined", pos, f"{name}() needs {_DOMAIN.get(name, 'finite numbers')}") from None
    except OverflowError:  # exp(1000)
        raise _too_large(pos, "floats must stay finite") from None


def _index(seq, i, pos: int, at: int):
    """seq[i] for a list or string and an integer i (negative counts from the end, as in Python); `pos` is the
    offset of '[', `at` of the index."""
    if not isinstance(seq, (list, str)):
        raise ExprError(f"only lists and strings can be indexed, not {_tname(seq)}", pos)
    if isinstance(i, bool) or not isinstance(i, int):
        raise ExprError(f"an index is an integer, got {_tname(i)}", at, "use int(...) or // to make one")
    if not -len(seq) <= i < len(seq):
        raise ExprError(f"index {i} is out of range for a {_tname(seq)} of {len(seq)} item{'s' * (len(seq) != 1)}", at,
                        f"indices run from 0 to {len(seq) - 1} (or -{len(seq)} to -1 from the end)" if seq else None)
    return seq[i]


def _lookup(name: str, variables: Mapping[str, object], pos: int, record: bool = False):
    """A variable's value, or an ExprError with a did-you-mean hint. A record is only read through its fields."""
    if name in variables:
        value = variables[name]
        if not isinstance(value, (Lazy, Record)):  # the usual case, with one check
            return value
        if isinstance(value, Lazy):
            try:
                value = value.get()
            except ExprError as e:
                raise ExprError(e.message, pos, e.hint) from None
        if isinstance(value, Record) and not record:
            fields = ", ".join(f"{name}.{f}" for f in value.fields)
            raise ExprError(f"'{name}' is a record: read one of its fields ({fields})", pos,
                            f"write '${{{name}.{next(iter(value.fields))}}}', with braces" if value.fields else None)
        return value
    names = [k for k in variables if isinstance(k, str)]
    if name in _FUNCS:
        hint = f"'{name}' is a function: call it as {name}(...)"
    else:
        hint = _suggest(name, names, "defined variables") if names else "no variables are defined"
    raise ExprError(f"undefined variable '{name}'", pos, hint)


def _eval(node, variables: Mapping[str, object]):
    """Evaluate a parsed node (short-circuiting `and`, `or` and `if` like Python)."""
    kind, pos = node[0], node[1]
    if kind == "const":
        return node[2]
    if kind == "var":
        return _lookup(node[2], variables, pos)
    if kind == "index":
        return _index(_eval(node[2], variables), _eval(node[3], variables), pos, node[3][1])
    if kind == "field":
        base = node[2]
        record = _lookup(base[2], variables, base[1], record=True) if base[0] == "var" else _eval(base, variables)
        if not isinstance(record, Record):
            raise ExprError(f"'.{node[3]}' reads a field of a record, and this is a {_tname(record)}", pos,
                            "the only record is `in`, the input's shape: in.channels, in.size, in.shape")
        return record.field(node[3], pos)
    if kind == "list":
        items = [_eval(item, variables) for item in node[2]]
        _check_len(_size(items), pos)
        return items
    if kind == "call":
        return _call(node[2], [(_eval(arg, variables), arg[1]) for arg in node[3]], pos)
    if kind == "unary":
        value = _eval(node[3], variables)
        if node[2] == "not":
            return not value
        if not _is_num(value):
            raise ExprError(f"unsupported operand type for unary '{node[2]}': {_tname(value)}", pos)
        return _checked(-value if node[2] == "-" else +value, pos)
    if kind == "arith":
        value = _eval(node[2], variables)
        for op, at, rhs in node[3]:
            value = _binary(op, value, _eval(rhs, variables), at)
        return value
    if kind == "cmp":
        left = _eval(node[2], variables)
        for op, at, rhs in node[3]:
            right = _eval(rhs, variables)
            if not _compare(op, left, right, at):
                return False
            left = right
        return True
    if kind == "logic":
        value = _eval(node[2], variables)
        for op, _, rhs in node[3]:
            if bool(value) == (op == "or"):
                return value
            value = _eval(rhs, variables)
        return value
    return _eval(node[2] if _eval(node[3], variables) else node[4], variables)  # "if"


def _run(text: str, start: int, variables: Mapping[str, object], closing: bool):
    """Evaluate the expression at text[start:]; return (value, offset of its end or closing '}')."""
    tokens = _tokenize(text, start, closing)
    try:
        node = _Parser(tokens, "expected '}'" if closing else "expected end of expression").parse()
        return _eval(node, variables), tokens[-1][2]
    except RecursionError:
        raise ExprError("expression nested too deeply", start) from None


def evaluate(source: str, variables: Mapping[str, object]) -> object:
    """Evaluate one expression (the text between ${ and }) over variables."""
    if len(source) > _MAX_SOURCE:
        raise ExprError(f"expression longer than {_MAX_SOURCE} characters", 0)
    return _run(source, 0, variables, closing=False)[0]


def substitute(text: str, variables: Mapping[str, object]) -> object:
    """Resolve a YAML string: a lone `$name`/`${expr}` keeps its value's type, mixed text becomes a str.

    `$$` is a literal `$`; a `$` followed by anything else is kept as is. Offsets are relative to `text`.
    """
    if "$" not in text:
        return text
    out, i, size = [], 0, 0
    while True:
        j = text.find("$", i)
        if j < 0:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i:j])
        size += j - i
        nxt = text[j + 1:j + 2]
        ident = _IDENT_RE.match(text, j + 1)
        if nxt == "{":
            value, end = _run(text, j + 2, variables, closing=True)
            end += 1
        elif ident:
            value, end = _lookup(ident.group(), variables, j + 1), ident.end()
        else:
            out.append("$")
            i = j + 2 if nxt == "$" else j + 1
            continue
        if j == 0 and end == len(text):
            return value
        size += _size(value) if isinstance(value, (str, list)) else 0
        if size > _MAX_TEXT:  # `$v` doubling through variables would otherwise grow without bound
            raise _too_large(j, f"text built by substitution is limited to {_MAX_TEXT:,} characters")
        out.append(value if isinstance(value, str) else str(value))
        i = end


def has_reference(text: str) -> bool:
    """True if substitute() could change the string: it has a `$name`, `${...}` or `$$`."""
    return "$" in text and _REF_RE.search(text) is not None
