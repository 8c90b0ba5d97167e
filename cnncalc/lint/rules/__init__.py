"""The design rules: `shape` (CNN1xx, the shape loses or cannot hold information) and `cost` (CNN2xx, cost
without benefit), with the helpers they share in `common`. Importing this package registers them."""
from . import shape, cost  # noqa: F401  (registration, CNN1xx first)
