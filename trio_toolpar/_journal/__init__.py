"""Durable turns: what a journal records of a turn, and the protocol a store implements."""
