"""The oracle harness: formulas read from the notes, turned into SymPy, differentiated and evaluated.

A test names the formulas it verifies with ``@pytest.mark.formula("act-sigmoid")`` and gets an independent
oracle with ``oracle("act-sigmoid")``: the SymPy expression parsed from the note's own LaTeX (the right-hand
side of ``=`` or ``:=``), its derivatives by ``sympy.diff``, and NumPy functions made by ``lambdify``, each
computed once per formula and cached.

Derivations that take seconds (Jacobians of a recurrent step, gradients of a hand-built loss) are built by functions
decorated with ``@derivation``: their lambdified results are kept on disk (in pytest's cache directory,
``.pytest_cache/d/sympy``; ``pytest --cache-clear`` empties it) under a key made of the function's arguments, the
source of its test module and of this harness, SymPy's version, and the LaTeX of every formula the derivation read
from the notes. Editing a formula rebuilds exactly the derivations that read it; editing code or prose rebuilds none.

Where SymPy's LaTeX parser cannot read a formula (matrices, sequences, sums over sets), the test builds the
SymPy expression by hand and says so; it still reads the note's LaTeX with ``latex(ID)`` and asserts on it.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import io
import json
import os
import pickle
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sympy
from sympy.parsing.latex import parse_latex

from litnotes import tangle

ROOT = Path(__file__).resolve().parent.parent


CURRENT_TEST: list[str | None] = [None]  # set by tests/conftest.py for the test that is running
CACHE_DIR: list[Path | None] = [None]  # set by tests/conftest.py (none under ``-p no:cacheprovider``)
_READ: dict[str, list[str]] = {}
_RECORDING: list[list[str]] = []  # the formulas read by the derivations being built, innermost last


def _note_read(formula_id: str) -> None:
    for seen in _RECORDING:
        if formula_id not in seen:
            seen.append(formula_id)
    if CURRENT_TEST[0]:
        seen = _READ.setdefault(CURRENT_TEST[0], [])
        if formula_id not in seen:
            seen.append(formula_id)


def read_during(nodeid: str) -> list[str]:
    """The formula IDs a test read from the notes (through ``latex``, so ``oracle`` and ``pseudo`` too)."""
    return _READ.get(nodeid, [])


@functools.cache
def formulas() -> dict[str, tangle.Formula]:
    """Every formula of the notes by ID, exactly as ``python tangle.py --formulas --json`` lists them."""
    notes, errors = tangle.read_notes(ROOT)
    if errors:
        raise AssertionError("the notes have errors:\n" + "\n".join(map(str, errors)))
    return {fm.id: fm for note in notes for fm in note.formulas}


def latex(formula_id: str) -> str:
    """The LaTeX of a formula, exactly as it stands in its note."""
    _note_read(formula_id)
    try:
        return formulas()[formula_id].latex
    except KeyError:
        raise AssertionError(f"no formula with ID {formula_id!r} in the notes") from None


def where(formula_id: str) -> str:
    fm = formulas()[formula_id]
    return f"{fm.note}:{fm.line} ({formula_id})"


# ------------------------------------------------------------------------------------------------------------
# Normalising LaTeX for sympy.parsing.latex


_WORD_MACROS = r"\\(?:mathrm|operatorname|text|mathit|mathbf|boldsymbol|textrm)\{([^{}]*)\}"


def _top_level_split(tex: str, sep: str) -> list[str]:
    """Split at ``sep`` where it is not inside braces or parentheses."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(tex):
        ch = tex[i]
        env = re.match(r"\\(begin|end)\{\w+\}", tex[i:])
        if env:  # an environment (cases) is one group: its '=' are its own
            depth += 1 if env.group(1) == "begin" else -1
            i += len(env.group(0))
            continue
        if ch == "\\" and i + 1 < len(tex):
            i += 2
            continue
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth -= 1
        elif depth == 0 and tex.startswith(sep, i):
            parts.append(tex[start:i])
            start = i + len(sep)
            i += len(sep)
            continue
        i += 1
    parts.append(tex[start:])
    return parts


def normalize(tex: str) -> str:
    """Rewrite note LaTeX into what the parser reads.

    ``\\left``/``\\right`` dropped; ``\\mathrm{…}``, ``\\text{…}``, ``\\operatorname{…}`` in subscripts become plain
    names (``r_{\\text{decay}}`` → ``r_{decay}``); spacing commands removed; ``\\cdot`` kept (the parser reads it).
    Euler's ``e`` and ``\\max`` are fixed after parsing (see ``_fix``).
    """
    tex = re.sub(r"\\left|\\right", "", tex)
    tex = re.sub(r"(?<![\\a-zA-Z])(tanh|max|min|exp|log)(?![a-zA-Z])", r"\\\1", tex)  # tanh(z) as written by hand
    tex = re.sub(r"\^\{\([a-z]\)\}", "", tex)  # Z^{(i)}: the example index of a per-example formula
    tex = re.sub(r"\\tilde\{(\w)\}", r"\1_{tilde}", tex)  # \tilde{Z} is a name of its own
    tex = re.sub(r"\\[,;:!]|\\quad|\\qquad|~", " ", tex)
    tex = re.sub(r"_\{\s*" + _WORD_MACROS + r"\s*\}", lambda m: "_{" + m.group(1).replace("\\_", "") + "}", tex)
    tex = re.sub(r"_" + _WORD_MACROS, lambda m: "_{" + m.group(1).replace("\\_", "") + "}", tex)
    tex = tex.replace(r"\times", r"\cdot").replace(r"\varepsilon", r"\epsilon")
    # a coefficient before a parenthesis, α(…) or β_1(…), is a product, not a function call (σ(z) stays a call)
    tex = re.sub(r"(\\(?:alpha|beta|gamma|lambda|eta|mu)(?:_\{?\w+\}?)?)\s*\(", r"\1 \\cdot (", tex)
    return tex.strip().rstrip(".,;")


_WORD_SUBSCRIPT_RE = re.compile(
    r"(?P<base>\\[a-zA-Z]+|[A-Za-z])_\{(?P<sub>[A-Za-z][A-Za-z0-9]*)\}(?:\^\{(?P<sup>[A-Za-z]{2,})\})?")


def _protect_words(tex: str) -> tuple[str, dict[str, str]]:
    """``Z_{norm}``, ``V_{dW}^{corrected}``: the parser splits words into products of letters, so each such symbol
    is parsed under a numbered placeholder subscript and renamed afterwards."""
    names: dict[str, str] = {}

    def placeholder(m: re.Match) -> str:
        if len(m.group("sub")) < 2 and not m.group("sup"):
            return m.group(0)
        code = str(900 + len(names))
        base = m.group("base").lstrip("\\")
        sup = f"^{{{m.group('sup')}}}" if m.group("sup") else ""
        names[f"{base}_{{{code}}}"] = f"{base}_{{{m.group('sub')}}}{sup}"
        return f"{m.group('base')}_{{{code}}}"

    def word(m: re.Match) -> str:  # DecayRate, EpochNumber: a name written as a CamelCase word
        code = str(900 + len(names))
        names[f"Q_{{{code}}}"] = m.group(0)
        return f"Q_{{{code}}}"

    tex = re.sub(r"(?<![\\A-Za-z])[A-Z][a-z]+(?:[A-Z][a-z]+)+(?![A-Za-z])", word, tex)
    return _WORD_SUBSCRIPT_RE.sub(placeholder, tex), names


def _fix(expr: sympy.Expr) -> sympy.Expr:
    """After parsing: ``e`` is Euler's number, ``max``/``min`` are SymPy's Max/Min, decimals are exact (0.1 = 1/10)."""
    expr = expr.subs(sympy.Symbol("e"), sympy.E)
    expr = expr.xreplace({f: sympy.Rational(str(f)) for f in expr.atoms(sympy.Float)})
    replacements = {}
    for f in expr.atoms(sympy.Function):
        name = type(f).__name__
        if name == "max":
            replacements[f] = sympy.Max(*f.args)
        elif name == "min":
            replacements[f] = sympy.Min(*f.args)
    return expr.xreplace(replacements) if replacements else expr


def parse(tex: str, what: str = "formula") -> sympy.Expr:
    """Parse one LaTeX expression (no ``=``) into SymPy, ``cases`` into ``Piecewise``."""
    tex = normalize(tex)
    cases = re.fullmatch(r"\s*\\begin\{cases\}(.*)\\end\{cases\}\s*", tex, flags=re.S)
    if cases:
        pieces = []
        for row in re.split(r"\\\\", cases.group(1)):
            if not row.strip():
                continue
            value, _, cond = row.partition("&")
            cond = re.sub(r"^\s*(\\text\{[^}]*\}|if)\s*", "", cond.strip())
            value = value.strip().rstrip(",")
            # a branch written as "undefined" (未定义) is a point where the function has no value
            pieces.append((sympy.nan if re.fullmatch(r"\\text\{未定义\}", value) else parse(value, what),
                           parse(cond, what) if cond else True))
        return sympy.Piecewise(*pieces, (sympy.nan, True))
    protected, names = _protect_words(tex)
    try:
        expr = _fix(parse_latex(protected))
    except Exception as exc:  # the parser raises several types
        raise AssertionError(f"SymPy cannot parse {what}: {tex!r}: {type(exc).__name__}: {exc}") from None
    return expr.xreplace({s: sympy.Symbol(names[s.name]) for s in expr.free_symbols if s.name in names})


def plain(expr: sympy.Expr) -> sympy.Expr:
    """Symbols renamed to plain names (``beta_{1}`` → ``beta_1``), so formulas from different cells compare."""
    return expr.xreplace({s: sympy.Symbol(re.sub(r"[{}]", "", s.name)) for s in expr.free_symbols})


def _name(sym: sympy.Symbol) -> str:
    """``V_{dW}`` → ``V_dW``, ``beta_{1}`` → ``beta_1``: the names tests use."""
    return re.sub(r"[{}\s]", "", sym.name)


@dataclass(eq=False)  # hashed by identity: its methods are cached
class Oracle:
    """A formula of the notes as SymPy: ``expr`` is its right-hand side."""

    id: str
    lhs: str
    expr: sympy.Expr

    @property
    def symbols(self) -> dict[str, sympy.Symbol]:
        return {_name(s): s for s in self.expr.free_symbols}

    def sym(self, name: str) -> sympy.Symbol:
        try:
            return self.symbols[name]
        except KeyError:
            raise AssertionError(f"{where(self.id)}: no symbol {name!r} in {self.expr} "
                                 f"(it has {sorted(self.symbols)})") from None

    @functools.cache  # noqa: B019 - oracles live as long as the test session, on purpose
    def diff(self, name: str) -> sympy.Expr:
        """The derivative with respect to a symbol, by ``sympy.diff``."""
        return sympy.diff(self.expr, self.sym(name))

    @functools.cache  # noqa: B019
    def fn(self, *names: str, derivative: str | None = None):
        """A NumPy function of the named symbols: the formula, or its derivative with respect to ``derivative``."""
        expr = self.diff(derivative) if derivative else self.expr
        missing = set(self.symbols) - set(names)
        if missing:
            raise AssertionError(f"{where(self.id)}: symbols {sorted(missing)} are not given to fn({names})")
        return sympy.lambdify([self.sym(n) if n in self.symbols else sympy.Symbol(n) for n in names], expr,
                              modules="numpy")


def assert_latex(formula_id: str, *parts: str) -> None:
    """Assert that the note's LaTeX of ``formula_id`` contains each of ``parts``: the formula a hand-built oracle
    follows is the one the note shows, so editing the note without the oracle fails a test."""
    tex = latex(formula_id)
    for part in parts:
        assert part in tex, f"{formula_id}: expected {part!r} in the note's LaTeX {tex!r}"


def symbol_matrix(name: str, rows: int, cols: int) -> sympy.Matrix:
    """A ``rows × cols`` matrix of SymPy symbols ``name_i_j``, for oracles built by hand on tiny shapes."""
    return sympy.Matrix(rows, cols, lambda i, j: sympy.Symbol(f"{name}_{i}_{j}"))


def oracle(formula_id: str) -> Oracle:
    """The formula ``formula_id`` parsed from its note: ``lhs = rhs`` or ``lhs := rhs`` gives ``rhs``."""
    _note_read(formula_id)
    return _parsed(formula_id)


@functools.cache
def _parsed(formula_id: str) -> Oracle:
    tex = latex(formula_id)
    for sep in (":=", "="):
        parts = _top_level_split(tex, sep)
        if len(parts) == 2:
            lhs, rhs = parts
            break
    else:
        lhs, rhs = "", tex
    return Oracle(formula_id, lhs.strip(), parse(rhs, f"formula {where(formula_id)}"))


def pseudo(formula_id: str, words: dict[str, str]) -> sympy.Expr:
    """The right-hand side of the ``:=`` line of a pseudo-code update rule, as SymPy.

    ``words`` maps the pseudo-code's words to the symbols of the LaTeX formulas, e.g.
    ``{"learning_rate": "alpha", "dJ(W)/dW": "dW"}``; ``lambda`` may be mapped to ``lambda`` (it is not read as
    Python's keyword).
    """
    text = latex(formula_id)
    rules = [line for line in text.splitlines() if ":=" in line]
    if len(rules) != 1:
        raise AssertionError(f"{where(formula_id)}: expected one ':=' line, found {len(rules)}")
    rhs = rules[0].split(":=", 1)[1].strip().rstrip(";")
    for word, symbol in sorted(words.items(), key=lambda kv: -len(kv[0])):
        rhs = rhs.replace(word, f"__{symbol}__")
    names = set(re.findall(r"__(\w+?)__", rhs))
    local = {f"__{n}__": sympy.Symbol(n) for n in names}
    try:
        return sympy.sympify(rhs, locals=local)
    except (sympy.SympifyError, SyntaxError, TypeError) as exc:
        raise AssertionError(f"{where(formula_id)}: cannot read the rule {rules[0]!r}: {exc}") from None


# ----------------------------------------------------------------------------------------------------------------
# Derivations cached in memory and on disk


def derivation(build):
    """Cache what ``build(*args)`` derives: in memory for the session, and on disk across sessions.

    ``build`` returns lambdified functions, SymPy objects and plain data, nested in tuples, lists and dicts. A
    cached result replays the formulas the first build read (``read_during`` stays right for the failure report),
    and its disk key holds their LaTeX as it stands now: a formula edited in a note misses the cache.
    """
    memory: dict[tuple, tuple[object, list[str]]] = {}

    @functools.wraps(build)
    def cached(*args):
        if args not in memory:
            memory[args] = _load_or_build(build, args)
        value, reads = memory[args]
        for formula_id in reads:
            _note_read(formula_id)
        return value

    return cached


def _recipe(build, args: tuple) -> str:
    source = Path(sys.modules[build.__module__].__file__).read_bytes() + Path(__file__).read_bytes()
    text = repr((build.__module__, build.__qualname__, args, sympy.__version__)).encode() + source
    return hashlib.sha256(text).hexdigest()[:32]


def _latex_key(recipe: str, reads: list[str]) -> str | None:
    known = formulas()
    if any(i not in known for i in reads):
        return None
    text = json.dumps([recipe, [(i, known[i].latex) for i in reads]], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _load_or_build(build, args: tuple) -> tuple[object, list[str]]:
    folder = CACHE_DIR[0]
    recipe = _recipe(build, args) if folder else ""
    if folder and (folder / f"{recipe}.json").exists():
        reads = json.loads((folder / f"{recipe}.json").read_text(encoding="utf-8"))
        key = _latex_key(recipe, reads)
        if key and (folder / f"{key}.pickle").exists():
            try:
                return pickle.loads((folder / f"{key}.pickle").read_bytes()), reads
            except Exception:  # noqa: BLE001 - a damaged cache entry is rebuilt, never trusted
                pass
    _RECORDING.append([])
    try:
        value = build(*args)
    finally:
        reads = _RECORDING.pop()  # _note_read gave them to the outer derivations being built, too
    key = _latex_key(recipe, reads) if folder else None
    if key:
        data = _dumps(value)
        if data is not None:
            _write(folder / f"{key}.pickle", data)
            _write(folder / f"{recipe}.json", json.dumps(reads).encode())
    return value, reads


def _write(path: Path, data: bytes) -> None:
    """Write whole or not at all: two workers may build the same derivation at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


@functools.cache
def _numpy_namespace() -> dict:
    """The names a function made by ``sympy.lambdify(..., "numpy")`` may use."""
    return dict(sympy.lambdify([], 0, "numpy").__globals__)


def _relambdify(source: str, imported: dict):
    namespace = {**_numpy_namespace(), **imported}
    exec(compile(source, "<cached sympy derivation>", "exec"), namespace)  # noqa: S102 - source lambdify wrote
    return namespace["_lambdifygenerated"]


class _Pickler(pickle.Pickler):
    """Pickles a lambdified function as its source, plus what lambdify imported for it beyond NumPy's namespace
    (``functools.reduce`` for ``Max``), which pickle stores by reference."""

    def reducer_override(self, obj):
        if callable(obj) and getattr(obj, "__name__", "") == "_lambdifygenerated":
            base = _numpy_namespace()
            imported = {n: obj.__globals__[n] for n in obj.__code__.co_names if n not in base}
            return _relambdify, (inspect.getsource(obj), imported)
        return NotImplemented


def _dumps(value) -> bytes | None:
    buffer = io.BytesIO()
    try:
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    except (pickle.PicklingError, TypeError, AttributeError, KeyError, OSError):
        return None  # not cacheable: built again next session
    return buffer.getvalue()
