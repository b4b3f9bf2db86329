# Finds lusnet's dependencies (all Debian packages) and links them to a target.
# Used by the source tree and by the installed package config alike.
include(CMakeFindDependencyMacro)

find_dependency(Eigen3 3.3 NO_MODULE)
find_dependency(xtl)
find_dependency(xsimd)
find_dependency(xtensor)
find_dependency(nlohmann_json 3)

# Debian's libstb-dev ships the headers under stb/ and the compiled implementation as libstb,
# so lusnet (header-only) never defines STB_IMAGE_IMPLEMENTATION itself.
if(NOT TARGET lusnet::stb)
    find_path(LUSNET_STB_INCLUDE_DIR stb_image.h PATH_SUFFIXES stb)
    find_library(LUSNET_STB_LIBRARY stb)
    if(NOT LUSNET_STB_INCLUDE_DIR OR NOT LUSNET_STB_LIBRARY)
        message(FATAL_ERROR "lusnet needs stb (Debian: libstb-dev): stb_image.h or libstb not found")
    endif()
    add_library(lusnet::stb UNKNOWN IMPORTED)
    set_target_properties(lusnet::stb PROPERTIES IMPORTED_LOCATION "${LUSNET_STB_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${LUSNET_STB_INCLUDE_DIR}")
endif()

if(NOT DEFINED LUSNET_OPENMP)
    set(LUSNET_OPENMP ON)
endif()
if(LUSNET_OPENMP)
    find_package(OpenMP QUIET COMPONENTS CXX)
endif()

function(lusnet_link_dependencies target)
    target_link_libraries(${target} INTERFACE Eigen3::Eigen xtensor nlohmann_json::nlohmann_json
        lusnet::stb)
    if(LUSNET_OPENMP AND OpenMP_CXX_FOUND)
        target_link_libraries(${target} INTERFACE OpenMP::OpenMP_CXX)
    endif()
endfunction()
