"""Gathering embeddings from all processes so every process sees the whole global batch.

`gather_with_grad` concatenates a tensor from every rank (rank order), padding for unequal first
dimensions, and puts the local tensor back in its own slice so the local gradient flows. Each
rank then computes the loss over the global batch; its backward reaches only its own embeddings,
so the loss is multiplied by the world size before DDP averages the gradients: the averaged
gradient then equals the gradient of the global-batch loss (tested against one process).
"""

from __future__ import annotations

import torch
import torch.distributed as dist

__all__ = ["world_size", "rank", "gather_with_grad", "gather_sizes"]


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def gather_sizes(n: int, device: torch.device) -> list[int]:
    """First-dimension size on every rank."""
    sizes = [torch.zeros(1, dtype=torch.long, device=device) for _ in range(world_size())]
    dist.all_gather(sizes, torch.tensor([n], dtype=torch.long, device=device))
    return [int(s.item()) for s in sizes]


def gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """[n_r, ...] on each rank -> [sum n_r, ...] on every rank, local rows keeping their gradient."""
    if world_size() == 1:
        return tensor
    sizes = gather_sizes(tensor.shape[0], tensor.device)
    longest = max(sizes)
    padded = tensor.detach()
    if tensor.shape[0] < longest:
        pad = torch.zeros(
            (longest - tensor.shape[0], *tensor.shape[1:]), dtype=tensor.dtype, device=tensor.device
        )
        padded = torch.cat([padded, pad])
    buffers = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(buffers, padded.contiguous())
    pieces = [buf[:n] for buf, n in zip(buffers, sizes, strict=True)]
    pieces[rank()] = tensor  # the local slice keeps its autograd history
    return torch.cat(pieces)
