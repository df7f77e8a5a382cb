from __future__ import annotations

import pytest
import torch

# The test machine is small and shared; one intra-op thread avoids OpenMP spin-wait contention
# that makes tiny models 30x slower with 2 threads under load.
torch.set_num_threads(1)


@pytest.fixture
def tiny_data():
    """60 synthetic stays, 12 hourly steps, with a real signal in every modality."""
    from emerge.training import make_synthetic_data

    return make_synthetic_data(
        n_stays=60, steps=12, features=8, obs_features=3, text_dim=8, n_notes=3, n_summary=2, seed=0
    )
