"""PyTorch definitions of lusnet's own architectures, for training and parity tests.

The module names equal the node names of the C++ models (``include/lusnet/models/``), so a
``state_dict`` saved with ``safetensors.torch.save_file`` loads into lusnet by key, and a
checkpoint written by lusnet loads here with ``load_state_dict``. Importing this module needs
PyTorch; the rest of the ``lusnet`` package does not.
"""

from collections import OrderedDict

from torch import nn

__all__ = ["ConvBNReLU", "LUSNet", "lus_net"]


class ConvBNReLU(nn.Sequential):
    """3x3 convolution without bias (batch norm follows), batch norm, ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__(
            OrderedDict(
                conv=nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False),
                bn=nn.BatchNorm2d(out_channels),
                relu=nn.ReLU(inplace=True),
            )
        )


class LUSNet(nn.Module):
    """LUS-Net: a lightweight CNN for grayscale B-mode lung ultrasound (1x224x224 input).

    Four stages of 3x3 conv-BN-ReLU blocks (a stride-2 stem and three 2x2 max poolings) end in a
    256-channel 14x14 map, then global average pooling, dropout and a linear head. See
    docs/models.md for the layer table and the reasons for each choice.
    """

    def __init__(self, num_classes: int = 2, in_channels: int = 1, dropout: float = 0.3) -> None:
        super().__init__()
        self.features = nn.Sequential(
            OrderedDict(
                stem=ConvBNReLU(in_channels, 24, stride=2),
                block1=ConvBNReLU(24, 32),
                pool1=nn.MaxPool2d(2),
                block2a=ConvBNReLU(32, 64),
                block2b=ConvBNReLU(64, 64),
                pool2=nn.MaxPool2d(2),
                block3a=ConvBNReLU(64, 128),
                block3b=ConvBNReLU(128, 128),
                pool3=nn.MaxPool2d(2),
                block4a=ConvBNReLU(128, 256),
                block4b=ConvBNReLU(256, 256),
            )
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(256, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.pool(self.features(x)).flatten(1)
        return self.classifier(self.dropout(x))


def lus_net(num_classes: int = 2) -> LUSNet:
    """LUS-Net with ``num_classes`` outputs."""
    return LUSNet(num_classes=num_classes)
