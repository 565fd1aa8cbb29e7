"""PyTorch's time for the MAE pre-training step of tools/bench/mae-step.ts, on the same CPU.

Called by `mae-step.ts --torch` (one process per thread setting); prints one JSON line.
The model is given by its sizes, so every bmae preset can be compared:

  python3 tools/bench/torch_mae_step.py --width 192 --depth 12 --heads 3 \
      --dec-width 128 --dec-depth 4 --dec-heads 4 --batch 64 --mode pixel --threads 1 --steps 5

The step is the one mae-step.ts times: random masking (75%) -> encoder on the kept patches ->
decoder -> per-patch mean squared error on the removed patches -> backward -> AdamW(0.9, 0.95).
Targets: `pixel` normalises each patch (norm_pix_loss); `bootstrap` adds a no-gradient full-image
forward of a second encoder whose per-patch tokens, LayerNorm-normalised without affine, are the
target of a width-D head. Set-up on Debian: apt-get install python3-torch libopenblas0-pthread
(without an optimised BLAS Debian's torch is ~10x slower).
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, width, heads, mlp_ratio=4):
        super().__init__()
        self.norm1 = nn.LayerNorm(width, eps=1e-6)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(width, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(width, mlp_ratio * width), nn.GELU(), nn.Linear(mlp_ratio * width, width))

    def forward(self, x):
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class Mae(nn.Module):
    def __init__(self, a, patches, patch_dim, out_dim):
        super().__init__()
        self.width = a.width
        self.patch_embed = nn.Linear(patch_dim, a.width)
        self.pos = nn.Parameter(torch.zeros(1, patches + 1, a.width))
        self.cls = nn.Parameter(torch.zeros(1, 1, a.width))
        self.blocks = nn.ModuleList([Block(a.width, a.heads) for _ in range(a.depth)])
        self.norm = nn.LayerNorm(a.width, eps=1e-6)
        self.decoder_embed = nn.Linear(a.width, a.dec_width)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, a.dec_width))
        self.decoder_pos = nn.Parameter(torch.zeros(1, patches + 1, a.dec_width))
        self.decoder_blocks = nn.ModuleList([Block(a.dec_width, a.dec_heads) for _ in range(a.dec_depth)])
        self.decoder_norm = nn.LayerNorm(a.dec_width, eps=1e-6)
        self.decoder_pred = nn.Linear(a.dec_width, out_dim)

    def encode(self, patches, keep=None):  # patches (N, L, P*P*3) -> tokens (N, 1 + kept, D)
        x = self.patch_embed(patches) + self.pos[:, 1:]
        if keep is not None:
            x = torch.gather(x, 1, keep.unsqueeze(-1).expand(-1, -1, self.width))
        x = torch.cat([(self.cls + self.pos[:, :1]).expand(x.shape[0], -1, -1), x], 1)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def forward(self, patches, mask_ratio=0.75):  # -> predictions (N, L, out), mask (N, L), 1 = removed
        n, length, _ = patches.shape
        ids_shuffle = torch.argsort(torch.rand(n, length), 1)
        ids_restore = torch.argsort(ids_shuffle, 1)
        kept = int(length * (1 - mask_ratio))
        x = self.decoder_embed(self.encode(patches, ids_shuffle[:, :kept]))
        y = torch.cat([x[:, 1:], self.mask_token.expand(n, length - kept, -1)], 1)
        y = torch.gather(y, 1, ids_restore.unsqueeze(-1).expand(-1, -1, y.shape[-1]))
        y = torch.cat([x[:, :1], y], 1) + self.decoder_pos
        for block in self.decoder_blocks:
            y = block(y)
        mask = torch.ones(n, length)
        mask[:, :kept] = 0
        return self.decoder_pred(self.decoder_norm(y))[:, 1:], torch.gather(mask, 1, ids_restore)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in [('width', 192), ('depth', 12), ('heads', 3), ('dec-width', 128), ('dec-depth', 4), ('dec-heads', 4),
                          ('batch', 64), ('threads', 1), ('steps', 5), ('image-size', 32), ('patch-size', 4)]:
        parser.add_argument(f'--{name}', type=int, default=default)
    parser.add_argument('--mode', choices=['pixel', 'bootstrap'], default='pixel')
    a = parser.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    patches = (a.image_size // a.patch_size) ** 2
    patch_dim = a.patch_size * a.patch_size * 3
    out_dim = patch_dim if a.mode == 'pixel' else a.width
    model = Mae(a, patches, patch_dim, out_dim)
    target_encoder = Mae(a, patches, patch_dim, out_dim) if a.mode == 'bootstrap' else None
    optimizer = torch.optim.AdamW(model.parameters(), lr=1.5e-4, betas=(0.9, 0.95), weight_decay=0.05)
    images = torch.randn(a.batch, patches, patch_dim)  # already patchified: content does not change the time

    def step():
        if target_encoder is None:
            mean, var = images.mean(-1, keepdim=True), images.var(-1, keepdim=True)
            target = (images - mean) / (var + 1e-6) ** 0.5
        else:
            with torch.no_grad():
                tokens = target_encoder.encode(images)[:, 1:]
                target = F.layer_norm(tokens, tokens.shape[-1:], eps=1e-6)
        predictions, mask = model(images)
        loss = (((predictions - target) ** 2).mean(-1) * mask).sum() / mask.sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    step()
    step()  # warm-up: allocator and optimiser state
    start = time.perf_counter()
    for _ in range(a.steps):
        step()
    seconds = (time.perf_counter() - start) / a.steps
    print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'mode': a.mode, 'batch': a.batch,
                      'steps': a.steps, 'secondsPerStep': seconds, 'imagesPerSecond': a.batch / seconds}))


if __name__ == '__main__':
    main()
