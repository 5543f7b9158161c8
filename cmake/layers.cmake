# The layering rules, shared by cmake/check_layers.cmake (what each folder's sources include) and
# cmake/check_links.cmake (what each folder's libraries link). Layers point one way (proto <- arch
# <- workloads <- mapping <- sim/*), and inside sim/ each library knows only the ones below it.
# folder | folders it may include (besides itself)
set(AIMC_LAYERS
    "proto|"
    "arch|proto"
    "workloads|proto arch"
    "mapping|proto arch workloads"
    "sim/common|"
    "sim/chip|proto arch workloads mapping"
    "sim/report|proto"
    "sim/sweep|proto workloads mapping sim/common sim/report"
    "sim/serving|proto arch workloads mapping sim/chip"
    "sim/app|proto arch workloads mapping sim/common sim/chip sim/report sim/sweep sim/serving")
set(AIMC_LAYER_ROOTS proto arch workloads mapping sim)

