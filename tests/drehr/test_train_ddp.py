"""Negatives gathered across 2 gloo processes give the gradient of the global-batch loss."""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from drehr.losses import multi_similarity_loss_from_embeddings
from drehr.training.distributed import gather_with_grad
from drehr.training.module import global_batch

A, P, D_IN, D = 4, 3, 6, 5  # anchors and positives per process, input and embedding sizes


def _batch(seed: int):
    gen = torch.Generator().manual_seed(seed)
    anchors_in = torch.randn(A, D_IN, generator=gen)
    cands_in = torch.randn(A * P, D_IN, generator=gen)
    owner = torch.arange(A).repeat_interleave(P)
    labels = torch.randint(0, 6, (A * P,), generator=gen) + 100 * seed  # distinct concepts per process
    return anchors_in, cands_in, owner, labels


def _encoder() -> torch.nn.Linear:
    torch.manual_seed(0)
    return torch.nn.Linear(D_IN, D)


def _loss(enc, anchors_in, cands_in, owner, labels):
    return multi_similarity_loss_from_embeddings(
        F.normalize(enc(anchors_in), dim=-1),
        F.normalize(enc(cands_in), dim=-1),
        owner,
        labels,
        beta=5.0,
        margin=1.0,
    )


def _worker(rank: int, port: int, out_path: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    model = None
    try:
        model = torch.nn.parallel.DistributedDataParallel(_encoder())
        anchors_in, cands_in, owner, labels = _batch(rank)
        a = F.normalize(model(anchors_in), dim=-1)
        c = F.normalize(model(cands_in), dim=-1)
        ga, gc, go, gl = global_batch(a, c, owner, labels)
        loss = multi_similarity_loss_from_embeddings(ga, gc, go, gl, beta=5.0, margin=1.0) * 2
        loss.backward()  # DDP averages the two ranks' gradients
        uneven = gather_with_grad(torch.ones(rank + 1, 2) * rank)  # 1 row from rank 0, 2 from rank 1
        if rank == 0:
            torch.save(
                {"weight": model.module.weight.grad, "loss": loss.detach() / 2, "uneven": uneven}, out_path
            )
    finally:
        # the DDP reducer must be freed before its process group: freed after it (at function exit),
        # ~ProcessGroupGloo joins a thread that waits for the GIL this thread holds, and never returns
        del model
        import gc

        gc.collect()
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_gradient_equals_global_batch_gradient(tmp_path):
    out = str(tmp_path / "rank0.pt")
    # spawn, not fork: a forked child deadlocks in the first matrix product when the parent's OpenMP
    # thread pool is already running (it is whenever an earlier test in this process used torch)
    mp.start_processes(_worker, args=(_free_port(), out), nprocs=2, join=True, start_method="spawn")
    got = torch.load(out, weights_only=True)
    # one process holding both halves: owners of the second half shifted by A
    b0, b1 = _batch(0), _batch(1)
    enc = _encoder()
    loss = _loss(
        enc,
        torch.cat([b0[0], b1[0]]),
        torch.cat([b0[1], b1[1]]),
        torch.cat([b0[2], b1[2] + A]),
        torch.cat([b0[3], b1[3]]),
    )
    loss.backward()
    assert loss.item() > 0
    torch.testing.assert_close(got["loss"], loss.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(got["weight"], enc.weight.grad, rtol=1e-4, atol=1e-6)
    assert got["uneven"].tolist() == [[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]]


@pytest.mark.skipif(not dist.is_gloo_available(), reason="needs the gloo backend")
def test_gather_is_identity_without_process_group():
    x = torch.randn(3, 2, requires_grad=True)
    assert gather_with_grad(x) is x
