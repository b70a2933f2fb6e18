"""Paper-versus-ours tables: mean ± std over seeds beside the published number, saved as CSV.

Every table has the columns ``row, column, paper, value, std, n_seeds, data`` (``paper`` empty where the
paper has no number; ``data`` says which data produced the value: real, or the offline stand-in).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from mmvae_lib.paths import artefact_name, output_dir

COLUMNS = ["row", "column", "paper", "value", "std", "n_seeds", "data"]


def paper_vs_ours(results: Mapping[tuple[str, str], Sequence[float]], paper: Mapping[tuple[str, str], float],
                  data: str) -> pd.DataFrame:
    """One row per ``(row, column)`` of ``results`` (a list of values, one per seed), in their order."""
    if not data:
        raise ValueError("data must say which data produced the numbers (e.g. 'real' or 'offline stand-in')")
    rows = []
    for (row, column), values in results.items():
        values = [float(v) for v in values]
        if not values:
            raise ValueError(f"no values for ({row!r}, {column!r})")
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
        rows.append({"row": row, "column": column, "paper": paper.get((row, column), float("nan")),
                     "value": mean, "std": std, "n_seeds": len(values), "data": data})
    return pd.DataFrame(rows, columns=COLUMNS)


def save_table(table: pd.DataFrame, profile: str, name: str) -> Path:
    """Write ``outputs/<profile>/tables/<name>.csv`` (values rounded to 4 decimals) and return its path; ``name``
    is ``NN_<what>`` (:func:`mmvae_lib.paths.artefact_name`). A dry run's table gets a ``run`` column saying so."""
    from mmvae_lib.training.trainer import dry_run_label

    path = output_dir(profile, "tables") / f"{artefact_name(name)}.csv"
    if dry_run_label():                     # a dry run's numbers say so wherever they go
        table = table.assign(run=dry_run_label())
    table.round(4).to_csv(path, index=False)
    return path


def show(table: pd.DataFrame, decimals: int = 2) -> str:
    """The table as fixed-precision text, ``value ± std`` beside ``paper``, for printing in notebooks; one seed's
    value alone (one seed has no spread to show)."""
    def fmt(x):
        return "" if pd.isna(x) else f"{x:.{decimals}f}"

    view = pd.DataFrame({
        "row": table["row"], "column": table["column"], "paper": table["paper"].map(fmt),
        "ours": [fmt(v) if n == 1 else f"{fmt(v)} ± {fmt(s)}"
                 for v, s, n in zip(table["value"], table["std"], table["n_seeds"], strict=True)],
        "seeds": table["n_seeds"],
    })
    return view.to_string(index=False)
