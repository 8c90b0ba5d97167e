"""The analysis engine: totals, memory (all activations and the peak live set), batch and dtype, folding rows,
partial analyses, and the public Python API."""
from pathlib import Path

import pytest

import cnncalc
from cnncalc.core.analysis import DTYPE_BYTES

# A small branching net. Elements per tensor: input 2·4·4 = 32; a 4·4·4 = 64; b 32; c 32; cat 64; sum 64;
# pool 4; flat 4; fc 3; norm 3.
BRANCHY = """
name: branchy
input: [2, 4, 4]
layers:
  - conv: {out: 4, kernel: 3, padding: 1, id: a}
  - conv: {out: 2, kernel: 1, id: b}
  - conv: {out: 2, kernel: 3, padding: 1, from: a, id: c}
  - concat: {from: [b, c], id: cat}
  - add: {from: [a, cat]}
  - global_avgpool
  - flatten
  - dense: 3
  - bn
"""


def test_branchy_counts(analyze):
    a = analyze(BRANCHY)
    t = a.totals
    assert [i.name for i in a.layers] == ["conv1", "conv2", "conv3", "concat1", "add1", "global_avgpool1",
                                         "flatten1", "dense1", "bn1"]
    # a: 4·2·9 + 4 = 76; b: 2·4·1 + 2 = 10; c: 2·4·9 + 2 = 74; dense: 3·4 + 3 = 15; bn: 2·3 = 6
    assert t.params == 76 + 10 + 74 + 15 + 6 == 181
    assert t.trainable_params == 181
    assert t.buffers == 6  # bn running mean and variance
    # a: 64 outputs · 2 · 9 = 1152; b: 32 · 4 · 1 = 128; c: 32 · 4 · 9 = 1152; dense: 4 · 3 = 12
    assert t.macs == 1152 + 128 + 1152 + 12 == 2444
    # conv: 2·MACs + bias adds (a 64, b 32, c 32); concat 0; add 64; gap reads 64; dense 2·12 + 3; bn 2·3
    assert t.flops == (2304 + 64) + (256 + 32) + (2304 + 32) + 0 + 64 + 64 + 0 + 27 + 6 == 5153
    assert t.output == (3,)
    assert t.layers == 9
    # invariant: every column sums to its total
    for column in ("params", "buffers", "macs", "flops"):
        assert sum(getattr(i, column) for i in a.layers) == getattr(t, column)


# Bytes at float32 (×4): input 128; a 256; b 128; c 128; cat 256; sum 256; pool 16; flat 16; fc 12; norm 12.
# Live set in graph order (a layer's inputs and its output are live while it runs; freed after the last reader):
#   start        {input}                 128
#   a            {input, a}              384  → input freed → 256
#   b            {a, b}                  384
#   c            {a, b, c}               512
#   cat          {a, b, c, cat}          768  ← peak → b, c freed → 512
#   sum          {a, cat, sum}           768  → a, cat freed → 256
#   pool         {sum, pool}             272  → 16
#   flat         {pool, flat}             32  → 16
#   fc           {flat, fc}               28  → 12
#   norm         {fc, norm}               24  → 12 (the output is kept)
@pytest.mark.parametrize("dtype, size", [("float32", 4), ("float16", 2), ("bfloat16", 2), ("int8", 1)])
def test_memory_by_dtype(analyze, dtype, size):
    t = analyze(BRANCHY, dtype=dtype).totals
    assert DTYPE_BYTES[dtype] == size
    assert t.param_bytes == 181 * size
    assert t.buffer_bytes == 6 * size
    assert t.input_bytes == 32 * size
    assert t.activation_bytes == (64 + 32 + 32 + 64 + 64 + 4 + 4 + 3 + 3) * size == 270 * size
    assert t.peak_activation_bytes == 192 * size  # 768 bytes at float32 = 192 elements


def test_batch_scales_costs_and_activations_not_params(analyze):
    a1, a3 = analyze(BRANCHY), analyze(BRANCHY, batch=3)
    t = a3.totals
    assert t.params == 181 and t.param_bytes == 724  # weights do not depend on the batch
    assert t.macs == 3 * 2444 and t.flops == 3 * 5153
    assert t.input_bytes == 3 * 128
    assert t.activation_bytes == 3 * 1080
    assert t.peak_activation_bytes == 3 * 768
    assert [i.output for i in a3.layers] == [i.output for i in a1.layers]  # shapes exclude the batch
    assert a3.layers[0].activation_bytes == 3 * 256


def test_peak_counts_an_unread_branch_only_while_it_is_made(analyze):
    # conv2 (a dead end: nothing reads it and it is not the output) is freed right after it runs
    t = analyze("""
input: [1, 8]
layers:
  - conv: {out: 4, kernel: 1, id: a}     # 32 elements
  - conv: {out: 100, kernel: 1}          # 800, never read
  - relu: {from: a}                      # 32
""", dtype="int8").totals
    # start 8; a: 8 + 32 = 40 → 32; dead end: 32 + 800 = 832 → 32; relu: 32 + 32 = 64 → 32
    assert t.peak_activation_bytes == 832
    assert t.activation_bytes == 32 + 800 + 32
    assert t.output == (4, 8)


def test_frozen_layers(analyze):
    a = analyze(BRANCHY.replace("- conv: {out: 4, kernel: 3, padding: 1, id: a}",
                                "- conv: {out: 4, kernel: 3, padding: 1, id: a, trainable: false}"))
    assert a.totals.trainable_params == 181 - 76
    assert a.layers[0].trainable is False and a.layers[1].trainable is True


def test_input_override(analyze):
    a = analyze(BRANCHY, input=(2, 8, 8))
    assert a.network.input == (2, 8, 8)
    assert a.layers[0].output == (4, 8, 8)
    assert a.totals.macs == 4 * 2444 - 3 * 12  # every conv scales with the 4× larger map; dense stays 12


def test_bad_batch_and_dtype():
    net = cnncalc.load(BRANCHY)
    with pytest.raises(ValueError, match="unknown dtype 'float64'"):
        net.analyze(dtype="float64")
    with pytest.raises(ValueError, match="batch must be at least 1, got 0"):
        net.analyze(batch=0)


def test_partial_analysis_stops_before_the_failing_layer(analyze):
    a = analyze("""
input: [3, 8, 8]
layers:
  - conv: {out: 4, kernel: 3}
  - relu
  - dense: 10
  - relu
""", ok=False)
    assert [i.name for i in a.layers] == ["conv1", "relu1"]
    assert a.totals is None and not a.ok
    assert a.error.message == "'dense' needs a flat input, got [4, 6, 6]"
    assert (a.error.loc.line, a.error.loc.col) == (6, 12)  # `dense: 10`: a shorthand layer points at its value
    assert "input: relu1 [4, 6, 6]" in a.error.hint


RESIDUAL = """
input: [4, 8, 8]
layers:
  - conv: {out: 4, kernel: 3, padding: 1}
  - repeat: 2
    layers:
      - residual:
          body:
            - conv: {out: 4, kernel: 3, padding: 1, bias: false}
            - relu
  - global_avgpool
"""


def test_rows_fold_by_depth(analyze):
    a = analyze(RESIDUAL)
    full = a.rows()
    assert [r.name for r in full] == [
        "conv1",
        "repeat1.1.residual1.body.conv1", "repeat1.1.residual1.body.relu1", "repeat1.1.residual1.add",
        "repeat1.2.residual1.body.conv1", "repeat1.2.residual1.body.relu1", "repeat1.2.residual1.add",
        "global_avgpool1"]
    assert [r.level for r in full] == [0, 3, 3, 3, 3, 3, 3, 0]  # enclosing groups: repeat, iteration, residual
    one = a.rows(depth=1)
    assert [(r.name, r.type, r.layers) for r in one] == [
        ("conv1", "conv", 1), ("repeat1", "repeat", 6), ("global_avgpool1", "global_avgpool", 1)]
    # a folded row sums its layers: two bias-free convs, 4·4·9 = 144 params and (4·8·8)·4·9 = 9216 MACs each
    assert (one[1].params, one[1].macs) == (288, 18_432)
    assert one[1].output == (4, 8, 8)
    two = a.rows(depth=2)
    assert [(r.name, r.layers) for r in two] == [("conv1", 1), ("repeat1.1", 3), ("repeat1.2", 3),
                                                 ("global_avgpool1", 1)]
    for rows in (full, one, two):
        assert sum(r.macs for r in rows) == a.totals.macs
        assert sum(r.activation_bytes for r in rows) == a.totals.activation_bytes


def test_layer_info_records_inputs_weights_and_location(analyze):
    a = analyze(BRANCHY)
    cat = a.layers[3]
    assert cat.inputs == ("conv2", "conv3")  # frozen: a tuple since the architecture step
    assert a.layers[0].inputs == ("input",)
    assert a.layers[0].weights == {"weight": (4, 2, 3, 3), "bias": (4,)}
    assert (cat.node.loc.file, cat.node.loc.line, cat.node.loc.col) == ("<string>", 8, 5)


# --- the public API ------------------------------------------------------------------------------

def test_load_from_path_text_and_vars(tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text("input: [3, 8, 8]\nvars: {w: 4}\nlayers:\n  - conv: {out: $w, kernel: 3}\n")
    for source in (str(spec), spec):
        net = cnncalc.load(source, vars={"w": 6}, input=(3, 10, 10))
        assert net.source == str(spec) and net.name == "net"
        assert net.analyze().totals.output == (6, 8, 8)  # (10 − 3)/1 + 1 = 8
    assert cnncalc.load(spec.read_text()).source == "<string>"


def test_load_zoo_name():
    specs = sorted(p.stem for p in (Path(cnncalc.__file__).parent / "specs").glob("*.yaml"))
    if not specs:
        pytest.skip("no bundled specs yet")
    net = cnncalc.load(specs[0])  # a bare name that is no file resolves to the bundled spec
    assert net.nodes and net.analyze().ok


def test_network_exposes_the_graph():
    net = cnncalc.load(BRANCHY)
    assert net.input == (2, 4, 4) and net.name == "branchy"
    assert net.nodes[0].inputs == (-1,)  # INPUT
    assert net.nodes[3].inputs == (1, 2)  # concat of b and c
    assert net.output == len(net.nodes) - 1
    assert net.schedule.readers_of(0) == (1, 2, 4)  # a feeds b, c and the sum


def test_loading_and_analysing_leave_the_garbage_collector_alone():
    # the loader builds no reference cycles worth pausing the GC for; a caller's GC setting is never touched
    import gc

    assert gc.isenabled()
    cnncalc.load(BRANCHY).analyze()
    assert gc.isenabled()
    with pytest.raises(cnncalc.SpecError):
        cnncalc.load("input: [3, 8, 8]\nlayers: [reluu]\n")
    assert gc.isenabled()
    gc.disable()
    try:
        cnncalc.load(BRANCHY).analyze()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_analysis_at_another_input_keeps_its_own_facts():
    # Facts belong to the analysis, never to the layer: both analyses share one layer object and stay true.
    net = cnncalc.load("input: [3, 32, 32]\nlayers:\n  - conv: {out: 8, kernel: 3, padding: same, stride: 2}\n")
    small = net.analyze()
    large = net.analyze(input=(3, 33, 33))
    assert small.layers[0].layer is large.layers[0].layer
    # 'same' with stride 2: 32 → 16 needs (16−1)·2 + 3 − 32 = 1 unit of padding (at the end); 33 → 17 needs 2 (1 + 1)
    assert small.layers[0].facts.geometry.pads == ((0, 1), (0, 1))
    assert large.layers[0].facts.geometry.pads == ((1, 1), (1, 1))
    assert small.layers[0].output == (8, 16, 16) and large.layers[0].output == (8, 17, 17)


def test_analysis_changes_nothing_it_can_reach():
    # The network's full description (every node, layer argument, group and variable) reads the same before and after
    # analyses at two inputs, batches and dtypes; interleaved analyses give the same figures as fresh ones.
    net = cnncalc.load("resnet18")
    before = repr(net), repr(net.schedule)
    a1 = net.analyze(batch=2)
    b = net.analyze(batch=3, dtype="float16", input=(3, 160, 160))
    a2 = net.analyze(batch=2)
    assert (repr(net), repr(net.schedule)) == before
    assert a1.totals == a2.totals and a1.layers == a2.layers
    fresh = cnncalc.load("resnet18").analyze(batch=3, dtype="float16", input=(3, 160, 160))
    assert b.totals == fresh.totals and [r.output for r in b.layers] == [r.output for r in fresh.layers]
    assert b.totals.macs != a1.totals.macs


def test_layers_refuse_changes():
    layer = cnncalc.load("input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 3}\n").nodes[0].layer
    with pytest.raises(AttributeError, match="immutable"):
        layer.out = 8
    assert layer.out == 4
