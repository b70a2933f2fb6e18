"""The run's report, generated from its outputs: the claims table, the results tables and the results figure.

    python -m mmvae_lib.report --profile cpu            # rewrite the generated parts of the README and the book
    python -m mmvae_lib.report --profile cpu --check    # exit 1 where they differ from what the outputs give

Everything here is read from ``outputs/<profile>/``: the claims and provenance from ``manifest.json``, the
numbers from ``tables/*.csv``. The README and the book's pages hold the generated text between markers
``<!-- report:NAME -->`` and ``<!-- /report:NAME -->``; nothing between them is written by hand, and
``tests/test_report.py`` fails when the committed README differs from what this module writes from the
committed outputs.

Claims are recorded by the notebooks with :func:`mmvae_lib.paper.claim` (``manifest["claims"]``). Runs made
before that recorded a bare verdict in ``manifest["records"]`` under ``"claim: …"`` or ``"NN claim: …"``; for
those, the notebook is the one whose executed copy holds the claim's text, and the paper's and our numbers are
not recorded.
"""
from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mmvae_lib import arguments
from mmvae_lib.paper import verdict_label
from mmvae_lib.paths import REPO_ROOT, output_dir

README = REPO_ROOT / "README.md"
BOOK_DIR = REPO_ROOT / "book"
GLANCE_FIGURE = "results_at_a_glance.png"   # in outputs/<profile>/figures: the one figure not named after a notebook
NOTEBOOK_LINK = "outputs/{profile}/notebooks/{name}"   # from the README: the run's executed copy

# the results pages: one per experiment, its notebooks and the paper-vs-ours tables its numbers are in
EXPERIMENTS = {
    "mnist_svhn": ("MNIST-SVHN (MMVAE paper)", ("03", "04", "05", "06"),
                   ("05_table1_latent_accuracy", "06_table2_coherence", "06_table3_likelihoods")),
    "cub": ("CUB images and captions (MMVAE paper)", ("07", "08"), ("08_table4_cub_correlation",)),
    "polymnist": ("PolyMNIST (MMVAE, MVAE, MoPoE)", ("09", "10"), ("10_polymnist_coherence_vs_subsets",)),
    "jnf_toy": ("JNF: the toy inference gap", ("11",), ("11_inference_gap_toy",)),
    "jnf_mnist_svhn": ("JNF on MNIST-SVHN", ("12",), ("12_coherence",)),
    "jnf_polymnist": ("JNF on PolyMNIST", ("13",), ("13_polymnist_jnf_coherence_vs_subsets",)),
    "mhd": ("MHD: image, sound and trajectory (JNF paper)", ("15",), ("15_mhd_coherence", "15_mhd_frechet")),
}
# the figure at a glance: per experiment, the table and rows whose paper-vs-ours values it draws
GLANCE = {
    "MNIST-SVHN coherence (Table 2)": ("06_table2_coherence", None),
    "PolyMNIST coherence": ("10_polymnist_coherence_vs_subsets", None),
    "JNF, MNIST-SVHN coherence": ("12_coherence", None),
    "JNF, PolyMNIST coherence": ("13_polymnist_jnf_coherence_vs_subsets", None),
    "MHD coherence (stand-in; authors' real-MHD logs)": ("15_mhd_coherence", None),
}


@dataclass(frozen=True)
class Claim:
    """One of the papers' claims as a notebook of the run checked it."""

    notebook: str                 # "06"
    text: str
    holds: bool
    ours: str | None = None
    paper: str | None = None
    verdict: str | None = None    # holds, fails or undecided (mmvae_lib.reporting.verdicts); None: recorded before


# --- reading a run ----------------------------------------------------------------------------------------

def load_manifest(profile: str, root: Path | None = None) -> dict:
    path = (Path(root) / profile if root else output_dir(profile, create=False)) / "manifest.json"
    if not path.exists():
        raise FileNotFoundError(f"no run of the {profile!r} profile: {path} is missing (make paper PROFILE={profile})")
    return json.loads(path.read_text())


def notebook_texts(profile: str, root: Path | None = None) -> dict[str, str]:
    """Each executed notebook of the run (``NN`` → its sources and text outputs, joined)."""
    import nbformat

    folder = (Path(root) / profile if root else output_dir(profile, create=False)) / "notebooks"
    texts = {}
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        parts = []
        for cell in nbformat.read(path, as_version=4).cells:
            parts.append(cell.source)
            for output in cell.get("outputs", []):
                parts.append(output.get("text", "") or output.get("data", {}).get("text/plain", ""))
        texts[path.name[:2]] = "\n".join(parts)
    return texts


def claims(manifest: dict, texts: dict[str, str]) -> list[Claim]:
    """The run's claims, by notebook: recorded ones (``manifest["claims"]``) and older bare verdicts."""
    found = [Claim(c["notebook"], c["claim"], bool(c["holds"]), c.get("ours"), c.get("paper"), c.get("verdict"))
             for c in manifest.get("claims", {}).values()]
    recorded = {c.notebook for c in found}          # a notebook run since: its older verdicts are stale
    for key, holds in manifest.get("records", {}).items():
        match = re.fullmatch(r"(?:(\d\d) )?claim[:_] ?(.*)", key)
        if not match or not isinstance(holds, bool):
            continue
        notebook, text = match.groups()
        notebook = notebook or _notebook_holding(text, texts)
        if notebook in recorded or notebook == "??":   # stale: no executed notebook makes this verdict any more
            continue
        found.append(Claim(notebook, text.replace("_", " ") if key.startswith("claim_") else text, holds))
    return sorted(found, key=lambda c: (c.notebook, c.text))


def _notebook_holding(text: str, texts: dict[str, str]) -> str:
    """The notebook whose executed copy holds ``text`` (or, for a record key, its last words)."""
    for candidate in (text, text.removeprefix("CUB "), "claim_" + text):
        holders = [n for n, body in texts.items() if candidate in body]
        if len(holders) == 1:
            return holders[0]
    return "??"


def provenance(manifest: dict) -> str:
    """Which run the numbers come from: profile, commits, device."""
    commits = sorted(set(manifest.get("notebook_commits", {}).values())) or [manifest.get("git_commit", "unknown")]
    run = manifest.get("wall_time_s", {})
    recorded = manifest.get("notebook_devices", {})
    devices = sorted(set(recorded.values())) or [manifest.get("device", "unknown")]
    unrecorded = len(set(run) - set(recorded)) if recorded else 0
    if unrecorded:
        devices.append(f"{unrecorded} notebooks run before devices were recorded")
    short = ", ".join(c[:7] + ("+dirty" if c.endswith("+dirty") else "") for c in commits)
    return f"the committed `{manifest.get('profile')}` run (commits {short}; {'; '.join(devices)})"


# --- writing ----------------------------------------------------------------------------------------------

def claims_table(found: list[Claim], link: str = NOTEBOOK_LINK, names: dict[str, str] | None = None) -> str:
    """The claims as a markdown table: verdict, claim, the paper's number and ours, the notebook."""
    names = names or {}
    lines = ["| verdict | claim | paper | ours | notebook |", "|---|---|---|---|---|"]
    for c in found:
        name = names.get(c.notebook)
        where = f"[{c.notebook}]({link.format(name=name)})" if name else c.notebook
        lines.append(f"| {verdict_label(c.verdict, c.holds)} | {_cell(c.text)} | {_cell(c.paper or '–')} "
                     f"| {_cell(c.ours or '–')} | {where} |")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def claims_summary(found: list[Claim], manifest: dict) -> str:
    held = sum(c.holds for c in found)
    undecided = sum(c.verdict == "undecided" for c in found)
    text = (f"{held} of {len(found)} claims hold" + (f", {undecided} undecided (this run cannot tell: still moving, or within noise)" if undecided else "")
            + f" on {provenance(manifest)}.")
    if any(c.ours is None for c in found):
        text += (" A dash: the run predates the notebooks' recording of the numbers behind each verdict; the "
                 "notebook prints them.")
    return text


def results_table(table: pd.DataFrame, digits: int = 1) -> str:
    """A paper-vs-ours table (``row, column, paper, value, std, n_seeds``) as markdown: one cell per (row, column),
    ``ours ± std (paper)``, the std left out for one seed."""
    columns = list(dict.fromkeys(table["column"]))
    rows = list(dict.fromkeys(table["row"]))
    cells = {}
    for r in table.itertuples(index=False):
        ours = f"{r.value:.{digits}f}"
        if getattr(r, "n_seeds", 1) and getattr(r, "n_seeds", 1) > 1 and pd.notna(r.std):
            ours += f" ± {r.std:.{digits}f}"
        if pd.notna(r.paper):
            ours += f" ({r.paper:g})"
        cells[(r.row, r.column)] = ours
    lines = ["| | " + " | ".join(map(_cell, map(str, columns))) + " |", "|---" * (len(columns) + 1) + "|"]
    for row in rows:
        lines.append(f"| {_cell(str(row))} | " + " | ".join(cells.get((row, c), "") for c in columns) + " |")
    return "\n".join(lines)


def read_table(profile: str, name: str, root: Path | None = None) -> pd.DataFrame | None:
    path = (Path(root) / profile if root else output_dir(profile, create=False)) / "tables" / f"{name}.csv"
    return pd.read_csv(path) if path.exists() else None


def experiment_page(key: str, profile: str, manifest: dict, found: list[Claim], names: dict[str, str],
                    root: Path | None = None) -> str:
    """The generated part of one experiment's results page: its claims, then its paper-vs-ours tables."""
    title, books, tables = EXPERIMENTS[key]
    mine = [c for c in found if c.notebook in books]
    parts = [f"Each cell is ours ± the spread over seeds, with the paper's number in brackets where it publishes "
             f"one. The numbers here and in the findings below come from these notebooks of the committed "
             f"`{profile}` run (`outputs/{profile}/manifest.json`):", ""]
    commits, devices = manifest.get("notebook_commits", {}), manifest.get("notebook_devices", {})
    for number in books:
        name = names.get(number)
        if name and name in manifest.get("wall_time_s", {}):
            commit = commits.get(name, manifest.get("git_commit", "unknown"))
            parts.append(f"- notebook {number}: commit `{commit[:7]}{'+dirty' if commit.endswith('+dirty') else ''}`, "
                         f"{devices.get(name, 'device not recorded')}, {manifest['wall_time_s'][name] / 60:.1f} min")
    parts.append("")
    if mine:
        parts += [claims_table(mine, "../notebooks/{name}", names), ""]
    for name in tables:
        table = read_table(profile, name, root)
        if table is not None and {"row", "column", "value", "paper"} <= set(table.columns):
            data = table["data"].iloc[0] if "data" in table.columns else ""
            digits = 3 if table["value"].abs().max() < 1 else 1       # correlations (Table 4) need their decimals
            parts += [f"**{name}** ({data})" if data else f"**{name}**", "", results_table(table, digits), ""]
    return "\n".join(parts).rstrip() + "\n"


def glance_figure(profile: str, path: Path, root: Path | None = None) -> Path:
    """One figure of the results at a glance: per experiment, our numbers against the paper's."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(title, read_table(profile, table, root)) for title, (table, _) in GLANCE.items()]
    panels = [(t, d.dropna(subset=["paper"])) for t, d in panels if d is not None and "paper" in d.columns]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.4), squeeze=False)
    for ax, (title, table) in zip(axes[0], panels):
        for row, points in table.groupby("row", sort=False):
            ax.scatter(points["paper"], points["value"], s=18, label=str(row).split(" (")[0])
        ax.legend(fontsize=7, loc="upper left", frameon=False)
        high = max(100.0, float(table[["paper", "value"]].max().max()))
        ax.plot([0, high], [0, high], color="grey", lw=0.8, ls="--")
        ax.set(title=title, xlabel="paper (%)", ylabel="ours (%)", xlim=(0, high), ylim=(0, high))
        ax.title.set_fontsize(9)
    fig.suptitle(f"Ours against the papers' numbers ({profile} profile, offline data): on the diagonal, reproduced",
                 fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path


# --- the end of a run --------------------------------------------------------------------------------------

def disk_usage(folder: Path) -> int:
    """Bytes under ``folder`` (0 if it does not exist)."""
    return sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file()) if Path(folder).exists() else 0


def run_summary(profile: str, before: list[Claim], ran: list[str], root: Path | None = None) -> str:
    """What ``make paper`` tells the user at the end: where the outputs are, the claims' verdicts (counted, and
    those that changed from ``before``, the run's claims when it started), the wall time of each notebook it
    ran (``ran``, their file names) and the disk its checkpoints take."""
    folder = Path(root) / profile if root else output_dir(profile)
    manifest = load_manifest(profile, root)
    after = claims(manifest, notebook_texts(profile, root))
    old = {(c.notebook, c.text): (c.holds, c.verdict) for c in before}
    changed = [c for c in after if (c.notebook, c.text) in old and old[(c.notebook, c.text)] != (c.holds, c.verdict)]
    new = [c for c in after if (c.notebook, c.text) not in old]
    lines = [f"Outputs: {folder} (notebooks/, tables/, figures/, manifest.json)",
             f"Claims: {sum(c.holds for c in after)} of {len(after)} hold"]
    lines += [f"  changed: {c.notebook} {c.text}: now {verdict_label(c.verdict, c.holds).strip('*')}" for c in changed]
    if new and before:
        lines.append(f"  {len(new)} claims not in the run before (reworded or new)")
    times = manifest.get("wall_time_s", {})
    lines.append("Wall time: " + ", ".join(f"{name[:2]} {times[name] / 60:.1f} min" for name in ran if name in times)
                 + f"; {sum(times.get(name, 0) for name in ran) / 60:.1f} min in all")
    lines.append(f"Checkpoints: {disk_usage(folder / 'checkpoints') / 1e9:.2f} GB in {folder / 'checkpoints'}")
    return "\n".join(lines)


# --- the generated blocks ---------------------------------------------------------------------------------

def blocks(profile: str, root: Path | None = None) -> dict[str, str]:
    """Every generated block by name: ``claims`` (the README's table and count) and ``results-<experiment>``."""
    manifest = load_manifest(profile, root)
    texts = notebook_texts(profile, root)
    found = claims(manifest, texts)
    names = {path.name[:2]: path.name for path in sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))}
    readme_link = NOTEBOOK_LINK.replace("{profile}", profile)
    out = {"claims": claims_summary(found, manifest) + "\n\n" + claims_table(found, readme_link, names) + "\n",
           "claims-book": claims_summary(found, manifest) + "\n\n" + claims_table(found, "notebooks/{name}", names) + "\n"}
    for key in EXPERIMENTS:
        out[f"results-{key}"] = experiment_page(key, profile, manifest, found, names, root)
    out["costs"] = costs(manifest) + "\n"
    out["grid-cost"] = grid_cost("full", root) + "\n"
    out["bf16"] = bf16_table() + "\n"
    out["step-floor"] = step_floor_table() + "\n"
    return out


STEP_FLOOR_RESULTS = REPO_ROOT / "benchmarks" / "results" / "step_floor_cpu.csv"
STEP_FLOOR_TARGET = 1.1    # issue 25: a step within 1.1x of its networks' floor


def step_floor_table(path: Path = STEP_FLOOR_RESULTS) -> str:
    """Each experiment's training step beside its floor, from ``benchmarks/step_floor.py``'s table."""
    if not path.exists():
        return ("(no measurement: run `python benchmarks/step_floor.py --profile cpu "
                "--out benchmarks/results/step_floor_cpu.csv` on an idle machine)")
    table = pd.read_csv(path)
    above = table[table["step_over_floor"] > STEP_FLOOR_TARGET]
    lines = [f"Measured on {table['machine'][0].removeprefix('cpu: ')} (medians of 5 steps, `cpu` recipes; "
             f"{len(table) - len(above)} of {len(table)} steps within {STEP_FLOOR_TARGET}x of their floor):", "",
             "| case | batch | K | step (ms) | floor (ms) | step / floor | GFLOP per step | GFLOP/s |",
             "|---|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        ratio = f"**{r.step_over_floor:.2f}**" if r.step_over_floor > STEP_FLOOR_TARGET else f"{r.step_over_floor:.2f}"
        lines.append(f"| {r.case} | {r.batch} | {r.k} | {r.step_ms:,.1f} | {r.floor_ms:,.1f} | {ratio} | "
                     f"{r.gflop_per_step:.2f} | {r.gflop_per_s:.1f} |")
    return "\n".join(lines)


BF16_RESULTS = REPO_ROOT / "benchmarks" / "results" / "bf16_bounds.csv"


def bf16_table(path: Path = BF16_RESULTS) -> str:
    """The bound's difference under bf16 autocast beside its fp32 spread, from ``benchmarks/bf16.py``'s table."""
    if not path.exists():
        return "(no measurement: run `python benchmarks/bf16.py --out benchmarks/results/bf16_bounds.csv`)"
    table = pd.read_csv(path)
    lines = [f"Measured on {table['cpu'][0]}, bf16 {table['bf16_arithmetic'][0]}:", "",
             "| case | batch | K | mean bound difference (nats) | fp32 spread over seeds (nats) |", "|---|---|---|---|---|"]
    lines += [f"| {r.case} | {r.batch} | {r.k} | {r.mean_difference:.2f} | {r.fp32_spread_over_seeds:.2f} |"
              for r in table.itertuples()]
    return "\n".join(lines)


def grid_cost(profile: str, root: Path | None = None) -> str:
    """The profile's training grid and its cost, from ``outputs/<profile>/grid/cost.csv`` (``jobs cost``)."""
    from mmvae_lib import jobs

    table, assumption = jobs.read_cost(profile, root)
    if table is None:
        return (f"The `{profile}` grid's cost in GPU-hours has not been measured yet (`python -m mmvae_lib.jobs "
                f"cost`, after a dry run).")
    by_experiment = table.assign(experiment=table["run"].str.split("/").str[0]).groupby("experiment", sort=False)
    parts = ", ".join(f"{key} {hours:,.0f}" for key, hours in by_experiment["gpu_hours"].sum().items())
    text = (f"The `{profile}` grid's {table['run'].nunique()} training runs take {table['steps'].sum() / 1e6:.1f} M "
            f"optimiser steps (the judges and all evaluation besides). A dry run timed each stage's step: {table['cpu_hours'].sum():,.0f} "
            f"hours on one CPU thread, an estimated **{table['gpu_hours'].sum():,.0f} GPU-hours** ({parts}). "
            f"{assumption}.")
    missing = untimed_experiments(profile, table)
    if missing:
        text += (f" Not in this table, added to the grid since it was timed: {', '.join(missing)} (`python -m "
                 f"mmvae_lib.jobs cost` after a dry run times them).")
    return text


def untimed_experiments(profile: str, table: pd.DataFrame) -> list[str]:
    """The experiments of the profile's grid with checkpointed runs of which the cost table has none."""
    from mmvae_lib import jobs

    keys = {job.key.split("/")[0] for job in jobs.grid(profile) if job.checkpoint}
    return sorted(keys - set(table["run"].str.split("/").str[0]))


def costs(manifest: dict) -> str:
    """The run's wall time, in all and per group of notebooks, as its manifest recorded it."""
    times = manifest.get("wall_time_s", {})
    groups = {"MNIST-SVHN (01-06)": "010203040506", "CUB (07-08)": "0708", "PolyMNIST (09-10)": "0910",
              "JNF (11-13)": "111213", "own modalities (14)": "14"}
    parts = []
    for label, numbers in groups.items():
        chosen = [t for name, t in times.items() if name[:2] in {numbers[i:i + 2] for i in range(0, len(numbers), 2)}]
        if chosen:
            parts.append(f"{label} {sum(chosen) / 60:.0f} min")
    total = sum(times.values()) / 60
    return (f"The committed `{manifest.get('profile')}` run's notebooks took {total // 60:.0f} h {total % 60:.0f} min "
            f"as each was last run (" + ", ".join(parts) + "); a notebook that found its models trained by an "
            "earlier one took that much less.")


def fill(text: str, generated: dict[str, str]) -> str:
    """``text`` with each ``<!-- report:NAME -->`` … ``<!-- /report:NAME -->`` block replaced by ``generated[NAME]``."""
    def replace(match):
        name = match.group(1)
        if name not in generated:
            raise KeyError(f"no generated block {name!r} (known: {sorted(generated)})")
        return f"<!-- report:{name} -->\n{generated[name]}<!-- /report:{name} -->"
    return re.sub(r"<!-- report:([\w-]+) -->\n.*?<!-- /report:\1 -->", replace, text, flags=re.DOTALL)


def targets() -> list[Path]:
    """The files with generated blocks: the README and the book's markdown pages."""
    return [README, *sorted(BOOK_DIR.rglob("*.md"))] if BOOK_DIR.exists() else [README]


def write(profile: str, *, check: bool = False, root: Path | None = None) -> list[Path]:
    """Fill every target's blocks from the run (and draw the figure); with ``check``, write nothing and return
    the files whose blocks differ."""
    generated = blocks(profile, root)
    differ = []
    for path in targets():
        text = path.read_text()
        new = fill(text, generated)
        if new != text:
            differ.append(path)
            if not check:
                path.write_text(new)
    if not check:
        glance_figure(profile, (Path(root) / profile if root else output_dir(profile)) / "figures" / GLANCE_FIGURE, root)
    return differ


def main(argv=None) -> None:
    parser = arguments.parser(__doc__)
    arguments.add_profile(parser)
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a generated block differs from what the outputs give")
    args = parser.parse_args(argv)
    changed = write(args.profile, check=args.check)
    for path in changed:
        print(f"{'differs' if args.check else 'rewrote'}: {path.relative_to(REPO_ROOT)}")
    if args.check and changed:
        sys.exit(1)


if __name__ == "__main__":
    main()
