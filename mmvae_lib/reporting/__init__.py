"""Reporting: paper-versus-ours tables (:mod:`tables`) and figures (:mod:`figures`), written under
``outputs/<profile>/``."""
