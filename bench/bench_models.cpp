// Whole-model forward passes on random weights and inputs. The thread count comes from
// LUSNET_NUM_THREADS (default 1) so bench/compare.py can pair each run with PyTorch's.
#include <lusnet/lusnet.hpp>

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <random>
#include <string>

namespace {

void randomise(lusnet::model& net, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, 0.02f);
    for (auto& [key, p] : net.named_parameters()) {
        const bool variance = p->name == "running_var";
        for (auto& v : p->values) {
            v = variance ? 1.0f : dist(rng);
        }
    }
}

void run_model(benchmark::State& state, const std::string& arch) {
    lusnet::model net = lusnet::create_model(arch);
    randomise(net, 1);
    const auto batch = static_cast<std::size_t>(state.range(0));
    const std::size_t side = net.preprocess().crop;
    lusnet::tensor x({batch, net.in_channels(), side, side});
    std::mt19937 rng(2);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (std::size_t i = 0; i < x.size(); ++i) {
        x.data()[i] = dist(rng);
    }

    for (auto _ : state) {
        benchmark::DoNotOptimize(net.forward(x));
    }
    state.counters["images/s"] = benchmark::Counter(static_cast<double>(batch),
                                                    benchmark::Counter::kIsIterationInvariantRate);
    state.counters["threads"] = lusnet::get_num_threads();
}

void BM_vgg16_forward(benchmark::State& state) {
    run_model(state, "vgg16");
}
void BM_lusnet_forward(benchmark::State& state) {
    run_model(state, "lusnet");
}

BENCHMARK(BM_vgg16_forward)->Arg(1)->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_lusnet_forward)->Arg(1)->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace

int main(int argc, char** argv) {
    const char* threads = std::getenv("LUSNET_NUM_THREADS");
    lusnet::set_num_threads(threads ? std::atoi(threads) : 1);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
