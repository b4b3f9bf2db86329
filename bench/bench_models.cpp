// Whole-model forward passes on random weights and inputs. The thread count comes from
// LUSNET_NUM_THREADS (default 1) so bench/compare.py can pair each run with PyTorch's.
#include "bench_common.hpp"

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

namespace {

void run_model(benchmark::State& state, const std::string& arch) {
    const lusnet::model net = lusnet_bench::random_model(arch);
    const auto batch = static_cast<std::size_t>(state.range(0));
    const lusnet::tensor x = lusnet_bench::random_batch(net, batch, 2);

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
