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
    keys = {key for entry in schema["$defs"]["entry"]["anyOf"][2:] for key in entry.get("required", [])}
    assert set(REGISTRY) <= keys


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
