"""InternViT-300M-shaped encoder in PyTorch, timed on one 448 px tile: the bench's reference for the ViT.

The upstream InternViT code needs the hub, so this is an equivalent module with the 300M shapes: patch
convolution, class token and position embedding, 24 blocks of LayerNorm, qkv Linear, SDPA, proj, LayerScale and
an MLP with exact GELU. Random weights: the timing does not depend on their values.
Prints one line per dtype: "<dtype> <best ms> <spread>" (spread = (worst - best) / best).
"""
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 2
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
torch.set_num_threads(THREADS)
C, HEADS, INTER, LAYERS, PATCH, SIZE = 1024, 16, 4096, 24, 14, 448


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1 = nn.LayerNorm(C, eps=1e-6)
        self.qkv = nn.Linear(C, 3 * C)
        self.proj = nn.Linear(C, C)
        self.ls1 = nn.Parameter(torch.full((C,), 0.1))
        self.norm2 = nn.LayerNorm(C, eps=1e-6)
        self.fc1 = nn.Linear(C, INTER)
        self.fc2 = nn.Linear(INTER, C)
        self.ls2 = nn.Parameter(torch.full((C,), 0.1))

    def forward(self, x):
        b, n, _ = x.shape
        q, k, v = self.qkv(self.norm1(x)).reshape(b, n, 3, HEADS, C // HEADS).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, C)
        x = x + self.proj(a) * self.ls1
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x)))) * self.ls2


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, C, PATCH, PATCH)
        self.cls = nn.Parameter(torch.zeros(1, 1, C))
        self.pos = nn.Parameter(torch.zeros(1, (SIZE // PATCH) ** 2 + 1, C))
        self.blocks = nn.ModuleList(Block() for _ in range(LAYERS))

    def forward(self, pixels):
        x = self.patch(pixels).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        for block in self.blocks:
            x = block(x)
        return x


def main():
    torch.manual_seed(0)
    model = Encoder().eval()
    pixels = torch.randn(1, 3, SIZE, SIZE)
    print(f"torch {torch.__version__} threads {torch.get_num_threads()}", flush=True)
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        m = model.to(dtype)
        p = pixels.to(dtype)
        times = []
        with torch.inference_mode():
            m(p)  # warm-up
            for _ in range(RUNS):
                start = time.perf_counter()
                m(p)
                times.append(time.perf_counter() - start)
        best, worst = min(times), max(times)
        print(f"{name} {best * 1000:.1f} {(worst - best) / best:.3f}", flush=True)


if __name__ == "__main__":
    main()
