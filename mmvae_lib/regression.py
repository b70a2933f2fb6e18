"""Regression checks of trained numbers: compared with a stored reference, within a measured tolerance.

nbval compares the notebooks' checked cells byte for byte. That suits what the computation guarantees on
any machine: configurations, sizes, data descriptions, table layouts. A number that comes out of training
is only guaranteed on the same machine (:mod:`mmvae_lib.numerics`): on another CPU other kernels round
differently and training amplifies the difference. The notebooks therefore hand such numbers, in named
groups, to :func:`check`, which compares them with the reference stored for the profile and prints one
line that nbval can compare: which group, how many values, within which tolerance. A value outside its
tolerance, or one without a reference, raises :class:`RegressionError`, so a regressed notebook fails
under papermill and nbval alike.

References live in ``notebooks/references/<profile>.json`` (``$MMVAE_REFERENCES`` moves the folder):

    {"values": {group: {name: value}}, "tolerances": {group: tolerance}, "measurement": {...}}

Only the ``smoke`` profile, the one CI runs, has a reference. Each group's tolerance is measured, not
guessed (:func:`measure`): the smoke notebooks run in this machine's environment and in environments
that stand in for other CPUs (ATen, oneDNN and MKL restricted to older instruction sets), and the
tolerance is :data:`SAFETY` times the largest deviation from this machine's values seen in the group,
and at least the group's resolution (:data:`FLOORS`). ``python -m mmvae_lib.regression update`` copies
the values of the last smoke run into the reference: ``make notebooks`` re-executes the notebooks with
``MMVAE_REGRESSION_UPDATE=1`` (their values become the reference, so the checks pass and print the lines
nbval will compare) and then updates. ``python -m mmvae_lib.regression measure`` re-measures the
tolerances.

Emulated instruction sets do not reach every difference between real CPUs (an Intel Xeon trained the
smoke SVHN judge 2.7 points away from the AMD EPYC reference, where the emulations had moved it 0.4).
``python -m mmvae_lib.regression compare`` (``make compare-machine``), run on another real machine, adds
how far that machine lies from the reference to the measurement, under ``other_machines``, and widens the
tolerances to cover it by the same rule. Re-measuring a group drops the other machines' comparisons of
it: they were taken against the replaced values.
"""
from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from mmvae_lib.paths import NOTEBOOKS_DIR, REPO_ROOT, output_dir

VALUES_FILE = "regression_values.json"   # what a run handed to check(), under outputs/<profile>/
UPDATE_MODE = "MMVAE_REGRESSION_UPDATE"  # "1" while `make notebooks` re-executes the notebooks to store them
SAFETY = 2.0                             # tolerance = SAFETY × the largest deviation measured in the group

# The finest step of each kind of value: a tolerance is never below it. Accuracies and coherences are in
# percent of a few hundred items (one item of 256 is 0.39 points); bounds and likelihoods in nats.
FLOORS = {"percent": 0.5, "nats": 0.05, "ratio": 0.005}

# Environments that stand in for other CPUs when measuring (this machine's own environment comes first).
ENVIRONMENTS = {
    "this machine": {},
    "AVX2-only CPU": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "SSE4.1-only CPU, MKL compatible path": {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41",
                                             "MMVAE_MKL_CBWR": "COMPATIBLE,STRICT"},
}


class RegressionError(AssertionError):
    """A trained number outside its stored reference's tolerance, or without a reference."""


def references_dir() -> Path:
    env = os.environ.get("MMVAE_REFERENCES")
    return Path(env) if env else NOTEBOOKS_DIR / "references"


def reference_path(profile: str) -> Path:
    return references_dir() / f"{profile}.json"


def load_reference(profile: str) -> dict | None:
    path = reference_path(profile)
    return json.loads(path.read_text()) if path.exists() else None


def _record(profile: str, group: str, values: Mapping[str, float], kind: str) -> None:
    path = output_dir(profile) / VALUES_FILE
    recorded = json.loads(path.read_text()) if path.exists() else {}
    recorded[group] = {"kind": kind, "values": dict(values)}
    path.write_text(json.dumps(recorded, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def check(profile: str, group: str, values: Mapping[str, float], *, kind: str) -> None:
    """Compare ``values`` (name → number) with the ``profile``'s reference for ``group``; record them in
    ``outputs/<profile>/regression_values.json``; print one line fit for nbval.

    ``kind`` is one of :data:`FLOORS` (the unit). Raises :class:`RegressionError` when a value lies outside
    the group's tolerance or has no reference. A profile without a reference file only records.
    """
    if kind not in FLOORS:
        raise ValueError(f"kind must be one of {sorted(FLOORS)}, got {kind!r}")
    values = {str(name): float(value) for name, value in values.items()}
    bad = [name for name, value in values.items() if not math.isfinite(value)]
    if bad:
        raise RegressionError(f"{group}: not a finite number: {bad}")
    _record(profile, group, values, kind)
    reference = load_reference(profile)
    if reference is None:
        print(f"regression check {group}: {len(values)} values recorded (no stored reference for profile {profile!r})")
        return
    stored = reference["values"].get(group)
    tolerance = reference["tolerances"].get(group)
    if os.environ.get(UPDATE_MODE) == "1":
        # `make notebooks` is storing this run's values as the new reference: they are the reference
        if tolerance is None:
            raise RegressionError(f"{group}: no measured tolerance in {reference_path(profile)}; run "
                                  f"`make tolerances` first")
        stored = values
    missing = "the group" if stored is None or tolerance is None else sorted(set(values) - set(stored))
    if missing:
        raise RegressionError(f"{group}: no stored reference for {missing} in {reference_path(profile)}; run "
                              f"`make notebooks` to store the current values (`make tolerances` for a new group)")
    outside = {name: (value, stored[name]) for name, value in values.items()
               if abs(value - stored[name]) > tolerance}
    if outside:
        lines = "\n".join(f"  {name}: {value:.4f}, reference {ref:.4f} (difference {value - ref:+.4f})"
                          for name, (value, ref) in outside.items())
        raise RegressionError(f"{group}: {len(outside)} of {len(values)} values outside ±{tolerance:g} {kind} of "
                              f"the {profile} reference:\n{lines}")
    print(f"regression check {group}: {len(values)} values within ±{tolerance:g} {kind} of the {profile} reference")


def check_table(profile: str, group: str, table, *, kind: str) -> None:
    """:func:`check` on a paper-versus-ours table (:func:`mmvae_lib.reporting.paper_vs_ours`): one value per
    row, named ``"<row> | <column>"``."""
    check(profile, group, {f"{row} | {column}": value
                                  for row, column, value in zip(table["row"], table["column"], table["value"])},
                 kind=kind)


# --- maintaining the references -------------------------------------------------------------------

def recorded_values(outputs_root: Path, profile: str) -> dict:
    path = Path(outputs_root) / profile / VALUES_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run the {profile} notebooks first")
    return json.loads(path.read_text())


def update(profile: str = "smoke", outputs_root: Path | None = None, *, merge: bool = False) -> Path:
    """Store the values of the last run (``outputs/<profile>/regression_values.json``) as the reference,
    keeping the measured tolerances. Groups without a tolerance get none (the check will say so). With
    ``merge``, groups the run did not record keep their stored values (a run of some notebooks only)."""
    from mmvae_lib.paths import outputs_root as default_root

    recorded = recorded_values(outputs_root or default_root(), profile)
    reference = load_reference(profile) or {"tolerances": {}, "measurement": {}}
    reference["profile"] = profile
    kinds = reference.get("kinds", {}) if merge else {}
    values = reference.get("values", {}) if merge else {}
    kinds.update({group: entry["kind"] for group, entry in recorded.items()})
    values.update({group: entry["values"] for group, entry in recorded.items()})
    reference["kinds"] = dict(sorted(kinds.items()))
    reference["values"] = dict(sorted(values.items()))
    path = reference_path(profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(reference, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    return path


def tolerances_from_runs(runs: Mapping[str, dict], reference: str) -> tuple[dict, dict]:
    """Per group: the largest |value − reference value| over the other runs, and the tolerance
    max(:data:`SAFETY` × that, the kind's floor). ``runs`` maps environment → recorded values."""
    base = runs[reference]
    deviations, tolerances = {}, {}
    for group, entry in base.items():
        worst = 0.0
        for name, value in entry["values"].items():
            for env, recorded in runs.items():
                if env != reference:
                    worst = max(worst, abs(recorded[group]["values"][name] - value))
        deviations[group] = worst
        tolerances[group] = tolerance_for(worst, entry["kind"])
    return deviations, tolerances


def tolerance_for(deviation: float, kind: str) -> float:
    """:data:`SAFETY` × ``deviation``, rounded up to a whole number of the kind's floor, at least the floor."""
    step = FLOORS[kind]
    return max(step, math.ceil(SAFETY * deviation / step) * step)


def machine_deviations(recorded: Mapping[str, dict], reference: Mapping) -> dict[str, float]:
    """Per group of the stored ``reference``: the largest |recorded − reference| over the names both have.
    Groups this run did not record (or recorded under other names only) are left out."""
    deviations = {}
    for group, stored in reference["values"].items():
        common = set(recorded.get(group, {}).get("values", {})) & set(stored)
        if common:
            deviations[group] = max(abs(recorded[group]["values"][name] - stored[name]) for name in common)
    return deviations


def tolerances_with_machines(reference: Mapping) -> dict[str, float]:
    """Each group's tolerance from every deviation measured for it: the environments standing in for other
    CPUs (``largest_deviation``) and each real machine compared with the reference (``other_machines``);
    never below the stored tolerance (a comparison widens tolerances, only re-measuring narrows them)."""
    measurement = reference.get("measurement", {})
    emulated = measurement.get("largest_deviation", {})
    machines = measurement.get("other_machines", {}).values()
    tolerances = {}
    for group, kind in reference["kinds"].items():
        worst = max([emulated.get(group, 0.0)] + [m["largest_deviation"].get(group, 0.0) for m in machines])
        tolerances[group] = max(reference.get("tolerances", {}).get(group, 0.0), tolerance_for(worst, kind))
    return tolerances


def cpu_name() -> str:
    """This machine's processor, as /proc/cpuinfo names it (``platform.processor()`` elsewhere)."""
    import platform

    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


SANITIZE_FILE = NOTEBOOKS_DIR / "nbval-sanitize.cfg"   # what `make test` tells nbval to leave out


def sanitize_patterns(path: Path = SANITIZE_FILE) -> list[tuple[str, str]]:
    """The (regex, replacement) pairs of nbval's sanitize file, read as nbval reads them."""
    return re.findall(r"^regex: (.*)$\n^replace: (.*)$", Path(path).read_text(), flags=re.MULTILINE)


def checked_outputs(notebook: Path) -> dict[int, str]:
    """What nbval compares in an executed notebook: the text output of each cell marked
    ``# NBVAL_CHECK_OUTPUT`` (streams, plain-text results, errors), by its index in the source notebook
    (the parameters cell papermill injects into a copy it executes is not counted). A cell's writes to one
    stream count as one output where the first was, as nbval coalesces them: how the kernel happened to
    flush them into outputs varies from run to run. Each text is sanitized as ``make test`` has nbval do
    (:data:`SANITIZE_FILE`)."""
    import nbformat

    patterns = sanitize_patterns()

    out = {}
    cells = [c for c in nbformat.read(notebook, as_version=4).cells
             if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    for i, cell in enumerate(cells):
        if cell.cell_type != "code" or "NBVAL_CHECK_OUTPUT" not in cell.source:
            continue
        parts, streams = [], {}
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                if output.name not in streams:
                    streams[output.name] = len(parts)
                    parts.append(f"[{output.name}] ")
                parts[streams[output.name]] += output.text
            elif output.output_type in ("execute_result", "display_data"):
                parts.append(output.get("data", {}).get("text/plain", ""))
            elif output.output_type == "error":
                parts.append(f"[error] {output.ename}: {output.evalue}")
        text = "".join(parts)
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        out[i] = text
    return out


def differing_checked_cells(root_a: Path, root_b: Path, profile: str) -> list[str]:
    """The checked cells whose outputs differ between two runs' executed notebooks (``notebook#cell``)."""
    differ = []
    for book in sorted((Path(root_a) / profile / "notebooks").glob("*.ipynb")):
        a, b = checked_outputs(book), checked_outputs(Path(root_b) / profile / "notebooks" / book.name)
        differ += [f"{book.name}#{i}" for i in sorted(set(a) | set(b)) if a.get(i) != b.get(i)]
    return differ


def run_notebooks(profile: str, outputs_root: Path, env: Mapping[str, str], only=None) -> dict:
    """Execute every numbered notebook with papermill in a fresh process with ``env`` added, writing
    under ``outputs_root`` (its own data folder too: the stand-ins are generated afresh in ``env``) and
    checking against no reference (only recording); return the values they handed to :func:`check`."""
    no_references = Path(outputs_root) / "no-references"
    no_references.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, **env, "MMVAE_OUTPUTS": str(outputs_root), "MMVAE_REFERENCES": str(no_references),
                "MMVAE_DATA": str(Path(outputs_root) / "data")}
    command = [sys.executable, "-m", "mmvae_lib.paper", "--profile", profile] + (["--only", *only] if only else [])
    subprocess.run(command, env=full_env, check=True, cwd=REPO_ROOT)
    return recorded_values(outputs_root, profile)


def merge_unstable(old: Mapping[str, list[str]], new: Mapping[str, list[str]], only) -> dict[str, list[str]]:
    """The checked cells that differ per environment (``notebook#cell``) after measuring the notebooks named
    by the prefixes ``only``: theirs as measured now (a cell that no longer differs is dropped), every other
    notebook's as measured before."""
    def measured_now(cell: str) -> bool:
        return cell.split("#")[0].startswith(tuple(only))
    return {env: sorted({c for c in old.get(env, []) if not measured_now(c)} | set(cells)) for env, cells in new.items()}


def measure(profile: str = "smoke", only=None) -> Path:
    """Run the notebooks in each of :data:`ENVIRONMENTS`, store this machine's values as the reference
    and each group's tolerance from the spread (see the module docstring). ``only`` (notebook name
    prefixes) measures those notebooks' groups and keeps every other group's reference and tolerance."""
    runs, unstable = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        roots = {}
        for env_name, env in ENVIRONMENTS.items():
            print(f"[measure] running the {profile} notebooks: {env_name} {env}", flush=True)
            roots[env_name] = Path(tmp) / f"env{len(roots)}"
            runs[env_name] = run_notebooks(profile, roots[env_name], env, only)
        reference_env = next(iter(ENVIRONMENTS))
        for env_name, root in roots.items():
            if env_name != reference_env:
                unstable[env_name] = differing_checked_cells(roots[reference_env], root, profile)
        deviations, tolerances = tolerances_from_runs(runs, reference_env)
        path = update(profile, roots[reference_env], merge=bool(only))
    reference = load_reference(profile)
    old = reference.get("measurement", {})
    machines = drop_remeasured(old.get("other_machines", {}), runs[reference_env], only)
    if only:
        deviations = {**old.get("largest_deviation", {}), **deviations}
        tolerances = {**reference.get("tolerances", {}), **tolerances}
        unstable = merge_unstable(old.get("checked_cells_that_differ", {}), unstable, only)
    reference["tolerances"] = dict(sorted(tolerances.items()))
    reference["measurement"] = {"environments": ENVIRONMENTS, "largest_deviation": dict(sorted(deviations.items())),
                                "safety_factor": SAFETY, "floors": FLOORS,
                                "checked_cells_that_differ": unstable, "other_machines": machines}
    path.write_text(json.dumps(reference, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    for group in sorted(tolerances):
        print(f"{group}: largest deviation {deviations[group]:.4g} → tolerance {tolerances[group]:g}")
    for env_name, cells in unstable.items():
        print(f"checked cells whose output differs under {env_name!r}: {cells or 'none'}")
    return path


def drop_remeasured(machines: Mapping[str, dict], measured: Mapping[str, dict], only) -> dict[str, dict]:
    """Other machines' comparisons after re-measuring the groups ``measured`` (all groups when ``only`` is
    empty): those groups' deviations were taken against the replaced reference values, so they are dropped
    (compare on that machine again); the rest are kept."""
    kept = {}
    for label, machine in machines.items():
        deviations = {g: d for g, d in machine["largest_deviation"].items() if only and g not in measured}
        if deviations:
            kept[label] = {**machine, "largest_deviation": deviations}
        dropped = sorted(set(machine["largest_deviation"]) - set(deviations))
        if dropped:
            print(f"[measure] {label}: its comparison of {len(dropped)} re-measured group(s) is dropped; "
                  f"run `make compare-machine` there again", flush=True)
    return kept


def compare_machine(profile: str = "smoke", label: str | None = None, only=None) -> tuple[Path, list[str]]:
    """Run the notebooks on this machine (a real other CPU, not an emulated one) and add how far its values
    lie from the stored reference to the reference's measurement, under ``label`` (this CPU's name by
    default); each group's tolerance grows to cover it (:func:`tolerances_with_machines`). Returns the
    reference's path and the notebook prefixes whose tolerances changed: their stored outputs print the
    tolerance, so they need re-executing in place (``make compare-machine`` does)."""
    import datetime

    reference = load_reference(profile)
    if reference is None:
        raise FileNotFoundError(f"no {profile} reference at {reference_path(profile)}: run `make tolerances` first")
    label = label or cpu_name()
    with tempfile.TemporaryDirectory() as tmp:
        recorded = run_notebooks(profile, Path(tmp) / "here", {}, only)
        differ = differing_checked_cells_of_stored(Path(tmp) / "here", profile)
    deviations = machine_deviations(recorded, reference)
    measurement = reference.setdefault("measurement", {})
    machines = measurement.setdefault("other_machines", {})
    previous = machines.get(label, {}).get("largest_deviation", {}) if only else {}
    machines[label] = {"cpu": cpu_name(), "compared": datetime.date.today().isoformat(),
                       "largest_deviation": dict(sorted({**previous, **deviations}.items())),
                       "checked_cells_that_differ": differ}
    before = dict(reference["tolerances"])
    reference["tolerances"] = dict(sorted(tolerances_with_machines(reference).items()))
    path = reference_path(profile)
    path.write_text(json.dumps(reference, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    changed = sorted(g for g in reference["tolerances"] if reference["tolerances"][g] != before.get(g))
    for group in sorted(deviations):
        note = f" → tolerance {before.get(group)} becomes {reference['tolerances'][group]:g}" if group in changed else ""
        print(f"{group}: deviation {deviations[group]:.4g} on {label}{note}")
    print(f"checked cells whose output differs from the stored notebooks on {label!r}: {differ or 'none'}")
    return path, sorted({group.split(" ")[0] for group in changed})


def differing_checked_cells_of_stored(root: Path, profile: str) -> list[str]:
    """The checked cells of a run under ``root`` whose outputs differ from the stored notebooks (``notebooks/``).
    The cells that only print :func:`check`'s line are left out: that run checked against no reference (so
    that it records values outside the tolerances too), and its values are compared as numbers instead."""
    differ = []
    for book in sorted((Path(root) / profile / "notebooks").glob("*.ipynb")):
        a, b = checked_outputs(NOTEBOOKS_DIR / book.name), checked_outputs(book)
        differ += [f"{book.name}#{i}" for i in sorted(set(a) | set(b))
                   if a.get(i) != b.get(i) and not _only_regression_lines(a.get(i, ""))]
    return differ


def _only_regression_lines(text: str) -> bool:
    lines = text.removeprefix("[stdout] ").splitlines()
    return bool(lines) and all(line.startswith("regression check ") for line in lines)


def main(argv=None) -> None:
    from mmvae_lib import arguments

    parser = arguments.parser(__doc__)
    parser.add_argument("command", choices=("update", "measure", "compare"))
    arguments.add_profile(parser, "smoke")
    parser.add_argument("--only", nargs="*", help="measure, compare: only the notebooks whose names start with these prefixes")
    parser.add_argument("--label", help="compare: the name this machine is recorded under (default: its CPU's name)")
    parser.add_argument("--changed-to", type=Path,
                        help="compare: write the prefixes of the notebooks whose tolerances changed to this file")
    args = parser.parse_args(argv)
    if args.command == "compare":
        path, changed = compare_machine(args.profile, args.label, args.only)
        if args.changed_to:
            args.changed_to.write_text(" ".join(changed))
    else:
        path = update(args.profile) if args.command == "update" else measure(args.profile, args.only)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
