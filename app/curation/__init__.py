"""Curation tools for hub staff: likely duplicates, merges, the verified flag, stale profiles.

Duplicates: candidate pairs come from any strong signal (similar names after dropping legal
forms, the same website domain, nearly equal profile vectors); each pair is scored from all
signals, including the same postal code and city. A merge moves competences and relationships
into the kept organisation, re-points references to the merged one and keeps a snapshot of
the merged profile in `organization_merges`.
"""
