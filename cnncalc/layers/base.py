"""The layer protocol: a layer is an immutable, validated configuration that answers one pure question.

    layer = REGISTRY["conv"].create({"out": 64, "kernel": 3}, {}, loc)   # arguments checked once, then frozen
    facts = layer.infer([(3, 224, 224)])                                  # → Facts: output, weights, MACs, …

`infer` never changes the layer: analysing one network at two input sizes, or from two threads, needs no copies.
Everything an analysis learns about a layer is in its `Facts`; runtime, torch bridge, lint and renderers read those.
Shapes exclude the batch: (C, *spatial), or (F,) for a flat vector. Costs are per sample.

What kind of layer it is (weighted, pooling, pass-through, a merge, a nonlinearity, a norm that centres its input)
is declared on the class, so rules and comparisons ask the layer instead of listing type names.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod
from types import MappingProxyType
from typing import Any, ClassVar, Dict, Mapping, Optional, Sequence, Tuple, Union

from ..errors import Location, ShapeError, SpecError, did_you_mean, shown
from .args import Arg, Invalid
from .geometry import GLOBAL, Geometry, Shape, Window

MAX_DIM = 1 << 31  # any one dimension
MAX_ELEMENTS = 1 << 48  # any one tensor, without the batch

WindowEffect = Union[None, str, Tuple[Window, ...]]  # None: pointwise; GLOBAL; or one Window per spatial axis


@dataclass(frozen=True, slots=True)
class Weight:
    """A weight array a layer owns: its shape and whether it is learnable (else a buffer)."""

    shape: Tuple[int, ...]
    learnable: bool = True

    @property
    def size(self) -> int:
        return prod(self.shape)


@dataclass(frozen=True, slots=True)
class Facts:
    """What one layer is on given input shapes: the answer of `Layer.infer`. Costs are per sample (no batch).

    `window` is the layer's receptive-field effect; `dropped` the input units per spatial axis that no window
    reaches (None when every unit is read); `geometry` the normalised window arguments of sliding-window layers.
    """

    inputs: Tuple[Shape, ...]
    output: Shape
    weights: Mapping[str, Weight]
    macs: int = 0
    flops: int = 0
    window: WindowEffect = None
    dropped: Optional[Tuple[int, ...]] = None
    geometry: Optional[Geometry] = None

    @property
    def params(self) -> int:
        return sum(w.size for w in self.weights.values() if w.learnable)

    @property
    def buffers(self) -> int:
        return sum(w.size for w in self.weights.values() if not w.learnable)


EMPTY: Mapping[str, Any] = MappingProxyType({})  # shared by every layer without arguments and facts without weights
NO_WEIGHTS: Mapping[str, Weight] = EMPTY

# Identical argument values are shared by the layers that have them (a 10,000-layer chain has a few distinct ones),
# so there are fewer objects to keep and the analysis can recognise identical layers by this one object.
_SHARED_VALUES: Dict[tuple, Mapping[str, Any]] = {}
_MAX_SHARED = 4096  # distinct argument sets kept; beyond it the table starts afresh


def _shared_values(cls: type, values: Mapping[str, Any]) -> Mapping[str, Any]:
    """A read-only copy of `values`, the same object for every layer of `cls` with the same typed values."""
    if not values:
        return EMPTY
    items = tuple(values.items())
    types_ = tuple(map(type, values.values()))  # 1 and 1.0 (and True) are equal, but they are other values here
    if float in types_:  # -0.0 == 0.0, yet each prints as itself
        items = tuple((k, repr(v)) if type(v) is float else (k, v) for k, v in items)
    key = (cls, items, types_)
    try:
        shared = _SHARED_VALUES.get(key)
    except TypeError:  # an unhashable value (only a hand-made layer can have one): nothing to share
        return MappingProxyType(dict(values))
    if shared is None:
        if len(_SHARED_VALUES) >= _MAX_SHARED:
            _SHARED_VALUES.clear()
        shared = _SHARED_VALUES[key] = MappingProxyType(dict(values))
    return shared


class Layer:
    """Base of all layers: subclasses declare `type`, `args` and their kind, and override `_infer`.

    The default `_infer` is a pointwise op: the output is the input's shape, `flops_per_element` FLOPs per element.
    """

    type: ClassVar[str] = ""
    aliases: ClassVar[Tuple[str, ...]] = ()
    args: ClassVar[Tuple[Arg, ...]] = ()
    shorthand: ClassVar[Optional[str]] = None  # the argument a scalar value stands for (`dense: 10`)
    inputs: ClassVar[Tuple[int, Optional[int]]] = (1, 1)  # min and max number of inputs (None: any)
    flops_per_element: ClassVar[int] = 0  # FLOPs per output element, for simple element-wise layers
    doc: ClassVar[str] = ""  # one line for `cnncalc schema`
    flops_rule: ClassVar[str] = ""  # the README's FLOP rule for this type, per sample (a test keeps them in step)

    # what kind of layer it is: rules and comparisons read these, never lists of type names
    weighted: ClassVar[bool] = False  # multiply-accumulates with learned weights (conv, conv_transpose, dense)
    pooling: ClassVar[bool] = False  # slides a window over each channel (max, avg, median pooling)
    pass_through: ClassVar[bool] = False  # changes nothing a rule looks at (dropout, identity)
    nonlinear: ClassVar[bool] = False  # an activation
    centres: ClassVar[bool] = False  # subtracts a mean per channel, so a bias right before it cancels (batch norm)

    __slots__ = ("loc", "_arg_locs", "values")

    def __init__(self, values: Mapping[str, Any], arg_locs: Mapping[str, Location], loc: Location):
        object.__setattr__(self, "loc", loc)
        object.__setattr__(self, "_arg_locs", dict(arg_locs) if arg_locs else EMPTY)  # a private copy, never changed
        object.__setattr__(self, "values", _shared_values(type(self), values))

    @property
    def arg_locs(self) -> Mapping[str, Location]:
        """Where each argument was given (an argument left at its default: where the layer is), read-only.

        The view is made when asked for (only error messages ask), not kept with every layer."""
        locs = self._arg_locs
        return locs if locs is EMPTY else MappingProxyType(locs)

    def __getattr__(self, name: str) -> Any:  # a layer's arguments read as attributes: `conv.out`, `pool.kernel`
        try:
            return object.__getattribute__(self, "values")[name]
        except KeyError:
            raise AttributeError(f"'{self.type}' has no argument {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"layers are immutable: cannot set {name!r} on '{self.type}'")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"layers are immutable: cannot delete {name!r} from '{self.type}'")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.values == self.values  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), tuple(self.values.items())))

    def __reduce__(self):  # copy and pickle by the constructor (the slots are read-only)
        return (type(self), (dict(self.values), dict(self._arg_locs), self.loc))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        return f"{self.type}({args})"

    # -- construction ------------------------------------------------------------------------------
    @classmethod
    def create(cls, raw: Any, raw_locs: Mapping[str, Location], loc: Location) -> "Layer":
        """Validate spec arguments (already variable-substituted) and build the layer."""
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            if cls.shorthand is None:
                raise SpecError(f"'{cls.type}' takes a mapping of arguments, not {shown(raw)}", loc, hint=cls.usage())
            raw_locs = {cls.shorthand: loc}
            raw = {cls.shorthand: raw}
        if not raw and not cls.args:  # nothing to check (relu, flatten, …)
            layer = cls(EMPTY, EMPTY, loc)
            layer.validate()
            return layer
        known = _arg_index(cls)
        checked = {}
        for key, value in raw.items():
            arg = known.get(key)
            if arg is None:
                hint = did_you_mean(key, known) or cls.usage()
                raise SpecError(f"'{cls.type}' has no argument '{key}'", raw_locs.get(key, loc), hint=hint)
            try:
                checked[key] = arg.kind.check(value)
            except Invalid as e:
                raise SpecError(f"'{cls.type}' argument '{key}' must be {e.expected}, got {shown(value)}",
                                raw_locs.get(key, loc), e.hint) from None
        values = {}  # in the order the class declares its arguments
        for arg in cls.args:
            name = arg.name
            if name in checked:
                values[name] = checked[name]
            elif arg.required:
                raise SpecError(f"'{cls.type}' needs argument '{name}'", loc, hint=cls.usage())
            else:
                values[name] = arg.default
        locs = {name: raw_locs.get(name, loc) for name in checked}  # where each was given; the defaults: the layer's
        for name in values:
            if name not in checked:
                locs[name] = loc
        layer = cls(values, locs, loc)
        layer.validate()
        return layer

    @classmethod
    def usage(cls) -> str:
        parts = [a.name if a.required else f"{a.name}={a.default!r}" for a in cls.args]
        return f"{cls.type}: {{{', '.join(parts)}}}" if parts else f"'{cls.type}' takes no arguments"

    def validate(self) -> None:
        """Cross-argument checks that need no input shape."""

    def where(self, arg: Optional[str] = None) -> Location:
        return self._arg_locs.get(arg, self.loc) if arg else self.loc

    def error(self, message: str, arg: Optional[str] = None, hint: Optional[str] = None) -> ShapeError:
        return ShapeError(message, self.where(arg), hint)

    # -- analysis -----------------------------------------------------------------------------------
    def infer(self, ins: Sequence[Shape]) -> Facts:
        """This layer's facts on these input shapes; raises `ShapeError` when it cannot take them."""
        ins = tuple(tuple(s) for s in ins)
        low, high = self.inputs
        if len(ins) < low or (high is not None and len(ins) > high):
            want = f"{low}" if low == high else f"at least {low}"
            raise self.error(f"'{self.type}' takes {want} input(s), got {len(ins)}")
        return self._infer(ins)

    def _infer(self, ins: Tuple[Shape, ...]) -> Facts:
        return self.facts(ins, ins[0])

    def facts(self, ins: Tuple[Shape, ...], output: Sequence[int], weights: Optional[Dict[str, Weight]] = None,
              macs: int = 0, flops: Optional[int] = None, window: WindowEffect = None,
              geometry: Optional[Geometry] = None, dropped: Optional[Tuple[int, ...]] = None) -> Facts:
        """The Facts record, with the output shape checked; FLOPs default to `flops_per_element` per output."""
        output = tuple(output)
        if any(d < 1 for d in output):
            raise self.error(f"'{self.type}' output shape {list(output)} has an empty dimension")
        if any(d > MAX_DIM for d in output) or prod(output) > MAX_ELEMENTS:
            raise self.error(f"'{self.type}' output shape {list(output)} is absurdly large (limit {MAX_ELEMENTS:,} elements)")
        return Facts(ins, output, MappingProxyType(weights) if weights else NO_WEIGHTS, macs,
                     self.flops_per_element * prod(output) if flops is None else flops, window,
                     dropped if dropped and any(dropped) else None, geometry)


_ARG_INDEX: Dict[type, Tuple[Tuple[Arg, ...], Dict[str, Arg]]] = {}


def _arg_index(cls: type) -> Dict[str, Arg]:
    """A layer class's arguments by name (made once per class, again if its `args` are replaced)."""
    found = _ARG_INDEX.get(cls)
    if found is None or found[0] is not cls.args:
        found = _ARG_INDEX[cls] = (cls.args, {a.name: a for a in cls.args})
    return found[1]


# -- registry ----------------------------------------------------------------------------------------
REGISTRY: Dict[str, type] = {}


def register(cls: type) -> type:
    for name in (cls.type, *cls.aliases):
        if name in REGISTRY:
            raise AssertionError(f"layer name '{name}' registered twice")  # pragma: no cover
        REGISTRY[name] = cls
    return cls


def types() -> Dict[str, type]:
    """Every layer type once (no aliases), by its spec name."""
    return {cls.type: cls for cls in REGISTRY.values()}


__all__ = ["GLOBAL", "MAX_DIM", "MAX_ELEMENTS", "REGISTRY", "Facts", "Geometry", "Layer", "Shape", "Weight", "Window",
           "register", "types"]
