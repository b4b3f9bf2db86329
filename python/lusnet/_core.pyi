"""Type stubs of the compiled module lusnet._core; the docstrings live in python/src/core.cpp."""

import os
from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

__version__: str
_openmp: bool

PathLike = str | os.PathLike[str]
FloatArray = npt.NDArray[np.float32]
ByteArray = npt.NDArray[np.uint8]

class Model:
    """A network of named layers; create one with `lusnet.load_model`. Thread-safe."""

    def forward(self, x: npt.ArrayLike) -> FloatArray:
        """Logits [N, num_classes] of a batch x [N, C, H, W] (float32, read in place)."""
    def __call__(self, x: npt.ArrayLike) -> FloatArray:
        """Logits of a batch: the same as `forward(x)`."""
    def predict(self, x: npt.ArrayLike) -> FloatArray:
        """Softmax probabilities [N, num_classes] of a batch x [N, C, H, W]."""
    def preprocess(self, image: npt.ArrayLike) -> FloatArray:
        """uint8 pixels (H, W, C) as this model's input [1, C, crop, crop]."""
    def layer_names(self) -> list[str]:
        """Names of the layers in execution order (PyTorch's state-dict prefixes)."""
    def save(self, path: PathLike, metadata: dict[str, str] | None = None) -> None:
        """Writes the parameters as F32 safetensors by state-dict key."""
    @property
    def arch(self) -> str:
        """Architecture name, e.g. 'lusnet'."""
    @property
    def num_classes(self) -> int:
        """Number of output classes."""
    @property
    def in_channels(self) -> int:
        """Input channels: 1 for LUS-Net (gray), 3 for VGG (RGB)."""
    @property
    def preprocessing(self) -> dict[str, object]:
        """mode, resize, crop, mean and std of the model's own preprocessing."""
    @property
    def parameter_count(self) -> int:
        """Number of learnable values (batch-norm running statistics excluded)."""

class TensorInfo:
    """One tensor's entry in a safetensors header."""

    @property
    def name(self) -> str: ...
    @property
    def dtype(self) -> str:
        """Element type as the format names it, e.g. 'F32'."""
    @property
    def shape(self) -> tuple[int, ...]: ...
    @property
    def begin(self) -> int: ...
    @property
    def end(self) -> int: ...

class SafetensorsFile:
    """A validated, memory-mapped safetensors file; see `open_safetensors`."""

    @property
    def path(self) -> str: ...
    @property
    def tensors(self) -> list[TensorInfo]: ...
    @property
    def metadata(self) -> dict[str, str]: ...
    def __contains__(self, name: str) -> bool: ...
    def info(self, name: str) -> TensorInfo:
        """The entry of tensor `name`; KeyError when absent."""
    def read(self, name: str) -> FloatArray:
        """The values of a floating-point tensor as float32 of its shape."""

def load_model(
    arch: str, weights: PathLike | None = None, num_classes: int | None = None
) -> Model:
    """A model of architecture `arch`, with weights from a safetensors file when given."""

def architectures() -> list[str]:
    """Names of the architectures `load_model` knows."""

def read_image(path: PathLike, mode: Literal["gray", "rgb"] = "rgb") -> ByteArray:
    """Decodes an image file to uint8 pixels (H, W, C), C = 1 for 'gray' and 3 for 'rgb'."""

def preprocess(
    image: npt.ArrayLike,
    size: int,
    mean: list[float] | None = None,
    std: list[float] | None = None,
    *,
    resize: int | None = None,
) -> FloatArray:
    """Resize the shorter side to `resize` (default `size`), centre crop size x size, scale to
    [0, 1] and normalise: float32 [1, C, size, size], C being the image's channels."""

def grad_cam(
    model: Model,
    x: npt.ArrayLike,
    layer: str | None = None,
    target: int | Sequence[int] | None = None,
    method: Literal["gradcam", "gradcam++", "hirescam", "layercam", "eigencam"] = "gradcam",
) -> FloatArray:
    """Class activation maps float32 [N, H, W] in [0, 1] of a batch x [N, C, H, W]."""

def overlay(image: npt.ArrayLike, cam: npt.ArrayLike, alpha: float = 0.4) -> ByteArray:
    """A map [H', W'] in Turbo colours over uint8 pixels (H, W, C): RGB (H, W, 3); a map of
    another size is resized bilinearly to the image's."""

def model_view(model: Model, image: npt.ArrayLike) -> ByteArray:
    """The resized, centre-cropped part of uint8 pixels that the model sees (crop, crop, C)."""

def write_png(path: PathLike, image: npt.ArrayLike) -> None:
    """Writes uint8 pixels (H, W, C), C = 1 or 3, as a PNG file."""

def set_num_threads(n: int) -> None:
    """Sets how many threads each forward may use, process-wide; n >= 1."""

def get_num_threads() -> int:
    """The number of threads each forward may use."""

def open_safetensors(path: PathLike) -> SafetensorsFile:
    """Opens and validates a safetensors file."""

def _input_address(x: npt.ArrayLike) -> int: ...
