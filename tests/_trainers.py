"""A small VAE and its trainer, shared by the training tests."""

import torch

from vaeanomaly._model import VAE
from vaeanomaly._training import Trainer, TrainingConfig
from vaeanomaly.likelihoods import FactorizedLikelihood


def make_trainer(heads, learning_rate=1e-3, n_members=1, **settings):
    torch.manual_seed(0)
    likelihood = FactorizedLikelihood(heads, n_members=n_members)
    module = VAE(len(heads), 2, (8,), likelihood, n_members=n_members)
    config = {
        "max_epochs": 1,
        "batch_size": 32,
        "learning_rate": learning_rate,
        "patience": None,
        "min_steps": 0,
        "beta": 1.0,
        "kl_warmup": 0,
        "n_train_draws": 1,
        "clip_grad_norm": None,
        "verbose": 0,
    }
    return module, Trainer(module, TrainingConfig(**{**config, **settings}))
