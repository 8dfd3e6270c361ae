"""Reading runs for people: the runs table, one run's details and curves, comparisons.

The web pages and their REST twins both read through this package, never the store directly.
"""
