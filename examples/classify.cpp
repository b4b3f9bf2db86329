// Classify ultrasound frames with a lusnet model and print each class probability.
//
//   classify ARCH WEIGHTS.safetensors IMAGE...
//
// ARCH is a registered architecture (vgg16, vgg16_bn, lusnet); the class count comes from the
// weights. A frame that cannot be read is reported and skipped; the exit code is then 1.
#include <lusnet/lusnet.hpp>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s ARCH WEIGHTS.safetensors IMAGE...\n", argv[0]);
        return 2;
    }
    try {
        const lusnet::model net = lusnet::load_model(argv[1], argv[2]);
        int failures = 0;
        for (int i = 3; i < argc; ++i) {
            try {
                const lusnet::image frame = lusnet::read_image(argv[i], net.preprocess().mode);
                const lusnet::tensor x = lusnet::preprocess(frame, net.preprocess());
                const lusnet::class_scores p = net.predict(x);
                std::printf("%s", argv[i]);
                for (std::size_t c = 0; c < p.shape(1); ++c) {
                    std::printf(" class%zu=%.4f", c, p(0, c));
                }
                std::printf("\n");
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
