"""mmvae_lib.profiles: one knob, every experiment's sizes in one place."""
from dataclasses import fields

import pytest

from mmvae_lib.profiles import PROFILES, get_profile


def _numbers(settings):
    return {f.name: getattr(settings, f.name) for f in fields(settings)
            if isinstance(getattr(settings, f.name), (int, tuple)) and not isinstance(getattr(settings, f.name), bool)}


@pytest.mark.parametrize("section", [f.name for f in fields(PROFILES["smoke"]) if f.name != "name"])
def test_every_profile_has_every_section_and_smoke_is_the_smallest(section):
    """Every profile defines every experiment's settings; smoke's sizes never exceed cpu's, nor cpu's
    full's (the theory notebook's grids included)."""
    assert set(PROFILES) == {"smoke", "cpu", "full"}
    for smaller, larger in (("smoke", "cpu"), ("cpu", "full")):
        a, b = _numbers(getattr(PROFILES[smaller], section)), _numbers(getattr(PROFILES[larger], section))
        for name, value in a.items():
            other = b[name]
            assert (len(value) <= len(other)) if isinstance(value, tuple) else value <= other, (section, name)


def test_unknown_profile_and_overrides():
    """An unknown profile is refused by name; with_settings replaces fields of one section only."""
    with pytest.raises(ValueError, match="profile must be one of"):
        get_profile("gpu")
    changed = get_profile("smoke").with_settings("mnist_svhn", epochs=3)
    assert changed.mnist_svhn.epochs == 3 and get_profile("smoke").mnist_svhn.epochs == 1
    assert changed.theory == get_profile("smoke").theory
    assert min(get_profile("cpu").theory.cost_m_grid) == 2 and max(get_profile("cpu").theory.cost_m_grid) == 8


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_jnf_subset_posteriors_adapt_the_step_where_they_are_sampled(name):
    """Where JNF samples subset posteriors by HMC (PolyMNIST, and the toy's check against a closed form),
    every profile adapts the step size during the first half of the steps, from the authors' 0.01."""
    from mmvae_lib.models.hmc import HMCSettings

    for section in ("jnf_polymnist", "jnf_toy"):
        s = getattr(PROFILES[name], section)
        assert s.hmc == HMCSettings(s.hmc_steps, s.hmc_leapfrog, 0.01, adapt_steps=s.hmc_steps // 2)


def test_a_dry_run_shrinks_evaluation_and_seeds_to_the_smoke_sizes_and_keeps_the_recipes(monkeypatch):
    """MMVAE_DRY_RUN: the sizes DRY_RUN_SIZES names become at most smoke's, or smaller (HMC); tuples their first
    entries; every other field (epochs, K, batch sizes, networks: what the dry run proves) stays the profile's."""
    import dataclasses

    from mmvae_lib.profiles import DRY_RUN_SIZES, PROFILES, dry_run_cap, get_profile
    from mmvae_lib.training import trainer

    full, smoke = PROFILES["full"], PROFILES["smoke"]
    assert get_profile("full") is full
    monkeypatch.setenv(trainer.DRY_RUN_VARIABLE, "1")
    dry = get_profile("full")
    assert dry.mnist_svhn.llik_k == 8 and dry.mnist_svhn.seeds == (0,) and dry.theory.cost_m_grid == (2, 3, 4)
    assert dry.jnf_polymnist.hmc_adapt_steps < dry.jnf_polymnist.hmc_steps < smoke.jnf_polymnist.hmc_steps
    for section in DRY_RUN_SIZES:
        for f in dataclasses.fields(getattr(full, section)):
            value, capped = getattr(getattr(full, section), f.name), getattr(getattr(dry, section), f.name)
            if f.name not in DRY_RUN_SIZES[section]:
                assert capped == value, (section, f.name)
            elif isinstance(value, tuple):
                assert capped == value[:len(dry_run_cap(section, f.name))]
            else:
                assert capped == min(value, dry_run_cap(section, f.name)) <= getattr(getattr(smoke, section), f.name)
    assert dry.polymnist.latent_dim == 512 and dry.cub.k == 50 and dry.mnist_svhn.dm == 20
