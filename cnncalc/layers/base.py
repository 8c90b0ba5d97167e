"""The layer protocol shared by every layer family, declarative arguments, and the registry.

A layer is built from validated spec arguments, then `bind`s to its input shapes once per analysis
(normalising per-axis arguments for the input's rank) and answers questions about itself:
output shape, weight shapes, MACs, FLOPs, receptive-field window, pixels dropped. It never prints.
Shapes exclude the batch: (C, *spatial), or (F,) for a flat vector.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import prod
from typing import Any, ClassVar, Dict, List, Optional, Sequence, Tuple

from ..errors import Location, ShapeError, SpecError
from ..source import did_you_mean

Shape = Tuple[int, ...]
REQUIRED = object()
AXIS_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
MAX_DIM = 1 << 31  # any one dimension
MAX_ELEMENTS = 1 << 48  # any one tensor, without the batch


@dataclass(frozen=True)
class Arg:
    """One spec argument: its name, kind (how it is validated), default and one-line doc."""

    name: str
    kind: str  # int, int0, float, float0, bool, axes, axes0, padding, size, choice, str
    default: Any = REQUIRED
    doc: str = ""
    choices: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Weight:
    """A weight array a layer owns: its shape and whether it is learnable (else a buffer)."""

    shape: Tuple[int, ...]
    learnable: bool = True

    @property
    def size(self) -> int:
        return prod(self.shape)


@dataclass(frozen=True)
class Window:
    """How one layer maps positions along one spatial axis, for receptive fields (Araujo et al., Distill 2019).

    Output unit j is centred at input coordinate `scale * j + offset` and reads `span + 1` consecutive input units.
    An ordinary window of effective size K, stride s and left padding p: scale s, offset (K - 1)/2 - p, span K - 1.
    """

    scale: Fraction
    offset: Fraction
    span: int


GLOBAL = "global"  # a layer whose every output sees the whole input (global pooling, dense)


class Layer:
    """Base of all layers: subclasses declare `type`, `args` and override what differs from a pointwise op."""

    type: ClassVar[str] = ""
    aliases: ClassVar[Tuple[str, ...]] = ()
    args: ClassVar[Tuple[Arg, ...]] = ()
    shorthand: ClassVar[Optional[str]] = None  # the argument a scalar value stands for (`dense: 10`)
    inputs: ClassVar[Tuple[int, Optional[int]]] = (1, 1)  # min and max number of inputs (None: any)
    flops_per_element: ClassVar[int] = 0  # FLOPs per output element, for simple element-wise layers
    doc: ClassVar[str] = ""

    def __init__(self, values: Dict[str, Any], locs: Dict[str, Location], loc: Location):
        self.loc = loc
        self.arg_locs = locs
        self.values = values
        for name, value in values.items():
            setattr(self, name, value)
        self.ins: List[Shape] = []  # input shapes, set by bind()
        self.shape: Shape = ()  # output shape, set by bind()

    # -- construction ------------------------------------------------------------------------------
    @classmethod
    def create(cls, raw: Any, raw_locs: Dict[str, Location], loc: Location) -> "Layer":
        """Validate spec arguments (already variable-substituted) and build the layer."""
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            if cls.shorthand is None:
                raise SpecError(f"'{cls.type}' takes a mapping of arguments, not {raw!r}", loc, hint=cls.usage())
            raw_locs = {cls.shorthand: loc}
            raw = {cls.shorthand: raw}
        known = {a.name: a for a in cls.args}
        values = {}
        for key, value in raw.items():
            if key not in known:
                hint = did_you_mean(key, known) or cls.usage()
                raise SpecError(f"'{cls.type}' has no argument '{key}'", raw_locs.get(key, loc), hint=hint)
            values[key] = check_arg(cls.type, known[key], value, raw_locs.get(key, loc))
        for arg in cls.args:
            if arg.name not in values:
                if arg.default is REQUIRED:
                    raise SpecError(f"'{cls.type}' needs argument '{arg.name}'", loc, hint=cls.usage())
                values[arg.name] = arg.default
        layer = cls(values, {k: raw_locs.get(k, loc) for k in values}, loc)
        layer.validate()
        return layer

    @classmethod
    def usage(cls) -> str:
        parts = [a.name if a.default is REQUIRED else f"{a.name}={a.default!r}" for a in cls.args]
        return f"{cls.type}: {{{', '.join(parts)}}}" if parts else f"'{cls.type}' takes no arguments"

    def validate(self) -> None:
        """Cross-argument checks that need no input shape."""

    def where(self, arg: Optional[str] = None) -> Location:
        return self.arg_locs.get(arg, self.loc) if arg else self.loc

    def error(self, message: str, arg: Optional[str] = None, hint: Optional[str] = None) -> ShapeError:
        return ShapeError(message, self.where(arg), hint)

    # -- analysis -----------------------------------------------------------------------------------
    def bind(self, ins: Sequence[Shape]) -> Shape:
        """Accept the input shapes, normalise per-axis arguments, and return the output shape."""
        low, high = self.inputs
        if len(ins) < low or (high is not None and len(ins) > high):
            want = f"{low}" if low == high else f"at least {low}"
            raise self.error(f"'{self.type}' takes {want} input(s), got {len(ins)}")
        self.ins = list(ins)
        shape = tuple(self.output_shape(self.ins))
        check_shape(shape, self)
        self.shape = shape
        return shape

    def output_shape(self, ins: List[Shape]) -> Shape:
        return ins[0]

    def weights(self) -> Dict[str, Weight]:
        return {}

    def macs(self) -> int:
        """Multiply-accumulates of the conv/dense kind (0 for every other layer), per sample."""
        return 0

    def flops(self) -> int:
        """Floating-point operations per sample, by the rules in the README."""
        return self.flops_per_element * prod(self.shape)

    def window(self):
        """Receptive-field effect: None (pointwise), GLOBAL, or one `Window` per spatial axis."""
        return None

    def dropped(self) -> Optional[Tuple[int, ...]]:
        """Input rows/columns per spatial axis that no window reaches (floor division at the edge)."""
        return None

    def forward(self, xs, weights):
        """NumPy forward for one batch; `weights` maps the names of `weights()` to arrays."""
        raise NotImplementedError(f"no NumPy forward for '{self.type}'")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        return f"{self.type}({args})"


# -- argument validation ----------------------------------------------------------------------------
def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_arg(layer: str, arg: Arg, value: Any, loc: Location) -> Any:
    """Validate one argument value against its kind; return it normalised (lists become tuples)."""
    kind = arg.kind
    what = f"'{layer}' argument '{arg.name}'"

    def bad(expected: str, hint: Optional[str] = None):
        return SpecError(f"{what} must be {expected}, got {value!r}", loc, hint)

    def int_hint():
        return "wrap the expression in int(...) or round(...)" if isinstance(value, float) else None

    if kind in ("int", "int0"):
        low = 1 if kind == "int" else 0
        if not _is_int(value) or value < low:
            raise bad("a positive integer" if low else "a non-negative integer", int_hint())
        return value
    if kind in ("float", "float0"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind == "float0" and value < 0):
            raise bad("a number" if kind == "float" else "a non-negative number")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if kind == "choice":
        if value not in arg.choices:
            raise bad("one of " + ", ".join(arg.choices), did_you_mean(value, arg.choices))
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise bad("a string")
        return value
    if kind in ("axes", "axes0", "size"):
        low = 0 if kind == "axes0" else 1
        items = value if isinstance(value, (list, tuple)) else [value]
        if not items or not all(_is_int(v) and v >= low for v in items) or len(items) > 3:
            raise bad("a positive integer or a list of 1-3 (one per spatial axis)" if low else
                      "a non-negative integer or a list of 1-3 (one per spatial axis)", int_hint())
        return tuple(value) if isinstance(value, (list, tuple)) else value
    if kind == "padding":
        if value in ("same", "valid"):
            return value
        if _is_int(value) and value >= 0:
            return value
        if isinstance(value, (list, tuple)) and 0 < len(value) <= 3:
            if all(_is_int(v) and v >= 0 for v in value):
                return tuple(value)
            if all(isinstance(v, (list, tuple)) and len(v) == 2 and all(_is_int(p) and p >= 0 for p in v) for v in value):
                return tuple(tuple(v) for v in value)
        raise bad("a non-negative integer, a list per axis, a list of [before, after] pairs, 'same' or 'valid'")
    raise AssertionError(f"unknown argument kind {kind}")  # pragma: no cover - a bug in a layer declaration


def check_shape(shape: Shape, layer: Layer) -> None:
    if any(d < 1 for d in shape):
        raise layer.error(f"'{layer.type}' output shape {list(shape)} has an empty dimension")
    if any(d > MAX_DIM for d in shape) or prod(shape) > MAX_ELEMENTS:
        raise layer.error(f"'{layer.type}' output shape {list(shape)} is absurdly large (limit {MAX_ELEMENTS:,} elements)")


# -- per-axis geometry: the one place the size formula lives -----------------------------------------
def per_axis(layer: Layer, arg: str, rank: int) -> Tuple[int, ...]:
    """An int or a per-axis list, as a tuple with one entry per spatial axis."""
    value = getattr(layer, arg)
    if isinstance(value, tuple):
        if len(value) != rank:
            raise layer.error(
                f"'{layer.type}' argument '{arg}' has {len(value)} entries but the input has {rank} spatial "
                f"{'axes' if rank != 1 else 'axis'} ({', '.join(AXIS_NAMES[rank])})", arg)
        return value
    return (value,) * rank


def spatial_rank(layer: Layer, shape: Shape, what: str = "a [C, L], [C, H, W] or [C, D, H, W] input") -> int:
    rank = len(shape) - 1
    if rank not in AXIS_NAMES:
        hint = "this input is flat; spatial layers come before `flatten`" if rank == 0 else None
        raise layer.error(f"'{layer.type}' needs {what}, got {list(shape)}", hint=hint)
    return rank


def window_count(n: int, k: int, s: int, lo: int, hi: int, d: int = 1, ceil_mode: bool = False) -> Tuple[int, int]:
    """(number of window positions, input units dropped at the far edge) along one axis.

    out = floor((N + P_lo + P_hi - D(F-1) - 1) / S) + 1; in ceil mode the last partial window counts too,
    as long as it starts inside the input or its left padding (PyTorch's rule). Dropped units are input
    units (not padding) past the last window's last tap.
    """
    span = n + lo + hi - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1  # rounds towards −∞, as PyTorch's div_rtn
    if ceil_mode and (out - 1) * s >= n + lo:
        out -= 1
    if out < 1:
        return 0, 0
    return out, max(0, n + lo - 1 - ((out - 1) * s + d * (k - 1)))


def window_formula(n: int, k: int, s: int, lo: int, hi: int, d: int = 1) -> str:
    """The size formula with the numbers filled in, for error messages."""
    f = d * (k - 1) + 1
    pad = f"2·{lo}" if lo == hi else f"{lo} + {hi}"
    dil = f" (F = {d}·({k} − 1) + 1)" if d != 1 else ""
    value = (n + lo + hi - f) // s + 1
    return f"(N + 2P − F) / S + 1 = ({n} + {pad} − {f}) / {s} + 1 = {value}{dil}"


def same_padding(n: int, k: int, s: int, d: int) -> Tuple[int, int]:
    """Padding that makes out = ceil(N / S); the odd unit goes at the end (TensorFlow's and PyTorch's rule)."""
    out = -(-n // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


# -- registry ----------------------------------------------------------------------------------------
REGISTRY: Dict[str, type] = {}


def register(cls: type) -> type:
    for name in (cls.type, *cls.aliases):
        if name in REGISTRY:
            raise AssertionError(f"layer name '{name}' registered twice")  # pragma: no cover
        REGISTRY[name] = cls
    return cls
