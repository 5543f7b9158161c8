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


# Splits one rule of AIMC_LAYERS: the folder into `folder_var`, the folders it may include or
# link (itself first) into `allowed_var`.
function(aimc_layer_rule rule folder_var allowed_var)
  string(REPLACE "|" ";" parts "${rule}")
  list(GET parts 0 folder)
  list(LENGTH parts n)
  set(allowed ${folder})
  if(n GREATER 1)
    list(GET parts 1 more)
    string(REPLACE " " ";" more "${more}")
    list(APPEND allowed ${more})
  endif()
  set(${folder_var} ${folder} PARENT_SCOPE)
  set(${allowed_var} ${allowed} PARENT_SCOPE)
endfunction()
