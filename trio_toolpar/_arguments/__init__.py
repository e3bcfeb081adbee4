"""Arguments: JSON schemas, their quick checks, structuring into Python types, and references in argument values."""
