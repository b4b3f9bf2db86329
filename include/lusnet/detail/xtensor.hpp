#pragma once

/// @file xtensor.hpp
/// The xtensor headers lusnet uses, wherever the installed release keeps them: up to 0.25
/// (Debian 12 and 13) they sit at the top of `xtensor/`, from 0.26 in sub-folders.

#if __has_include(<xtensor/containers/xtensor.hpp>)
#include <xtensor/containers/xadapt.hpp>
#include <xtensor/containers/xstorage.hpp>
#include <xtensor/containers/xtensor.hpp>
#include <xtensor/core/xmath.hpp>
#include <xtensor/generators/xbuilder.hpp>
#include <xtensor/views/xview.hpp>
#else
#include <xtensor/xadapt.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xstorage.hpp>
#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>
#endif
