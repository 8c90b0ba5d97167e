"""Stage 1, the spec: YAML text → located nodes (`source`) → variables and expressions (`expr`) → an expanded,
frozen graph (`expand`, `graph`); plus the option parsers (`options`), the bundled zoo (`zoo`) and the JSON Schema
of the language (`schema`). Nothing here knows about shapes or costs."""
