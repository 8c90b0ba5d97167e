"""`cnncalc schema`: a valid JSON Schema that accepts every bundled spec, refuses bad ones, and is shipped current."""
import json
from pathlib import Path

import pytest
import yaml

from cnncalc.layers import REGISTRY
from cnncalc.spec.schema import spec_schema
from cnncalc.spec.zoo import ZOO_DIR
from conftest import SPECS_DIR

jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).parents[1]
SHIPPED = ROOT / "cnncalc" / "schema" / "cnncalc.schema.json"  # in the package; ./schema links to it
README = ROOT / "README.md"


def spec_files():
    """Every YAML network spec in the repository (zoo, comparison sets, test specs): mappings with `layers:`."""
    specs = []
    for path in sorted([*ZOO_DIR.rglob("*.yaml"), *SPECS_DIR.glob("*.yaml")]):
        data = yaml.safe_load(path.read_text())
        if isinstance(data, dict) and "layers" in data:
            specs.append(pytest.param(data, id=str(path.relative_to(ROOT))))
    return specs


@pytest.fixture(scope="module")
def validator():
    schema = spec_schema()
    jsonschema.Draft202012Validator.check_schema(schema)  # the schema itself is valid draft 2020-12
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("spec", spec_files())
def test_bundled_specs_validate(validator, spec):
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(spec)]
    assert not errors, "\n".join(errors)


def test_readme_spec_validates(validator):
    text = README.read_text().split("```yaml\n", 1)[1].split("```", 1)[0]
    validator.validate(yaml.safe_load(text))


def test_language_forms_validate(validator):
    validator.validate(yaml.safe_load("""
input: [3, $size, 32]
vars: {size: 32}
blocks:
  b: {args: {out: null}, layers: [conv: {out: $out, kernel: 3}]}
  plain: [relu]
layers:
  - relu
  - conv: {out: 8, kernel: [1, 7], padding: [[0, 0], [3, 3]], name: c, id: c}
  - maxpool: 2
  - dense: $classes
  - b: 8
  - plain
  - repeat: 2
    as: i
    layers: [conv: {out: '${8 * i + 8}', kernel: 1}]
  - residual: {body: [bn], merge: concat}
  - parallel: {branches: [{name: left, layers: [relu]}, [identity]], merge: add}
    trainable: false
  - add: {from: [c, input]}
  - residual: {body: [relu], merge: concat, order: [input, body], if: '${in.channels == 8}', when: true}
  - group: [relu, bn]
    name: head
  - group: {name: tail, layers: [relu]}
"""))


@pytest.mark.parametrize("bad, path", [
    ("input: [3, 8, 8]\nlayers: [conv: {out: 8, kernal: 3}]\n", ["layers", 0]),  # unknown argument
    ("input: [3, 8, 8]\nlayers: [conv: {out: true, kernel: 3}]\n", ["layers", 0]),  # bool for an int
    ("input: [3, 8, 8]\nlayers: [conv: {out: 0, kernel: 3}]\n", ["layers", 0]),  # zero size
    ("input: [3, 8, 8]\nlayers: [conv: {kernel: 3}]\n", ["layers", 0]),  # missing `out`
    ("input: [3, 8, 8]\nlayers: [upsample: {scale: 2, mode: cubic}]\n", ["layers", 0]),  # not a choice
    ("input: [3, 8, 8]\nlayer: [relu]\n", []),  # unknown top-level key, no `layers`
    ("layers: [relu]\n", []),  # no input
])
def test_bad_specs_are_refused(validator, bad, path):
    errors = list(validator.iter_errors(yaml.safe_load(bad)))
    assert errors and list(errors[0].absolute_path) == path


def test_every_layer_type_and_alias_is_in_the_schema():
    schema = spec_schema()
    assert set(schema["$defs"]["args"]) == {cls.type for cls in REGISTRY.values()}
    keys = set()
    for entry in schema["$defs"]["layer"]["anyOf"]:
        keys |= set(entry.get("required", [])) | {k for alt in entry.get("oneOf", []) for k in alt["required"]}
    assert keys == set(REGISTRY)


def test_shipped_schema_is_current():
    generated = json.dumps(spec_schema(), indent=2) + "\n"
    assert SHIPPED.read_text() == generated, \
        "cnncalc/schema/cnncalc.schema.json is stale: regenerate it with " \
        "`cnncalc schema > cnncalc/schema/cnncalc.schema.json`"


def test_the_schema_ships_inside_the_package():
    # setup.cfg's package_data names it relative to the package, so an installed cnncalc (a wheel) carries it;
    # the repository's ./schema is a link for the README's modeline
    import configparser

    data = configparser.ConfigParser()
    data.read(ROOT / "setup.cfg")
    patterns = [p.strip() for p in data["options.package_data"]["cnncalc"].split(",")]
    package = ROOT / "cnncalc"
    assert SHIPPED in {f for p in patterns for f in package.glob(p)}
    assert (ROOT / "schema" / "cnncalc.schema.json").resolve() == SHIPPED.resolve()


# -- what the schema refuses, and that cnncalc refuses it too --------------------------------------------------
def cnncalc_refuses(text: str) -> bool:
    import cnncalc
    from cnncalc.errors import SpecError

    try:
        cnncalc.load(text)
    except SpecError:
        return True
    return False


BLOCKS = "blocks:\n  unit: [conv: {out: 8, kernel: 3}, relu]\n"


@pytest.mark.parametrize("layers", [
    "- rleu",                          # transposed letters
    "- relu6x",                        # an added letter
    "- convv: {out: 8, kernel: 3}",    # an added letter, with arguments
    "- dens: 10",                      # a dropped letter
    "- mxpool: 2",                     # a dropped letter
    "- upsample",                      # takes `scale` or `size`
    "- upsample: {scale: 2, size: 4}",  # not both
    "- upsample: {mode: bilinear}",    # not neither
    "- dropout: 1.5",                  # a probability
    "- dropout: {p: 1.01}",
    "- scale",                         # needs its factor
    "- conv",                          # needs out and kernel
])
@pytest.mark.parametrize("blocks", ["", BLOCKS], ids=["no-blocks", "blocks"])
def test_misspellings_and_out_of_range_values_are_refused(validator, layers, blocks):
    text = f"input: [3, 8, 8]\n{blocks}layers:\n  {layers}\n"
    assert list(validator.iter_errors(yaml.safe_load(text))), text
    assert cnncalc_refuses(text)  # the schema refuses only what cnncalc refuses


def test_a_block_name_in_a_spec_without_blocks_is_refused(validator):
    text = "input: [3, 8, 8]\nlayers:\n  - unit\n"  # accepted below, where `unit` is declared
    assert list(validator.iter_errors(yaml.safe_load(text))) and cnncalc_refuses(text)


@pytest.mark.parametrize("layers", [
    "- dropout", "- dropout: 1", "- dropout: {p: 0}", "- upsample: 2", "- upsample: {size: [4, 4]}",
    "- fc: 10", "- linear: {out: 10}", "- gap", "- batchnorm", "- swish", "- cat: {from: [input, input]}",
    "- unit", "- unit: {name: u}", "- conv_bn: 8", "- dense2",  # block names (declared below)
])
def test_valid_forms_are_accepted(validator, layers):
    text = ("input: [3, 8, 8]\nblocks:\n  unit: [relu]\n  conv_bn: {args: {c: null}, layers: [conv: {out: $c, kernel: 1}]}\n"
            "  dense2: [identity]\nlayers:\n  " + layers + "\n")
    validator.validate(yaml.safe_load(text))
    assert not cnncalc_refuses(text)


def test_a_block_named_like_a_misspelling_is_flagged_but_works():
    """The documented limit: the schema cannot see declared block names, so a block one letter away from a layer
    type is taken for a misspelling by editors, while cnncalc accepts it."""
    text = "input: [3, 8, 8]\nblocks:\n  rleu: [relu]\nlayers:\n  - rleu\n"
    assert list(jsonschema.Draft202012Validator(spec_schema()).iter_errors(yaml.safe_load(text)))
    assert not cnncalc_refuses(text)


def test_every_validate_rule_is_described():
    """A layer class that checks more in `validate()` than its arguments' kinds needs a VALIDATE_RULES entry."""
    from cnncalc.layers.base import Layer
    from cnncalc.spec.schema import VALIDATE_RULES

    validating = {cls.type for cls in REGISTRY.values() if cls.validate is not Layer.validate}
    assert validating == set(VALIDATE_RULES)


def test_bare_layers_are_described_by_what_they_take():
    bare = {c["const"]: c["description"] for c in spec_schema()["$defs"]["layer"]["anyOf"] if "const" in c}
    assert bare["relu"] == "max(x, 0) (no arguments)"
    assert bare["dropout"] == "dropout (identity at inference) (arguments optional: p=0.5)"
    assert "upsample" not in bare and "conv" not in bare and "scale" not in bare
    # a required argument anywhere means no bare form
    assert all(not any(a.required for a in REGISTRY[name].args) for name in bare)


def test_aliases_are_accepted_but_suggested_once():
    """Editors suggest an object's `properties`: each layer type once, under its own name; aliases are patterns."""
    suggested = [k for entry in spec_schema()["$defs"]["layer"]["anyOf"] for k in entry.get("properties", {})
                 if k in REGISTRY]
    assert sorted(suggested) == sorted({cls.type for cls in REGISTRY.values()})


def test_top_level_keys_are_described():
    props = spec_schema()["properties"]
    assert all(props[k].get("description") for k in props)
