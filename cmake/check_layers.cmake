cmake_minimum_required(VERSION 3.20)
# The layering rules (cmake/layers.cmake) applied to includes: which folders' headers the sources
# of a folder may include. Layers point one way (proto <- arch <- workloads <- mapping <- sim/*),
# and inside sim/ each library knows only the ones below it: sim/chip never sees reports, sweeps
# or the CLI; sim/report knows only the report protos; sim/sweep runs points as processes and
# never sees the SystemC chip.
#
# Run by the build (target check_layers) and by ctest (test layering):
#   cmake -DSOURCE_DIR=<repo> -P cmake/check_layers.cmake
# Fails naming the file, the line and the rule it breaks.
if(NOT SOURCE_DIR)
  get_filename_component(SOURCE_DIR ${CMAKE_CURRENT_LIST_DIR}/.. ABSOLUTE)
endif()

include(${CMAKE_CURRENT_LIST_DIR}/layers.cmake)

set(violations "")
foreach(rule ${AIMC_LAYERS})
  aimc_layer_rule("${rule}" folder allowed)
  file(GLOB sources ${SOURCE_DIR}/${folder}/*.h ${SOURCE_DIR}/${folder}/*.cc)
  foreach(src ${sources})
    file(STRINGS ${src} includes REGEX "^#include \"")
    foreach(line ${includes})
      string(REGEX REPLACE "^#include \"([^\"]*)\".*" "\\1" header "${line}")
      # Only project headers are ruled; a header is in the folder its path names, the deepest
      # known one (sim/chip/x.h is in sim/chip).
      string(REGEX MATCH "^[a-z_]+" root "${header}")
      list(FIND AIMC_LAYER_ROOTS "${root}" known)
      if(known EQUAL -1)
        continue()
      endif()
      get_filename_component(header_dir ${header} DIRECTORY)
      list(FIND allowed "${header_dir}" ok)
      if(ok EQUAL -1)
        file(RELATIVE_PATH rel ${SOURCE_DIR} ${src})
        string(REPLACE ";" ", " allowed_text "${allowed}")
        string(APPEND violations "  ${rel}: includes ${header}, but ${folder}/ may include only "
                                 "${allowed_text}\n")
      endif()
    endforeach()
  endforeach()
endforeach()

# Every folder with sources must have a rule.
file(GLOB_RECURSE all_sources RELATIVE ${SOURCE_DIR} ${SOURCE_DIR}/proto/*.cc
     ${SOURCE_DIR}/arch/*.cc ${SOURCE_DIR}/workloads/*.cc ${SOURCE_DIR}/mapping/*.cc
     ${SOURCE_DIR}/sim/*.cc ${SOURCE_DIR}/sim/*.h)
set(ruled "")
foreach(rule ${AIMC_LAYERS})
  string(REGEX REPLACE "\\|.*" "" folder "${rule}")
  list(APPEND ruled ${folder})
endforeach()
foreach(src ${all_sources})
  get_filename_component(dir ${src} DIRECTORY)
  list(FIND ruled "${dir}" ok)
  if(ok EQUAL -1)
    string(APPEND violations "  ${src}: folder ${dir}/ has no layering rule in "
                             "cmake/check_layers.cmake\n")
  endif()
endforeach()

if(violations)
  message(FATAL_ERROR "layering broken:\n${violations}")
endif()
