// lusnet._core: the pybind11 bindings of lusnet's headers, re-exported by the `lusnet` package.
//
// Only conversion lives here: numpy arrays to tensor views and images and back, None and paths to
// C++ values, the GIL released around every call that computes or reads a file, and lusnet's
// exceptions raised as Python's. Behaviour, checks and messages belong to the headers. The
// docstrings are the Python reference; python/lusnet/_core.pyi repeats the signatures for tools.

#include <lusnet/lusnet.hpp>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace py = pybind11;
using namespace py::literals;

namespace {

/// A float32 array lusnet reads in place: C-contiguous and in native byte order.
using float_array = py::array_t<float, py::array::c_style>;
/// A uint8 array in C order, for pixels.
using byte_array = py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>;
using path = std::filesystem::path;

/// Runs `work` with the GIL released, so other Python threads run meanwhile; `work` must not
/// touch Python objects.
template <class Work>
auto without_gil(Work&& work) {
    py::gil_scoped_release release;
    return work();
}

/// `x` as a float32 array whose buffer lusnet can read in place: `x` itself when it already is
/// one (C-contiguous, native float32, aligned), otherwise a converted C-contiguous copy.
float_array as_float_array(const py::object& x) {
    if (py::isinstance<float_array>(x)) {
        auto array = py::reinterpret_borrow<float_array>(x);
        // numpy allows unaligned buffers (views into byte strings); a float* to one is not valid.
        if (reinterpret_cast<std::uintptr_t>(array.data()) % alignof(float) == 0) {
            return array;
        }
    }
    const py::module_ numpy = py::module_::import("numpy");
    return numpy.attr("array")(x, "dtype"_a = "float32", "order"_a = "C", "copy"_a = true);
}

/// The `(d0, d1, ...)` shape of an array, for messages.
std::string shape_text(const py::array& array) {
    std::string text = "(";
    for (py::ssize_t i = 0; i < array.ndim(); ++i) {
        text += (i ? ", " : "") + std::to_string(array.shape(i));
    }
    return text + (array.ndim() == 1 ? ",)" : ")");
}

/// Views `x` `[N, C, H, W]` for `net`; shape_error naming the expected shape for another rank
/// (the channel count is checked by the model itself).
lusnet::const_tensor_view input_view(const float_array& x, const lusnet::model& net,
                                     const std::string& operation) {
    if (x.ndim() != 4) {
        throw lusnet::shape_error(operation, "model '" + net.arch() + "'",
                                  "expected input [N >= 1, " + std::to_string(net.in_channels()) +
                                      ", H, W], got an array of shape " + shape_text(x));
    }
    const auto extent = [&](int axis) {
        return static_cast<std::size_t>(x.shape(axis));
    };
    return {x.data(), lusnet::shape4{extent(0), extent(1), extent(2), extent(3)}};
}

/// Scores `[N, classes]` as a new numpy array.
py::array_t<float> to_numpy(const lusnet::class_scores& scores) {
    const auto rows = static_cast<py::ssize_t>(scores.shape(0));
    const auto cols = static_cast<py::ssize_t>(scores.shape(1));
    py::array_t<float> out(std::vector<py::ssize_t>{rows, cols});
    std::copy(scores.data(), scores.data() + scores.size(), out.mutable_data());
    return out;
}

/// A tensor `[N, C, H, W]` as a numpy array that owns it (no copy).
py::array_t<float> to_numpy(lusnet::tensor x) {
    auto* owned = new lusnet::tensor(std::move(x));
    const py::capsule owner(owned, [](void* p) { delete static_cast<lusnet::tensor*>(p); });
    const lusnet::shape4& s = owned->shape();
    const std::vector<py::ssize_t> shape{
        static_cast<py::ssize_t>(s.n), static_cast<py::ssize_t>(s.c), static_cast<py::ssize_t>(s.h),
        static_cast<py::ssize_t>(s.w)};
    return py::array_t<float>(shape, owned->data(), owner);
}

/// An image as a uint8 `(H, W, C)` numpy array that owns its pixels (no copy).
py::array_t<std::uint8_t> to_numpy(lusnet::image img) {
    auto* pixels = new std::vector<std::uint8_t>(std::move(img.pixels));
    const py::capsule owner(pixels,
                            [](void* p) { delete static_cast<std::vector<std::uint8_t>*>(p); });
    const std::vector<py::ssize_t> shape{static_cast<py::ssize_t>(img.height),
                                         static_cast<py::ssize_t>(img.width),
                                         static_cast<py::ssize_t>(img.channels)};
    return py::array_t<std::uint8_t>(shape, pixels->data(), owner);
}

/// A uint8 `(H, W, C)` or `(H, W)` array as an image; invalid_argument for another dtype or
/// rank (the channel count is checked by the transforms).
lusnet::image to_image(const py::object& x, const std::string& operation) {
    const py::array array = py::array::ensure(x);
    if (!array || !py::isinstance<py::array_t<std::uint8_t>>(array)) {
        const std::string got = array ? "dtype " + py::str(array.dtype()).cast<std::string>()
                                      : "an object numpy cannot convert";
        throw lusnet::invalid_argument(operation, "image",
                                       "expected uint8 pixels (H, W, C) or (H, W), got " + got);
    }
    if (array.ndim() != 2 && array.ndim() != 3) {
        throw lusnet::invalid_argument(
            operation, "image",
            "expected pixels (H, W, C) or (H, W), got an array of shape " + shape_text(array));
    }

    const byte_array pixels = byte_array::ensure(array);
    lusnet::image img;
    img.height = static_cast<std::size_t>(pixels.shape(0));
    img.width = static_cast<std::size_t>(pixels.shape(1));
    img.channels = pixels.ndim() == 3 ? static_cast<std::size_t>(pixels.shape(2)) : 1;
    img.pixels.assign(pixels.data(), pixels.data() + pixels.size());
    return img;
}

lusnet::color_mode to_color_mode(const std::string& mode) {
    if (mode == "gray") {
        return lusnet::color_mode::gray;
    }
    if (mode == "rgb") {
        return lusnet::color_mode::rgb;
    }
    throw lusnet::invalid_argument("read image", "mode",
                                   "expected 'gray' or 'rgb', got '" + mode + "'");
}

py::dict preprocessing_dict(const lusnet::preprocessing& p) {
    return py::dict("mode"_a = p.mode == lusnet::color_mode::gray ? "gray" : "rgb",
                    "resize"_a = p.resize, "crop"_a = p.crop, "mean"_a = p.mean, "std"_a = p.std);
}

/// Raises lusnet's exceptions as the Python exceptions their kind calls for.
void raise_as_python(std::exception_ptr thrown) {
    try {
        if (thrown) {
            std::rethrow_exception(thrown);
        }
    } catch (const lusnet::key_error& e) {
        py::set_error(PyExc_KeyError, e.what());
    } catch (const lusnet::io_error& e) {
        // OSError(errno, text) is constructed as its subclass for errno: FileNotFoundError, ...
        const py::handle os_error(PyExc_OSError);
        const py::object error =
            e.error_number() != 0 ? os_error(e.error_number(), e.what()) : os_error(e.what());
        py::set_error(py::type::handle_of(error), error);
    } catch (const lusnet::shape_error& e) {
        py::set_error(PyExc_ValueError, e.what());
    } catch (const lusnet::format_error& e) {
        py::set_error(PyExc_ValueError, e.what());
    } catch (const lusnet::invalid_argument& e) {
        py::set_error(PyExc_ValueError, e.what());
    }
}

// ---------------------------------------------------------------------------------------------
// Functions behind the Python names

lusnet::model load_model(const std::string& arch, const std::optional<path>& weights,
                         std::optional<std::size_t> num_classes) {
    if (num_classes && *num_classes == 0) {
        throw lusnet::invalid_argument("load model", "num_classes",
                                       "expected None or at least 1, got 0");
    }
    const std::size_t classes = num_classes.value_or(0);
    return without_gil([&] {
        return weights ? lusnet::load_model(arch, weights->string(), classes)
                       : lusnet::create_model(arch, classes);
    });
}

py::array_t<float> forward(const lusnet::model& net, const py::object& x) {
    const float_array input = as_float_array(x);
    const lusnet::const_tensor_view view = input_view(input, net, "forward");
    return to_numpy(without_gil([&] { return net.forward(view); }));
}

py::array_t<float> predict(const lusnet::model& net, const py::object& x) {
    const float_array input = as_float_array(x);
    const lusnet::const_tensor_view view = input_view(input, net, "predict");
    return to_numpy(without_gil([&] { return net.predict(view); }));
}

py::array_t<float> model_preprocess(const lusnet::model& net, const py::object& image) {
    const lusnet::image img = to_image(image, "preprocess");
    return to_numpy(without_gil([&] { return lusnet::preprocess(img, net.preprocess()); }));
}

void save(const lusnet::model& net, const path& file,
          const std::optional<std::map<std::string, std::string>>& metadata) {
    const std::map<std::string, std::string> entries =
        metadata.value_or(std::map<std::string, std::string>{});
    without_gil([&] { lusnet::save_weights(net, file.string(), entries); });
}

py::array_t<std::uint8_t> read_image(const path& file, const std::string& mode) {
    const lusnet::color_mode color = to_color_mode(mode);
    return to_numpy(without_gil([&] { return lusnet::read_image(file.string(), color); }));
}

py::array_t<float> preprocess(const py::object& image, std::size_t size,
                              std::optional<std::vector<float>> mean,
                              std::optional<std::vector<float>> std,
                              std::optional<std::size_t> resize) {
    const lusnet::image img = to_image(image, "preprocess");
    lusnet::preprocessing p;
    p.mode = img.channels == 1 ? lusnet::color_mode::gray : lusnet::color_mode::rgb;
    p.crop = size;
    p.resize = resize.value_or(size);
    p.mean = mean.value_or(std::vector<float>{});
    p.std = std.value_or(std::vector<float>{});
    if (size == 0 || p.resize == 0) {
        throw lusnet::invalid_argument("preprocess", "size and resize",
                                       "expected sides of at least 1, got size " +
                                           std::to_string(size) + " and resize " +
                                           std::to_string(p.resize));
    }
    return to_numpy(without_gil([&] { return lusnet::preprocess(img, p); }));
}

/// The class targets of `grad_cam`: None (each image's predicted class), one int for every image,
/// or a sequence of ints, one per image.
std::vector<std::size_t> to_targets(const py::object& target) {
    std::vector<long long> given;
    if (target.is_none()) {
        return {};
    }
    if (py::isinstance<py::int_>(target)) {
        given.push_back(target.cast<long long>());
    } else {
        given = target.cast<std::vector<long long>>();
    }
    std::vector<std::size_t> targets;
    for (const long long t : given) {
        if (t < 0) {
            throw lusnet::invalid_argument("grad_cam", "target",
                                           "expected class indices >= 0, got " + std::to_string(t));
        }
        targets.push_back(static_cast<std::size_t>(t));
    }
    return targets;
}

py::object grad_cam(const lusnet::model& net, const py::object& x,
                    const std::optional<std::string>& layer, const py::object& target,
                    const std::string& method) {
    lusnet::cam_options options;
    options.method = lusnet::parse_cam_method(method);
    options.layer = layer.value_or(std::string{});
    options.targets = to_targets(target);
    const float_array input = as_float_array(x);
    const lusnet::const_tensor_view view = input_view(input, net, "grad_cam");

    lusnet::tensor maps =
        without_gil([&] { return lusnet::grad_cam(net, view, options).heatmaps; });
    const lusnet::shape4 s = maps.shape();
    // [N, 1, H, W] to [N, H, W]: a view of the same buffer.
    return to_numpy(std::move(maps)).attr("reshape")(s.n, s.h, s.w);
}

py::array_t<std::uint8_t> overlay(const py::object& image, const py::object& cam, float alpha) {
    const lusnet::image img = to_image(image, "overlay");
    const float_array map = as_float_array(cam);
    if (map.ndim() != 2) {
        throw lusnet::shape_error("overlay", "cam",
                                  "expected one heatmap [H, W], got an array of shape " +
                                      shape_text(map));
    }
    const lusnet::const_tensor_view view{
        map.data(), lusnet::shape4{1, 1, static_cast<std::size_t>(map.shape(0)),
                                   static_cast<std::size_t>(map.shape(1))}};
    lusnet::overlay_options options;
    options.alpha = alpha;
    return to_numpy(without_gil([&] { return lusnet::overlay(img, view, options); }));
}

py::array_t<std::uint8_t> model_view(const lusnet::model& net, const py::object& image) {
    const lusnet::image img = to_image(image, "model view");
    return to_numpy(without_gil([&] { return lusnet::model_view(img, net.preprocess()); }));
}

void write_png(const path& file, const py::object& image) {
    const lusnet::image img = to_image(image, "write png");
    without_gil([&] { lusnet::write_png(file.string(), img); });
}

std::vector<std::string> architecture_names() {
    std::vector<std::string> names;
    for (const auto& info : lusnet::architectures()) {
        names.push_back(info.name);
    }
    return names;
}

py::array_t<float> read_tensor(const lusnet::safetensors_file& file, const std::string& name) {
    const lusnet::tensor_info& info = file.info(name);
    std::vector<py::ssize_t> shape(info.shape.begin(), info.shape.end());
    py::array_t<float> out(shape);
    float* values = out.mutable_data();
    const std::size_t count = static_cast<std::size_t>(out.size());
    without_gil([&] { file.read_f32(name, values, count); });
    return out;
}

} // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "The compiled core of lusnet; use it through the `lusnet` package.";
    m.attr("__version__") = LUSNET_VERSION;
#if defined(_OPENMP)
    m.attr("_openmp") = true; // for tests: whether forwards may start OpenMP threads
#else
    m.attr("_openmp") = false;
#endif
    py::register_exception_translator(&raise_as_python);

    py::class_<lusnet::model>(m, "Model", R"doc(
A network of named layers: VGG-16, VGG-16-BN or LUS-Net. Create one with `lusnet.load_model`.

Every method is safe to call from several threads at once on one model, and releases the GIL
while it computes, so Python threads run in parallel.)doc")
        .def("forward", &forward, "x"_a, R"doc(
Logits of a batch.

x: float32 array [N, C, H, W], C = `in_channels`. A C-contiguous float32 array is read in place,
without a copy; any other dtype or layout is first converted to one.
Returns float32 [N, num_classes]. Raises ValueError when x is not 4-D or C is wrong, naming the
expected shape.)doc")
        .def("__call__", &forward, "x"_a, "Logits of a batch: the same as `forward(x)`.")
        .def("predict", &predict, "x"_a, R"doc(
Softmax probabilities of a batch.

x: float32 array [N, C, H, W], as for `forward`. Returns float32 [N, num_classes], each row
summing to 1.)doc")
        .def("preprocess", &model_preprocess, "image"_a, R"doc(
An image as this model's input, with the model's own preprocessing (see `preprocessing`).

image: uint8 array (H, W, C) or (H, W) as `lusnet.read_image` returns; converted to the model's
colour mode first (gray by ITU-R 601-2 luma, as torchvision). Returns float32 [1, C, crop, crop].)doc")
        .def("layer_names", &lusnet::model::layer_names,
             "Names of the layers in execution order, equal to PyTorch's state-dict prefixes.")
        .def("save", &save, "path"_a, "metadata"_a = py::none(), R"doc(
Writes every parameter as F32 safetensors under its state-dict key, with `metadata` (str to str)
plus `arch` and `num_classes`; `safetensors.torch.load_file` and `load_state_dict` read it.)doc")
        .def_property_readonly("arch", &lusnet::model::arch, "Architecture name, e.g. 'lusnet'.")
        .def_property_readonly("num_classes", &lusnet::model::num_classes,
                               "Number of output classes.")
        .def_property_readonly("in_channels", &lusnet::model::in_channels,
                               "Input channels C: 1 for LUS-Net (gray), 3 for VGG (RGB).")
        .def_property_readonly(
            "preprocessing",
            [](const lusnet::model& net) { return preprocessing_dict(net.preprocess()); },
            R"doc(
The model's preprocessing as a dict: `mode` ('gray' or 'rgb'), `resize` (shorter side after
resizing), `crop` (side of the centre crop), `mean` and `std` (one per channel).)doc")
        .def_property_readonly(
            "parameter_count", &lusnet::model::parameter_count,
            "Number of learnable values (batch-norm running statistics excluded).")
        .def("__repr__", [](const lusnet::model& net) {
            return "<lusnet.Model arch='" + net.arch() +
                   "' in_channels=" + std::to_string(net.in_channels()) +
                   " num_classes=" + std::to_string(net.num_classes()) + ">";
        });

    m.def("load_model", &load_model, "arch"_a, "weights"_a = py::none(),
          "num_classes"_a = py::none(), R"doc(
Creates a model of architecture `arch` ('vgg16', 'vgg16_bn' or 'lusnet'; see `architectures()`).

weights: a safetensors file holding a PyTorch state dict (by key, e.g. "features.0.weight"); when
None the model keeps its default initialisation (the untrained network).
num_classes: the class count; when None it is read from the head's weight in `weights`, or is the
architecture's default (1000 for VGG, 2 for LUS-Net) without weights.

Raises KeyError for an unknown architecture, FileNotFoundError or another OSError when the file
cannot be read, and ValueError when its tensors do not match the model (all mismatches listed).)doc");

    m.def("architectures", &architecture_names,
          "Names of the architectures `load_model` knows, e.g. ['vgg16', 'vgg16_bn', 'lusnet'].");

    m.def("read_image", &read_image, "path"_a, "mode"_a = "rgb", R"doc(
Reads and decodes an image file (PNG, JPEG, BMP, GIF, TGA, PSD, HDR, PIC, PNM).

mode: 'rgb' or 'gray' (gray from colour by ITU-R 601-2 luma, as torchvision).
Returns uint8 pixels (H, W, C): always three dimensions, C = 3 for 'rgb' and 1 for 'gray'.
Raises FileNotFoundError or another OSError when the file cannot be read, ValueError when it is
not an image or is larger than 16384 x 16384.)doc");

    m.def("preprocess", &preprocess, "image"_a, "size"_a, "mean"_a = py::none(),
          "std"_a = py::none(), py::kw_only(), "resize"_a = py::none(), R"doc(
torchvision's evaluation transforms on an image: Resize, CenterCrop, ToTensor, Normalize.

image: uint8 pixels (H, W, C) with C = 1 or 3, or (H, W) for gray; the output has the image's C.
The shorter side is resized to `resize` (default: `size`) by antialiased bilinear interpolation,
the longer to int(resize * long / short), then the central size x size square is cropped; values
become pixel / 255 and, when `mean` and `std` are given (one value per channel), (v - mean) / std.
Returns float32 [1, C, size, size].)doc");

    m.def("grad_cam", &grad_cam, "model"_a, "x"_a, "layer"_a = py::none(), "target"_a = py::none(),
          "method"_a = "gradcam", R"doc(
Class activation maps of a batch: where in each image the evidence for a class lies.

model: a `Model`. x: float32 array [N, C, H, W], converted as `Model.forward` does.
layer: the layer explained (see `Model.layer_names`); None takes the model's default, the last
convolutional block. target: the class explained, None for each image's predicted class, an int
for every image, or a sequence of ints, one per image; scores are the raw logits.
method: 'gradcam', 'gradcam++', 'hirescam', 'layercam' or 'eigencam'.
Returns float32 [N, H, W] at the input's size, each map min-max normalised to [0, 1] (a
constant map is all zeros). Raises KeyError listing the layer names for an unknown layer, and
ValueError for an unknown method, a target out of range or a target list of the wrong length.)doc");

    m.def("overlay", &overlay, "image"_a, "cam"_a, "alpha"_a = 0.4f, R"doc(
A heatmap in Turbo colours blended over an image: round((1 - alpha) * pixel + alpha * colour).

image: uint8 pixels (H, W, C) with C = 1 or 3, or (H, W), as `lusnet.read_image` returns.
cam: float [H', W'] with values in [0, 1] (others are clamped), e.g. one map of `grad_cam`. The
output always has the image's size: a map of another size is first resized bilinearly to
(H, W), so a map of the model's input (the resized, centre-cropped frame) is stretched over the
whole image. alpha: in [0, 1]; 0 returns the image itself as RGB.
Returns uint8 RGB (H, W, 3). Raises ValueError for a bad image, cam shape or alpha.)doc");

    m.def("model_view", &model_view, "model"_a, "image"_a, R"doc(
The part of an image the model sees: resized and centre cropped by the model's preprocessing,
before normalisation, as uint8 pixels (crop, crop, C) with the image's channels. The maps of
`grad_cam` on `model.preprocess(image)` line up with it pixel for pixel, so it is the image to
`overlay` them on.)doc");

    m.def("write_png", &write_png, "path"_a, "image"_a, R"doc(
Writes uint8 pixels (H, W, C), C = 1 or 3, or (H, W), as a PNG file. Raises OSError when
the file cannot be written, ValueError for another dtype or shape.)doc");

    m.def("set_num_threads", &lusnet::set_num_threads, "n"_a, R"doc(
Sets how many threads each forward may use (OpenMP), process-wide; n >= 1.)doc");
    m.def("get_num_threads", &lusnet::get_num_threads,
          "The number of threads each forward may use.");

    py::class_<lusnet::tensor_info>(m, "TensorInfo", "One tensor's entry in a safetensors header.")
        .def_readonly("name", &lusnet::tensor_info::name, "The tensor's key.")
        .def_property_readonly(
            "dtype", [](const lusnet::tensor_info& info) { return lusnet::dtype_name(info.type); },
            "The element type as the format names it, e.g. 'F32', 'BF16', 'I64'.")
        .def_property_readonly(
            "shape",
            [](const lusnet::tensor_info& info) { return py::tuple(py::cast(info.shape)); },
            "The shape, a tuple of ints; () for a scalar.")
        .def_readonly("begin", &lusnet::tensor_info::begin,
                      "First byte, relative to the data block.")
        .def_readonly("end", &lusnet::tensor_info::end,
                      "One past the last byte, relative to the data block.")
        .def("__repr__", [](const lusnet::tensor_info& info) {
            return "<lusnet.TensorInfo '" + info.name + "' " + lusnet::dtype_name(info.type) + " " +
                   lusnet::shape_str(info.shape) + ">";
        });

    py::class_<lusnet::safetensors_file>(m, "SafetensorsFile", R"doc(
A validated safetensors file, memory-mapped; open one with `lusnet.open_safetensors`.)doc")
        .def_property_readonly("path", &lusnet::safetensors_file::path,
                               "The path it was opened at.")
        .def_property_readonly("tensors", &lusnet::safetensors_file::tensors,
                               "Every tensor's TensorInfo, in the order of the data block.")
        .def_property_readonly("metadata", &lusnet::safetensors_file::metadata,
                               "The header's `__metadata__` strings, a dict (empty when absent).")
        .def("__contains__", &lusnet::safetensors_file::contains, "name"_a,
             "Whether the header names a tensor `name`.")
        .def("info", &lusnet::safetensors_file::info, "name"_a,
             "The TensorInfo of tensor `name`; KeyError when absent.")
        .def("read", &read_tensor, "name"_a, R"doc(
The values of tensor `name` as a float32 array of its shape; F32, F16, BF16 and F64 tensors only
(ValueError otherwise), KeyError when absent.)doc");

    m.def(
        "open_safetensors",
        [](const path& file) {
            return without_gil([&] { return lusnet::safetensors_file::open(file.string()); });
        },
        "path"_a, R"doc(
Opens and validates a safetensors file. Raises FileNotFoundError or another OSError when it
cannot be read, ValueError when its header is malformed.)doc");

    m.def(
        "_input_address",
        [](const py::object& x) {
            return reinterpret_cast<std::uintptr_t>(as_float_array(x).data());
        },
        "x"_a, "For tests: the address of the buffer `forward` would read for `x`.");
}
