"""How many epochs JNF's stages after the joint model need on PolyMNIST: a learning curve on a profile's
tuples, for choosing the `cpu` budget of the projector (DCCA) and unimodal stages (issue 14). Not part of
`make paper`.

The joint model is the profile's (trained, or loaded from notebook 13's checkpoint folder), or with
``--joint-epochs`` a longer one, continued from the profile's where it exists (the first epochs of a longer
stage are that run: :func:`mmvae_lib.training.trainer.continue_from_shorter`); the variant's own stages then
train on it with the profile's recipe (:func:`mmvae_lib.training.jnf.variant_stages`), their epochs set here.
After every epoch it reads, on ``--test`` seeded test tuples judged by notebook 09's cached classifiers (the
readings go into the epoch's record, so an interrupted run keeps them), and logs every ``--every``-th epoch,
the first and the last of each model:

- the joint model (once, and after the epochs it is continued for): the judges' accuracy on the five
  reconstructions from q(z | X), whether stage 1 has learnt the digits at all (the unimodal posteriors,
  fitted to q(z | X), can carry no more);
- DCCA stage: the total canonical correlation of the test embeddings (summed over the ten pairs, at most
  10 × ``dcca_dim``) and the digit accuracy of a logistic regression on each g_m(x_m) (fitted on training
  tuples): how much of what the modalities share, the digit, the projectors keep;
- unimodal stage: −Σ_m KL(q(z | X) ‖ q_m(z | x_m)) up to the joint's entropy on the test tuples (the stage's
  logged quantity, rising to 0), and the coherence given one observed modality (notebook 10's definition,
  the five single subsets).

The evaluation draws from its own generators, so the weights are those of a run without it (the trainer's
guarantee); a run whose epochs equal the profile's is the checkpoint notebook 13 loads, and one run's
readings cost about as much as its training.

    python benchmarks/jnf_polymnist_learning.py --variant jnf_dcca --dcca-epochs 100 --unimodal-epochs 30 --every 5
    python benchmarks/jnf_polymnist_learning.py --variant jnf --joint-epochs 200 --every 20
"""
from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from mmvae_lib import arguments
from mmvae_lib.experiments.polymnist import experiment, jnf
from mmvae_lib.experiments.polymnist.results import observed_subsets, reconstruction_accuracies
from mmvae_lib.metrics.batching import batches
from mmvae_lib.metrics.coherence import coherence_by_size, subset_coherence
from mmvae_lib.models.projectors import dcca_loss
from mmvae_lib.objectives.jnf import jnf_unimodal
from mmvae_lib.paths import output_dir
from mmvae_lib.profiles import get_profile
from mmvae_lib.training import jnf as recipes

PROBE_TUPLES = 2_000      # training tuples the projector probes are fitted on


@torch.no_grad()
def projector_readings(model, xs_test, labels, xs_probe, labels_probe) -> dict:
    """The DCCA readings: total canonical correlation of the test embeddings and each g_m's probe accuracy."""
    test, probe = model.project(xs_test), model.project(xs_probe)
    out = {"total_correlation": -dcca_loss(test).item()}
    for m, (h_probe, h_test) in enumerate(zip(probe, test)):
        fit = LogisticRegression(max_iter=2_000).fit(h_probe.numpy(), labels_probe.numpy())
        out[f"probe_m{m}"] = float(np.mean(fit.predict(h_test.numpy()) == labels.numpy()))
    return out


@torch.no_grad()
def unimodal_readings(model, xs, labels, judges) -> dict:
    """The unimodal stage's readings: the stage's quantity on the test tuples and the coherence given one
    observed modality."""
    g = torch.Generator().manual_seed(5)
    fit = torch.cat([jnf_unimodal(model, [x[s] for x in xs], 1, g).bound for s in batches(len(labels), 256)])
    scores = subset_coherence(model, xs, labels, judges, observed_subsets(len(xs), (1,)), g)
    return {"minus_kl": fit.mean().item(), "coherence_1": coherence_by_size(scores)[1]}


def main(argv=None) -> list[dict]:
    p = arguments.parser(__doc__.splitlines()[0])
    p.add_argument("--variant", choices=jnf.VARIANTS, required=True)
    arguments.add_profile(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--unimodal-epochs", type=int, default=None, help="instead of the profile's")
    p.add_argument("--dcca-epochs", type=int, default=None, help="instead of the profile's (jnf_dcca)")
    p.add_argument("--joint-epochs", type=int, default=None,
                   help="more than the profile's: the joint model continued from the profile's")
    p.add_argument("--every", type=int, default=5, help="epochs between readings")
    p.add_argument("--test", type=int, default=500, help="seeded test tuples scored")
    p.add_argument("--json", type=Path, default=None, help="write the readings here (after each one)")
    args = p.parse_args(argv)
    if args.every < 1:
        p.error("--every must be at least 1")
    torch.set_num_threads(1)
    profile_settings = jnf.settings(args.profile)
    if args.joint_epochs is not None and args.joint_epochs <= profile_settings.joint_epochs:
        p.error(f"--joint-epochs must exceed the profile's {profile_settings.joint_epochs}")
    s = replace(profile_settings, unimodal_epochs=args.unimodal_epochs or profile_settings.unimodal_epochs,
                dcca_epochs=args.dcca_epochs or profile_settings.dcca_epochs,
                joint_epochs=args.joint_epochs or profile_settings.joint_epochs)
    train = jnf.training_data(args.profile)
    test = experiment.paper_data(args.profile, "test").take(args.test, seed=experiment.DATA_SEED)
    judges = experiment.digit_classifiers(args.profile, train, require_cached=True)
    xs, labels = test.get(torch.arange(len(test)))
    xs_probe, labels_probe = train.take(min(PROBE_TUPLES, len(train)), seed=experiment.DATA_SEED).get(
        torch.arange(min(PROBE_TUPLES, len(train))))

    def build(variant):
        return jnf.jnf_model(variant, s, args.seed)

    print(f"{args.variant}, seed {args.seed}, {train.description}", flush=True)
    stages = recipes.variant_stages(args.variant, build(args.variant), s)
    log: list[dict] = []

    def keep(record: dict, last_epochs) -> None:
        """Log and print an epoch's record (its readings were stored in it by the evaluation), every
        ``--every`` epochs, the first and the last of each stage (``last_epochs``)."""
        if record["epoch"] % args.every and record["epoch"] != 1 and record["epoch"] not in last_epochs:
            return
        reading = {k: v for k, v in record.items() if k not in ("bound", "steps", "seconds")}
        log.append(reading)
        print(" ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in reading.items()), flush=True)
        if args.json is not None:
            args.json.write_text(json.dumps(dict(variant=args.variant, profile=args.profile, seed=args.seed,
                                                 data=train.description, joint_epochs=s.joint_epochs,
                                                 stages=[st.describe() for st in stages], readings=log), indent=1))

    def read_joint(model) -> dict:
        own = reconstruction_accuracies(model, xs, labels, judges, torch.Generator().manual_seed(6), from_all=True)
        return {"reconstruction": sum(own) / len(own), **{f"reconstruction_m{m}": a for m, a in enumerate(own)}}

    # the profile's joint model (trained here or loaded), then, with --joint-epochs, continued from it: its
    # epochs are read after each one (stored in its checkpoint, so an interrupted run keeps them)
    checkpoints = output_dir(get_profile(args.profile).name, "checkpoints") / jnf.CHECKPOINTS
    beta = recipes.beta_of(args.variant, s)
    joint = recipes.train_joint(build, beta, profile_settings, train, checkpoints, seed=args.seed, progress=True)[0]
    keep({"stage": "joint", "epoch": profile_settings.joint_epochs, **read_joint(joint)}, [s.joint_epochs])
    if s.joint_epochs > profile_settings.joint_epochs:
        recipes.train_joint(build, beta, s, train, checkpoints, seed=args.seed, progress=True,
                            continue_from_epochs=profile_settings.joint_epochs, evaluate=read_joint,
                            on_epoch_end=lambda epoch, history: keep(history[-1], [s.joint_epochs]))
    print("stages: " + "; ".join(f"{st.name} {st.epochs} epochs of batch {st.batch_size}, lr {st.lr:g}"
                                 for st in stages), flush=True)

    def evaluate(model) -> dict:
        # the trainer freezes what a stage does not train: trainable projectors mean the projector stage
        if model.projectors is not None and any(p.requires_grad for p in model.projectors.parameters()):
            return projector_readings(model, xs, labels, xs_probe, labels_probe)
        return unimodal_readings(model, xs, labels, judges)

    stage_ends = list(itertools.accumulate(st.epochs for st in stages))
    recipes.train_variant(build, args.variant, s, train, checkpoints, seed=args.seed, progress=True,
                          evaluate=evaluate, on_epoch_end=lambda epoch, history: keep(history[-1], stage_ends))
    if not any(row["stage"] != "joint" for row in log):
        print("no epoch of the variant's stages was trained: they were already in their checkpoint")
    return log


if __name__ == "__main__":
    main()
