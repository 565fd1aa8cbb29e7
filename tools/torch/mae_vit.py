"""The MAE ViT in plain PyTorch, with exactly the module names of the official code, so that a bmae checkpoint
loads into it with a strict `load_state_dict` and a PyTorch user's MAE checkpoint loads into bmae.

Architecture: He et al., "Masked Autoencoders Are Scalable Vision Learners" (CVPR 2022), official code
facebookresearch/mae models_mae.py (MaskedAutoencoderViT) on timm 0.4.x's VisionTransformer Block/Attention/Mlp.
timm is not installable here, so its modules are rewritten below with the same attribute names
(norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2). LayerNorm eps 1e-6, exact (erf) GELU, qkv with bias,
fixed 2-D sin-cos position embeddings with an all-zero CLS position.
"""

import numpy as np
import torch
from torch import nn


def sincos_1d(dim, positions):
    """MAE's get_1d_sincos_pos_embed_from_grid: [M] positions -> [M, dim], sin half then cos half."""
    omega = np.arange(dim // 2, dtype=np.float64) / (dim / 2.0)
    omega = 1.0 / 10000**omega
    angles = np.einsum("m,d->md", positions.reshape(-1).astype(np.float64), omega)
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)


def sincos_2d(dim, grid_size, cls_token=True):
    """MAE's get_2d_sincos_pos_embed: [1 + G*G, dim] (first row zeros for CLS).

    As in MAE, np.meshgrid(w, h) puts the column index first, so the first dim/2 channels encode the column
    and the last dim/2 the row of each patch (patches in row-major order).
    """
    grid = np.stack(np.meshgrid(np.arange(grid_size, dtype=np.float32), np.arange(grid_size, dtype=np.float32)), axis=0)
    emb = np.concatenate([sincos_1d(dim // 2, grid[0]), sincos_1d(dim // 2, grid[1])], axis=1)
    if cls_token:
        emb = np.concatenate([np.zeros([1, dim]), emb], axis=0)
    return emb


class PatchEmbed(nn.Module):
    def __init__(self, patch_size, in_chans, embed_dim):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):  # [N, C, H, W] -> [N, L, D]
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        # qkv columns are [q | k | v], each split into heads: [3, B, heads, N, head_dim]
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, C))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()  # exact erf GELU, PyTorch's default
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block (timm Block, no dropout / drop path at inference)."""

    def __init__(self, dim, num_heads, mlp_ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class MaskedAutoencoderViT(nn.Module):
    """MAE encoder + decoder. `extra_heads` adds `decoder_pred_<name>` Linear heads (bmae's feature targets)
    of `embed_dim` outputs next to the pixel head `decoder_pred`."""

    def __init__(self, img_size=32, patch_size=4, in_chans=3, embed_dim=192, depth=12, num_heads=3,
                 decoder_embed_dim=128, decoder_depth=4, decoder_num_heads=4, mlp_ratio=4.0, extra_heads=(),
                 pixel_head=True):
        super().__init__()
        self.patch_size = patch_size
        grid = img_size // patch_size
        num_patches = grid * grid
        self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        # Fixed, as in MAE: a parameter with requires_grad False, so it is in the state_dict.
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + 1, embed_dim), requires_grad=False)
        self.blocks = nn.ModuleList([Block(embed_dim, num_heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)

        self.decoder_embed = nn.Linear(embed_dim, decoder_embed_dim, bias=True)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_embed_dim))
        self.decoder_pos_embed = nn.Parameter(torch.zeros(1, num_patches + 1, decoder_embed_dim), requires_grad=False)
        self.decoder_blocks = nn.ModuleList([Block(decoder_embed_dim, decoder_num_heads, mlp_ratio) for _ in range(decoder_depth)])
        self.decoder_norm = nn.LayerNorm(decoder_embed_dim, eps=1e-6)
        if pixel_head:
            self.decoder_pred = nn.Linear(decoder_embed_dim, patch_size**2 * in_chans, bias=True)
        for name in extra_heads:
            setattr(self, f"decoder_pred_{name}", nn.Linear(decoder_embed_dim, embed_dim, bias=True))
        self.initialize_weights(grid)

    def initialize_weights(self, grid):
        """MAE's initialize_weights: sin-cos positions, xavier-uniform Linear and patch embedding (as 2-D), zero
        biases, LayerNorm 1/0, cls and mask tokens normal(std 0.02)."""
        self.pos_embed.data.copy_(torch.from_numpy(sincos_2d(self.pos_embed.shape[-1], grid)).float().unsqueeze(0))
        self.decoder_pos_embed.data.copy_(
            torch.from_numpy(sincos_2d(self.decoder_pos_embed.shape[-1], grid)).float().unsqueeze(0))
        w = self.patch_embed.proj.weight.data
        nn.init.xavier_uniform_(w.view([w.shape[0], -1]))
        nn.init.zeros_(self.patch_embed.proj.bias)
        nn.init.normal_(self.cls_token, std=0.02)
        nn.init.normal_(self.mask_token, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward_features(self, imgs):
        """Un-masked encoder: [N, C, H, W] normalised images -> [N, 1 + L, D] tokens after the final norm."""
        x = self.patch_embed(imgs) + self.pos_embed[:, 1:, :]
        cls = (self.cls_token + self.pos_embed[:, :1, :]).expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def cls_features(self, imgs):
        """[N, C, H, W] -> [N, D], the CLS token after the final norm."""
        return self.forward_features(imgs)[:, 0]


def perturb_(model, generator, scale=0.05):
    """Adds noise to every tensor of the state (LayerNorm scales, biases, positions included), so a cross-check
    can tell apart weights that initialisation makes equal (all-ones, all-zeros)."""
    with torch.no_grad():
        for tensor in model.state_dict().values():
            tensor.add_(torch.randn(tensor.shape, generator=generator) * scale)


def count_parameters(model):
    return sum(t.numel() for t in model.state_dict().values())


__all__ = ["MaskedAutoencoderViT", "sincos_2d", "perturb_", "count_parameters"]
