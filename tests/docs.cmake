# The Markdown files' links: every relative link and #anchor resolves, none leaves the
# repository (tests/test_readme_links.py; Debian's /usr/bin/python3, standard library only).
if(EXISTS /usr/bin/python3)
  add_test(NAME test_readme_links
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_readme_links.py ${CMAKE_SOURCE_DIR})
  set_tests_properties(test_readme_links PROPERTIES TIMEOUT 60 LABELS "docs")
endif()
