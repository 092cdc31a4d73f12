"""Data-parallel training under torchrun: every rank trains on its own batches, gradients averaged.

Gradients are averaged with one bucketed all-reduce per update, the mechanism of
DistributedDataParallel, done explicitly after `backward()` (as StyleGAN2-ADA does) because
GAN updates call D several times per backward and penalties need double backward, which
DDP's module wrapper does not support. gloo on CPU, nccl on GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as tdist


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def average_gradients(self, params: list[torch.nn.Parameter]) -> None:
        if not self.enabled:
            return
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return
        flat = torch._utils._flatten_dense_tensors(grads)
        tdist.all_reduce(flat)
        flat.div_(self.world_size)
        for g, synced in zip(grads, torch._utils._unflatten_dense_tensors(flat, grads)):
            g.copy_(synced)

    def broadcast_module(self, module: torch.nn.Module) -> None:
        """Start every rank from rank 0's weights and buffers."""
        if not self.enabled:
            return
        for t in list(module.parameters()) + list(module.buffers()):
            tdist.broadcast(t.data, src=0)


def init_from_env(env: dict[str, str], device_type: str) -> DistInfo:
    """Join the process group torchrun describes in `env` (RANK, WORLD_SIZE, LOCAL_RANK)."""
    world = int(env.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    info = DistInfo(rank=int(env["RANK"]), world_size=world, local_rank=int(env.get("LOCAL_RANK", "0")))
    if not tdist.is_initialized():
        tdist.init_process_group("nccl" if device_type == "cuda" else "gloo")
    return info


def ranks_agree(module: torch.nn.Module) -> bool:
    """True when every rank holds the same parameters (a cheap checksum, all-gathered)."""
    params = [p.detach().double() for p in module.parameters()]
    checksum = torch.stack([torch.stack([p.sum(), p.abs().sum()]) for p in params]).flatten().cpu()
    gathered = [torch.zeros_like(checksum) for _ in range(tdist.get_world_size())]
    tdist.all_gather(gathered, checksum)
    return all(torch.equal(gathered[0], g) for g in gathered[1:])
