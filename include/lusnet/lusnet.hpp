#pragma once

/// @file lusnet.hpp
/// Umbrella header: everything lusnet offers.

#include "lusnet/error.hpp"
#include "lusnet/tensor.hpp"
#include "lusnet/threads.hpp"

#include "lusnet/layers/adaptive_avg_pool2d.hpp"
#include "lusnet/layers/add.hpp"
#include "lusnet/layers/avg_pool2d.hpp"
#include "lusnet/layers/batch_norm2d.hpp"
#include "lusnet/layers/concat.hpp"
#include "lusnet/layers/conv2d.hpp"
#include "lusnet/layers/dropout.hpp"
#include "lusnet/layers/flatten.hpp"
#include "lusnet/layers/layer.hpp"
#include "lusnet/layers/linear.hpp"
#include "lusnet/layers/max_pool2d.hpp"
#include "lusnet/layers/relu.hpp"
#include "lusnet/layers/sigmoid.hpp"
#include "lusnet/layers/softmax.hpp"

#include "lusnet/io/image.hpp"
#include "lusnet/io/safetensors.hpp"
#include "lusnet/io/transforms.hpp"
#include "lusnet/io/weights.hpp"

#include "lusnet/models/lus_net.hpp"
#include "lusnet/models/model.hpp"
#include "lusnet/models/registry.hpp"
#include "lusnet/models/vgg.hpp"

#include "lusnet/explain/cam.hpp"
#include "lusnet/explain/cam_weights.hpp"
#include "lusnet/explain/colormap.hpp"
#include "lusnet/explain/eigen_cam.hpp"
#include "lusnet/explain/grad_cam.hpp"
#include "lusnet/explain/grad_cam_plus_plus.hpp"
#include "lusnet/explain/hires_cam.hpp"
#include "lusnet/explain/layer_cam.hpp"
#include "lusnet/explain/overlay.hpp"

#include "lusnet/train/augment.hpp"
#include "lusnet/train/checkpoint.hpp"
#include "lusnet/train/dataset.hpp"
#include "lusnet/train/loss.hpp"
#include "lusnet/train/manifest.hpp"
#include "lusnet/train/optimizer.hpp"
#include "lusnet/train/random.hpp"
#include "lusnet/train/schedule.hpp"
#include "lusnet/train/split.hpp"

#include "lusnet/clinical/pleura.hpp"
#include "lusnet/clinical/sector.hpp"
#include "lusnet/clinical/ultrasound.hpp"
