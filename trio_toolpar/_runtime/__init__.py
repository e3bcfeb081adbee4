"""The runtime: executors, turns, and each call's way from ready to outcome, on Trio."""
