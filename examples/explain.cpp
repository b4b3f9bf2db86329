// Explain ultrasound frames with the Grad-CAM family and write one overlay PNG per frame.
//
//   explain ARCH WEIGHTS.safetensors OUT_DIR IMAGE... [--method M] [--layer L] [--alpha A]
//
// ARCH is a registered architecture (vgg16, vgg16_bn, lusnet); M one of gradcam, gradcam++,
// hirescam, layercam, eigencam (default gradcam); L a node name (default: the model's last
// convolutional stage). Each frame's heatmap explains its predicted class and is drawn over the
// part of the frame the model sees, as OUT_DIR/<frame name>.<method>.png. A frame that cannot
// be read is reported and skipped; the exit code is then 1.
#include <lusnet/lusnet.hpp>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

namespace {

struct arguments {
    std::string arch, weights, out_dir;
    std::vector<std::string> images;
    lusnet::cam_options cam;
    lusnet::overlay_options overlay;
};

/// Splits options from positional arguments; false when the command line is malformed.
bool parse(int argc, char** argv, arguments& args) {
    std::vector<std::string> positional;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--method" && has_value) {
            args.cam.method = lusnet::parse_cam_method(argv[++i]);
        } else if (arg == "--layer" && has_value) {
            args.cam.layer = argv[++i];
        } else if (arg == "--alpha" && has_value) {
            args.overlay.alpha = std::stof(argv[++i]);
        } else if (arg.rfind("--", 0) == 0) {
            return false;
        } else {
            positional.push_back(arg);
        }
    }
    if (positional.size() < 4) {
        return false;
    }
    args.arch = positional[0];
    args.weights = positional[1];
    args.out_dir = positional[2];
    args.images.assign(positional.begin() + 3, positional.end());
    return true;
}

/// Explains one frame and writes its overlay; returns the path written.
std::string explain_frame(const lusnet::model& net, const arguments& args,
                          const std::string& path) {
    const lusnet::preprocessing& p = net.preprocess();
    const lusnet::image frame = lusnet::read_image(path, p.mode);
    const lusnet::tensor x = lusnet::preprocess(frame, p);
    const lusnet::cam_result cam = lusnet::grad_cam(net, x, args.cam);

    const lusnet::image view = lusnet::model_view(frame, p);
    const lusnet::image blended = lusnet::overlay(view, cam.heatmaps, args.overlay);
    const std::string name = std::filesystem::path(path).stem().string() + "." +
                             lusnet::cam_method_name(args.cam.method) + ".png";
    const std::string out = (std::filesystem::path(args.out_dir) / name).string();
    lusnet::write_png(out, blended);
    std::printf("%s class=%zu logit=%.4f -> %s\n", path.c_str(), cam.targets[0],
                cam.logits(0, cam.targets[0]), out.c_str());
    return out;
}

} // namespace

int main(int argc, char** argv) {
    arguments args;
    try {
        if (!parse(argc, argv, args)) {
            std::fprintf(stderr,
                         "usage: %s ARCH WEIGHTS.safetensors OUT_DIR IMAGE... [--method M] "
                         "[--layer L] [--alpha A]\n",
                         argv[0]);
            return 2;
        }
        const lusnet::model net = lusnet::load_model(args.arch, args.weights);
        std::filesystem::create_directories(args.out_dir);
        int failures = 0;
        for (const auto& path : args.images) {
            try {
                explain_frame(net, args, path);
            } catch (const lusnet::error& e) {
                std::fprintf(stderr, "skipped: %s\n", e.what());
                ++failures;
            }
        }
        return failures ? 1 : 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}
