"""Run the real counting tools on a cnncalc network built as a torch module, and read back what each reports.

Each runner takes (model, network, x) — `model = cnncalc.torch.build(network).eval()`, `x` a batch — and returns
(totals, per_layer): the tool's totals by the metric keys of `cnncalc.conventions.CONVENTIONS[name]`, and
{layer name: {metric: value}} for the metrics the tool reports per layer (leaf modules only). Used by
tests/test_conventions_tools.py and benchmarks/bench_conventions.py. calflops 0.3.2 imports transformers,
huggingface_hub and accelerate in its package __init__ for its Hugging Face entry point; its counter for plain
modules (calflops.flops_counter, calflops.calculate_pipline) needs none of them, so the package is entered without
running that __init__.
"""
from __future__ import annotations

import importlib.util
import io
import logging
import os
import sys
import types
import warnings


def _paths(network):
    from cnncalc.torch import module_paths

    return module_paths(network)  # {layer name: submodule path}


def fvcore(model, network, x):
    from fvcore.nn import FlopCountAnalysis, parameter_count

    logging.getLogger("fvcore").setLevel(logging.ERROR)
    f = FlopCountAnalysis(model, x)
    f.unsupported_ops_warnings(False)
    f.uncalled_modules_warnings(False)
    by_module = f.by_module()
    counts = parameter_count(model)
    layers = {name: {"flops": by_module[path], "params": counts.get(path, 0)} for name, path in _paths(network).items()}
    return {"flops": f.total(), "params": counts[""]}, layers


def _ptflops(backend):
    def run(model, network, x):
        from ptflops import get_model_complexity_info

        macs, params = get_model_complexity_info(model, tuple(x.shape[1:]), as_strings=False, backend=backend,
                                                 print_per_layer_stat=False, verbose=False,
                                                 input_constructor=lambda _: x)
        return {"macs": macs, "params": params}, {}
    return run


ptflops_aten = _ptflops("aten")


def ptflops(model, network, x):
    """Totals from the public call; per layer, what its per-layer table shows: each module's hook count."""
    import torch
    from ptflops.pytorch_engine import add_flops_counting_methods

    totals, _ = _ptflops("pytorch")(model, network, x)
    counting = add_flops_counting_methods(model)
    counting.start_flops_count(ost=io.StringIO(), verbose=False, ignore_list=[])
    with torch.no_grad():
        counting(x)
    layers, batches = {}, counting.__batch_counter__
    for name, path in _paths(network).items():
        m = model.get_submodule(path)  # its table prints __flops__ / the batch (pytorch_engine.py:124-126)
        layers[name] = {"module_macs": int(getattr(m, "__flops__", 0) / batches),
                        "params": sum(p.numel() for p in m.parameters())}
    counting.stop_flops_count()
    totals["module_macs"] = sum(v["module_macs"] for v in layers.values())
    return totals, layers


def thop(model, network, x):
    import thop as _thop

    ops, params, tree = _thop.profile(model, (x,), verbose=False, ret_layer_info=True)
    layers = {}
    for name, path in _paths(network).items():
        node = (0, 0, tree)
        for part in path.split("."):
            node = node[2][part]
        layers[name] = {"macs": int(node[0]), "params": int(node[1])}
    return {"macs": int(ops), "params": int(params)}, layers


def torchinfo(model, network, x):
    import torchinfo as _torchinfo

    stats = _torchinfo.summary(model, input_data=x, verbose=0)
    by_module = {id(layer.module): layer for layer in stats.summary_list}
    layers = {}
    for name, path in _paths(network).items():
        info = by_module[id(model.get_submodule(path))]
        layers[name] = {"mult_adds": info.macs, "params": info.num_params}
    return {"mult_adds": stats.total_mult_adds, "params": stats.total_params,
            "forward_backward_bytes": stats.total_output_bytes, "params_bytes": stats.total_param_bytes}, layers


def torchscan(model, network, x):
    from torchscan.crawler import crawl_module

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info = crawl_module(model, tuple(x.shape[1:]))
    by_path = {layer["path"]: layer for layer in info["layers"]}
    layers = {}
    for name, path in _paths(network).items():
        metrics = by_path[path]["metrics"]
        layers[name] = {"flops": metrics["module_flops"]["known_value"], "macs": metrics["macs"]["known_value"],
                        "params": by_path[path]["parameters"]["trainable"] + by_path[path]["parameters"]["frozen"]}
    t = info["totals"]
    return {"flops": t["module_flops"]["known_value"], "macs": t["macs"]["known_value"],
            "params": t["parameters"]["value"]}, layers


def _calflops_package():
    """calflops without its __init__ (which imports transformers): a bare package object over its directory."""
    if "calflops.flops_counter" not in sys.modules:
        spec = importlib.util.find_spec("calflops")
        if spec is None:
            raise ImportError("calflops is not installed")
        if "calflops" not in sys.modules:
            package = types.ModuleType("calflops")
            package.__path__ = [os.path.dirname(spec.origin)]
            package.__spec__ = spec  # so that find_spec("calflops") still answers
            sys.modules["calflops"] = package
    return importlib.import_module("calflops.calculate_pipline")


def calflops(model, network, x):
    import torch

    pipeline = _calflops_package().CalFlopsPipline(model=model, include_backPropagation=False, compute_bp_factor=2.0)
    pipeline.start_flops_calculate(ignore_list=None)
    with torch.no_grad():
        model(x)
    layers = {}
    for name, path in _paths(network).items():
        m = model.get_submodule(path)
        layers[name] = {"flops": int(m.__flops__), "macs": int(m.__macs__), "params": int(m.__params__)}
    totals = {"flops": pipeline.get_total_flops(), "macs": pipeline.get_total_macs(),
              "params": pipeline.get_total_params()}
    pipeline.end_flops_calculate()
    return totals, layers


RUNNERS = {"fvcore": (fvcore, "fvcore"), "ptflops": (ptflops, "ptflops"), "ptflops-aten": (ptflops_aten, "ptflops"),
           "thop": (thop, "thop"), "torchinfo": (torchinfo, "torchinfo"), "torchscan": (torchscan, "torchscan"),
           "calflops": (calflops, "calflops")}  # convention → (runner, the module that must be importable)
