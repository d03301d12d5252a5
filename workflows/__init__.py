"""Deterministic workflow code only: timers, signals, queries, fan-out."""
