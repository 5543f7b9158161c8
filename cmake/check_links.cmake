# The layering rules (cmake/layers.cmake) applied to what the libraries link, at configure time:
# the library of a folder (aimc::sim_chip for sim/chip, aimc::arch and aimc::arch_sc for arch)
# links only the libraries of the folders it may include, so none links a sibling it must not
# know. Included by the top CMakeLists.txt once every library is defined; fails naming the
# library and what it links.
include(${CMAKE_CURRENT_LIST_DIR}/layers.cmake)

set(aimc_link_violations "")
foreach(rule ${AIMC_LAYERS})
  aimc_layer_rule("${rule}" folder allowed)
  string(REPLACE "/" "_" lib "${folder}")
  foreach(target aimc_${lib} aimc_${lib}_sc)
    if(NOT TARGET ${target})
      continue()
    endif()
    get_target_property(links ${target} LINK_LIBRARIES)
    if(NOT links)
      continue()
    endif()
    foreach(link ${links})
      if(NOT link MATCHES "^aimc::(.+)$")
        continue()
      endif()
      # aimc::sim_chip -> sim/chip; aimc::arch_sc -> arch.
      string(REGEX REPLACE "_sc$" "" linked "${CMAKE_MATCH_1}")
      string(REGEX REPLACE "^sim_" "sim/" linked "${linked}")
      if(NOT linked IN_LIST allowed)
        string(REPLACE ";" ", " allowed_text "${allowed}")
        string(APPEND aimc_link_violations
               "  ${target} (${folder}/) links ${link}, but ${folder}/ may use only "
               "${allowed_text}\n")
      endif()
    endforeach()
  endforeach()
endforeach()
if(aimc_link_violations)
  message(FATAL_ERROR "Layering broken by what libraries link (cmake/layers.cmake):\n"
                      "${aimc_link_violations}")
endif()
