// A downstream program: builds LUS-Net, decodes a frame (so stb links) and classifies it.
#include <lusnet/lusnet.hpp>

#include <cstdio>

int main() {
    const lusnet::model net = lusnet::create_model("lusnet");
    const lusnet::image frame = lusnet::read_image(LUSNET_TEST_IMAGE, lusnet::color_mode::gray);
    const lusnet::class_scores p = net.predict(lusnet::preprocess(frame, net.preprocess()));
    const double total = p(0, 0) + p(0, 1);
    std::printf("consumer: %zu classes, probabilities sum to %.6f\n", p.shape(1), total);
    return (p.shape(1) == 2 && total > 0.999 && total < 1.001) ? 0 : 1;
}
