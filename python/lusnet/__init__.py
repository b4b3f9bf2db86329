"""lusnet: CNNs for lung ultrasound frames, from Python.

The compiled core (``lusnet._core``, bindings of the C++ headers) does the work; this package
re-exports it and adds the ``lusnet`` command line (``lusnet.cli``). numpy in, numpy out:

>>> import lusnet
>>> net = lusnet.load_model("lusnet", "weights.safetensors")     # doctest: +SKIP
>>> x = net.preprocess(lusnet.read_image("frame.png"))            # doctest: +SKIP
>>> net.predict(x)                                                # doctest: +SKIP
array([[0.61, 0.39]], dtype=float32)
>>> cam = lusnet.grad_cam(net, x)[0]                             # doctest: +SKIP

Every call that computes or reads a file releases the GIL, and a model may be shared between
threads. Errors are ValueError (shapes, formats, arguments), KeyError (unknown names) and
OSError (files; FileNotFoundError when missing), each with the library's message.
``lusnet.torch_models`` (PyTorch definitions of the same networks) needs PyTorch and is not
imported here.
"""

from lusnet._core import (
    Model,
    SafetensorsFile,
    TensorInfo,
    __version__,
    architectures,
    get_num_threads,
    grad_cam,
    load_model,
    model_view,
    open_safetensors,
    overlay,
    preprocess,
    read_image,
    set_num_threads,
    write_png,
)

__all__ = [
    "Model",
    "SafetensorsFile",
    "TensorInfo",
    "__version__",
    "architectures",
    "get_num_threads",
    "grad_cam",
    "load_model",
    "model_view",
    "open_safetensors",
    "overlay",
    "preprocess",
    "read_image",
    "set_num_threads",
    "write_png",
]
