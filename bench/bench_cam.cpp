// Grad-CAM at each model's default CAM layer (VGG-16's last convolution's ReLU, LUS-Net's
// block4b), on the same random models and inputs as BM_<model>_forward in bench_models.cpp, so
// the two rows of one run give the cost of an explanation relative to a forward pass.
#include "bench_common.hpp"

#include <benchmark/benchmark.h>

#include <string>

namespace {

void run_cam(benchmark::State& state, const std::string& arch, lusnet::cam_method method) {
    const lusnet::model net = lusnet_bench::random_model(arch);
    const auto batch = static_cast<std::size_t>(state.range(0));
    const lusnet::tensor x = lusnet_bench::random_batch(net, batch, 2);
    lusnet::cam_options options;
    options.method = method;

    for (auto _ : state) {
        benchmark::DoNotOptimize(lusnet::grad_cam(net, x, options));
    }
    state.counters["images/s"] = benchmark::Counter(static_cast<double>(batch),
                                                    benchmark::Counter::kIsIterationInvariantRate);
    state.counters["threads"] = lusnet::get_num_threads();
}

void BM_gradcam_vgg16(benchmark::State& state) {
    run_cam(state, "vgg16", lusnet::cam_method::grad_cam);
}
void BM_gradcam_lusnet(benchmark::State& state) {
    run_cam(state, "lusnet", lusnet::cam_method::grad_cam);
}

BENCHMARK(BM_gradcam_vgg16)->Arg(1)->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_gradcam_lusnet)->Arg(1)->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace
