"""Backbones: two families with skip connections, each in a ladder of sizes (configs/model/).

`ResNet` (model=tiny, small, medium, large) is a residual CNN for images (C, H, W): a size
is a width and a number of residual blocks per stage; each stage after the first halves
the resolution and doubles the width. The sizes were designed on 8x8 digits; on larger images
the stem first halves the resolution (strided convolutions) until it is at most `stem_to`
pixels per side, so the same size ends on a feature map of a few pixels at 8, 32 or 224 px.
`MLP` (model=mlp_tiny, mlp_small, mlp_medium, mlp_large) is a residual fully connected
network for vectors and tables; it flattens any input shape. Both take the same knobs (norm, activation, residual, dropout, init). The skip
connections keep the deep sizes trainable; `residual=False` removes them (to see why they matter).
"""

import math

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "gelu": nn.GELU}
NORMS = ("batch", "layer", "none")
INITS = ("default", "kaiming", "xavier")


def make_norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":  # layer norm over channels and pixels, per example
        return nn.GroupNorm(1, channels)
    return nn.Identity()


def make_norm_1d(kind: str, features: int) -> nn.Module:
    """The same choice for a batch of vectors (B, features)."""
    if kind == "batch":
        return nn.BatchNorm1d(features)
    if kind == "layer":
        return nn.LayerNorm(features)
    return nn.Identity()


class ResidualBlock(nn.Module):
    """conv-norm-act-conv-norm, plus the input (projected when the shape changes), then act."""

    def __init__(self, in_channels, out_channels, stride, norm, activation, residual):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=norm == "none")
        self.norm1 = make_norm(norm, out_channels)
        self.act1 = ACTIVATIONS[activation]()
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=norm == "none")
        self.norm2 = make_norm(norm, out_channels)
        self.act2 = ACTIVATIONS[activation]()
        self.residual = residual
        self.shortcut = nn.Identity()
        if residual and (stride != 1 or in_channels != out_channels):
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), make_norm(norm, out_channels)
            )

    def forward(self, x):
        out = self.norm2(self.conv2(self.act1(self.norm1(self.conv1(x)))))
        if self.residual:
            out = out + self.shortcut(x)
        return self.act2(out)


class ResNet(nn.Module):
    """A residual CNN for small images: stem, `len(blocks)` stages, global pooling, linear head."""

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        num_outputs: int,
        width: int = 32,
        blocks: tuple[int, ...] = (1, 1),
        norm: str = "batch",
        activation: str = "relu",
        residual: bool = True,
        dropout: float = 0.0,
        init: str = "default",
        stem_to: int | None = None,  # configs/model/ set 8; None (runs recorded before it existed): no downsampling
    ):
        super().__init__()
        strided, stem, in_width = halvings(min(in_shape[1:]), stem_to), [], in_shape[0]
        for _ in range(max(strided, 1)):  # conv-norm-act, stride 2 as many times as the image needs halving
            stem += [nn.Conv2d(in_width, width, 3, 2 if strided else 1, 1, bias=norm == "none"),
                     make_norm(norm, width), ACTIVATIONS[activation]()]
            in_width = width
        self.stem = nn.Sequential(*stem)
        stages, in_width = [], width
        for stage, count in enumerate(blocks):
            out_width = width * 2**stage
            for block in range(count):
                stride = 2 if stage > 0 and block == 0 else 1
                stages.append(ResidualBlock(in_width, out_width, stride, norm, activation, residual))
                in_width = out_width
        self.blocks = nn.Sequential(*stages)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(in_width, num_outputs)
        initialize(self, init, activation)

    def forward(self, x):
        return self.head(self.dropout(self.pool(self.blocks(self.stem(x)))))


def halvings(pixels: int, stem_to: int | None) -> int:
    """How many stride-2 layers bring `pixels` to at most `stem_to` (0 on 8x8 digits).

    Why in the stem: the stages then run at the resolution the size ladder was designed for, so a
    64 px image costs a few times what a digit costs, not ~15x (the layers at full resolution
    dominate the time: the first convolution is therefore strided too), and global pooling sees a
    few pixels, not a 32x32 map of local features. `stem_to=None`: none, the CNN as it was before
    this existed, so the recorded config of an older run (it has no `stem_to`) rebuilds its shapes.
    """
    count = 0
    while stem_to is not None and pixels > stem_to:
        pixels, count = (pixels + 1) // 2, count + 1
    return count


class DenseBlock(nn.Module):
    """linear-norm-act-linear-norm, plus the input, then act: the ResidualBlock for vectors."""

    def __init__(self, width, norm, activation, residual):
        super().__init__()
        self.linear1 = nn.Linear(width, width, bias=norm == "none")
        self.norm1 = make_norm_1d(norm, width)
        self.act1 = ACTIVATIONS[activation]()
        self.linear2 = nn.Linear(width, width, bias=norm == "none")
        self.norm2 = make_norm_1d(norm, width)
        self.act2 = ACTIVATIONS[activation]()
        self.residual = residual

    def forward(self, x):
        out = self.norm2(self.linear2(self.act1(self.norm1(self.linear1(x)))))
        if self.residual:
            out = out + x
        return self.act2(out)


class MLP(nn.Module):
    """A residual MLP for vectors and tables: flatten, stem to `width`, `depth` blocks, linear head.

    Any input shape is flattened, so it also takes images and sequences (as a baseline for a CNN).
    """

    def __init__(
        self,
        in_shape: tuple[int, ...],
        num_outputs: int,
        width: int = 64,
        depth: int = 2,
        norm: str = "batch",
        activation: str = "relu",
        residual: bool = True,
        dropout: float = 0.0,
        init: str = "default",
    ):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Flatten(),
            nn.Linear(math.prod(in_shape), width, bias=norm == "none"),
            make_norm_1d(norm, width),
            ACTIVATIONS[activation](),
        )
        self.blocks = nn.Sequential(*[DenseBlock(width, norm, activation, residual) for _ in range(depth)])
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(width, num_outputs)
        initialize(self, init, activation)

    def forward(self, x):
        return self.head(self.dropout(self.blocks(self.stem(x))))


def initialize(model: nn.Module, scheme: str, activation: str) -> None:
    """Re-initialize conv and linear weights; 'default' keeps PyTorch's own initialization."""
    if scheme == "default":
        return
    nonlinearity = "leaky_relu" if activation == "leaky_relu" else "relu"
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            if scheme == "kaiming":
                nn.init.kaiming_normal_(module.weight, nonlinearity=nonlinearity)
            else:
                nn.init.xavier_uniform_(module.weight, gain=math.sqrt(2.0))
            if module.bias is not None:
                nn.init.zeros_(module.bias)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


if __name__ == "__main__":  # print the size ladders
    for name, width, blocks in [("tiny", 8, (1,)), ("small", 16, (1, 1)), ("medium", 32, (2, 2)), ("large", 64, (2, 2, 2))]:
        net = ResNet((1, 8, 8), 10, width, blocks)
        print(name, count_parameters(net), net(torch.zeros(2, 1, 8, 8)).shape)
    for name, width, depth in [("mlp_tiny", 32, 1), ("mlp_small", 64, 2), ("mlp_medium", 128, 4), ("mlp_large", 512, 4)]:
        net = MLP((12,), 1, width, depth)
        print(name, count_parameters(net), net(torch.zeros(2, 12)).shape)
