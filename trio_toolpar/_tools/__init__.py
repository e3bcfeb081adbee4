"""Tools: what a user declares (`Registry`, `Tool`, retry and hedging options, rate-limit signals)."""
