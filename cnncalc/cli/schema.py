"""`cnncalc schema`: the spec language's JSON Schema, for editors with YAML support."""
from __future__ import annotations

import json

import click


@click.command()
def schema():
    """Print the JSON Schema of the spec language (generated from the layer registry).

    Save it and point your editor's YAML support at it with a modeline at the top of a spec.

    \b
    Example:
      cnncalc schema > cnncalc.schema.json
      # yaml-language-server: $schema=cnncalc.schema.json
    """
    from ..spec.schema import spec_schema

    click.echo(json.dumps(spec_schema(), indent=2))
