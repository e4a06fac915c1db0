"""Fresco's Feast feature repository: definitions, catalog policy and feature-group pipelines."""
