"""Datasette plugins for the vexy catalog (browsing, health and config downloads).

Shared logic lives in :mod:`vexy_catalog`; the plugin modules here stay thin.
"""
